"""The command-line option shared by `extract`, `label` and `watch` (`features/shared_prefix.py`)."""

import typer

SHARED_PREFIX = typer.Option(True, "--shared-prefix/--no-shared-prefix", help="Run the blocks a checkpoint shares "
                             "with an earlier one (identical weights, e.g. frozen by top-K fine-tuning) only once; "
                             "the results are the same (memory: up to 4 GiB of kept states).")
