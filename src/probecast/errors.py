"""One exception type for bad user input.

The CLI turns a `ProbecastError` into a one-line message and exit code 2, so every check at the boundary
(file, field, what to do) reaches the user without a traceback. Internal bugs stay ordinary exceptions.
"""

from __future__ import annotations


class ProbecastError(Exception):
    """Bad input or state the user can fix; the message names the file/field and what to do."""
