"""One protocol for every forecaster, and a registry of them by name.

A forecaster is a dataclass whose fields are its configuration (`get_params()` returns them, as in
scikit-learn); `fit(table)` reads a long table (`probecast.forecast.table`) and stores fitted state in
attributes ending in `_`; `predict(query)` returns a `Forecast` (point, interval, extras).
`Query` says what to forecast: a target model (params, tokens, flops) for cross-run laws, or a checkpoint
(tokens/step/flops/loss values) of the fitted run for trajectory extrapolation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from probecast.errors import ProbecastError


@dataclass
class Query:
    params: float | None = None
    tokens: float | None = None
    flops: float | None = None
    step: int | None = None
    run: str | None = None
    values: dict[str, float] | None = None  # measured metrics of the queried checkpoint (e.g. its loss)

    @property
    def compute(self) -> float:
        """The given FLOPs, else 6 N D (the usual count of training compute)."""
        if self.flops is not None:
            return float(self.flops)
        if self.params is None or self.tokens is None:
            raise ProbecastError("target: give --target-flops, or --target-params and --target-tokens")
        compute = 6.0 * float(self.params) * float(self.tokens)
        if compute == float("inf"):
            raise ProbecastError("--target-params x --target-tokens: 6·N·D is not a finite number; give realistic "
                                 "values or --target-flops")
        return compute

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        if self.flops is None and self.params is not None and self.tokens is not None:
            out["flops"] = self.compute
        return out


@dataclass
class Forecast:
    predicted: float
    interval: tuple[float, float]
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"predicted": float(self.predicted), "interval": [float(self.interval[0]), float(self.interval[1])],
                **self.extras}


class Forecaster:
    """Base class: subclasses are dataclasses, set `name`, and implement `fit` and `predict`."""

    name: ClassVar[str] = ""

    def fit(self, table: pd.DataFrame) -> "Forecaster":
        raise NotImplementedError

    def predict(self, query: Query) -> Forecast:
        raise NotImplementedError

    def get_params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def fitted_params(self) -> dict[str, Any]:
        """The fitted law parameters (by stage), for reports and JSON output."""
        return {}

    def check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise ProbecastError(f"{self.name}: call fit(table) before predict")


FORECASTERS: dict[str, type[Forecaster]] = {}


def register_forecaster(cls: type[Forecaster]) -> type[Forecaster]:
    """Class decorator: make a forecaster available by its `name` (CLI, compare, reports)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a class attribute `name`")
    FORECASTERS[cls.name] = cls
    return cls


def get_forecaster(name: str, **config: Any) -> Forecaster:
    _load_builtin()
    if name not in FORECASTERS:
        raise ProbecastError(f"forecaster {name!r} unknown; available: {', '.join(sorted(FORECASTERS))}")
    return FORECASTERS[name](**config)


def available() -> list[str]:
    _load_builtin()
    return sorted(FORECASTERS)


def _load_builtin() -> None:
    import importlib

    for module in ("flp", "flpm", "ladder", "trajectory", "auto", "cod"):
        try:
            importlib.import_module(f"probecast.forecast.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"probecast.forecast.{module}":
                raise
