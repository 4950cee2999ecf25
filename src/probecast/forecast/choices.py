"""The fixed names the forecasters take: trajectory forms, the auto ensemble's candidate methods, COD's methods.

Free of numpy and scipy, so the CLI lists them in `--help` and checks them while parsing without importing the
fitting code (`trajectory.py`, `auto.py` read them from here).
"""

from __future__ import annotations

from typing import Any

FORMS = ("power", "sigmoid", "pooled", "loglinear", "last")  # the score against tokens, flops or step
LOSS_FORMS = ("sigmoid", "linear", "last")  # the score against a loss metric

# auto's candidates: label -> (registered forecaster, its configuration); the ones it weighs by default
CANDIDATES: dict[str, tuple[str, dict[str, Any]]] = {
    "ladder": ("ladder", {}),
    "flp": ("flp", {}),
    "flp-sigmoid": ("flp", {"stage2": "sigmoid"}),
    "flpm": ("flpm", {}),
}
AUTO_METHODS = ("ladder", "flp", "flp-sigmoid")
COD_METHODS = ("cod", "cod-no-mapping", "end-to-end")  # `forecast cod --method`, and what `cod-compare` compares
