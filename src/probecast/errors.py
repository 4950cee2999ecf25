"""One exception type for bad user input.

The CLI turns a `ProbecastError` into a one-line message and exit code 2, so every check at the boundary
(file, field, what to do) reaches the user without a traceback. Internal bugs stay ordinary exceptions.
"""

from __future__ import annotations


class ProbecastError(Exception):
    """Bad input or state the user can fix; the message names the file/field and what to do."""


def run_script(main) -> None:
    """Run a script's `main()` as the CLI runs a command: a `ProbecastError` becomes one line on stderr and exit 2."""
    import sys

    try:
        main()
    except ProbecastError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
