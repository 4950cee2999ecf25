"""One estimator protocol for every probe and baseline, a registry by name, and save/load.

A probe maps a `FeatureSet` to P(success) per row. Every probe and every baseline implements

    fit(X: FeatureSet, y_soft: np.ndarray) -> self      # y_soft = pass@1 = c/n in [0, 1]
    predict_proba(X: FeatureSet) -> np.ndarray [n]       # P(success)
    get_params() -> dict                                 # its config, JSON-able
    save(dir) / Probe.load(dir)                          # config.json + weights.safetensors

so the evaluation treats them alike. A probe directory holds `config.json` ({"probe", "config", "state"}:
name in the registry, the config dataclass, small JSON state such as the selected layer, and `reads`: the
layers and inputs predicting reads, `features.plan.FeatureReads`, so prediction extracts only those) and
`weights.safetensors` (numpy arrays: scalers, weights). Weights are written first, config last, so a
directory with a config.json is complete.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from probecast.errors import ProbecastError
from probecast.features.featureset import FeatureSet
from probecast.features.plan import FeatureReads
from probecast.io import atomic_path, write_json_atomic
from probecast.probes.inputs import expect_shape

REGISTRY: dict[str, type["Probe"]] = {}


def register(name: str):
    """Class decorator: make a probe constructible by name (`make_probe`) and loadable (`load_probe`)."""

    def wrap(cls: type[Probe]) -> type[Probe]:
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return wrap


@dataclass
class ProbeConfig:
    seed: int = 0


class Probe:
    """Base class: config handling, input checks, save/load. Subclasses implement `_fit`, `_predict` and
    `_get_state`/`_set_state` (arrays + JSON extras)."""

    name: ClassVar[str] = "probe"
    Config: ClassVar[type] = ProbeConfig
    uses_hidden: ClassVar[bool] = True  # check [layers, dim] of hidden states at predict time
    input_kinds: ClassVar[tuple[str, ...]] = ("hidden",)  # what it reads (see `inputs`)

    def __init__(self, config: Any = None, **params: Any) -> None:
        if config is None:
            known = {f.name for f in fields(self.Config)}
            unknown = set(params) - known
            if unknown:
                raise ProbecastError(f"--param: probe {self.name!r}: unknown parameter(s) {sorted(unknown)}; "
                                     f"known: {sorted(known)}")
            check_param_types(self.name, self.Config, params)
            config = self.Config(**params)
        self.config = config
        self.fitted_ = False

    # ---- protocol ------------------------------------------------------------------------------------------
    def fit(self, X: FeatureSet, y_soft: np.ndarray) -> "Probe":
        y = check_targets(X, y_soft, self.name)
        if X.layer_ids is not None:
            raise ProbecastError(f"probe {self.name!r}: fit on features with every extracted layer, not on a "
                                 f"probe's subset (layers {list(X.layer_ids)})")
        self.hidden_shape_ = list(np.shape(X.hidden_last)[1:]) if self.uses_hidden else None
        self.step_scale_ = float(np.max(X.step))
        self._fit(X, y)
        self.fitted_ = True
        self.reads_ = self.reads()
        return self

    def predict_proba(self, X: FeatureSet) -> np.ndarray:
        if not self.fitted_:
            raise ProbecastError(f"probe {self.name!r} is not fitted: call fit() or load a fitted probe")
        if len(X) == 0:
            return np.zeros(0, dtype=np.float64)
        if self.hidden_shape_ is not None and X.layer_ids is None:
            expect_shape(np.shape(X.hidden_last)[1:], self.hidden_shape_, "hidden_last [layers, dim]")
        elif self.hidden_shape_ is not None:  # only the layers the probe reads were extracted
            expect_shape(np.shape(X.hidden_last)[2:], self.hidden_shape_[1:], "hidden_last [dim]")
        p = np.asarray(self._predict(X), dtype=np.float64).reshape(-1)
        return np.clip(p, 0.0, 1.0)

    def get_params(self) -> dict:
        return asdict(self.config)

    def reads(self) -> FeatureReads:
        """What predicting reads from the features (fitted state): the extraction at prediction time (monitor,
        latency) produces exactly that. Default: every layer with the configured pooling."""
        return FeatureReads(layers=None, pooling=getattr(self.config, "pooling", "last"),
                            alternatives=self.needs_alternatives)

    def inputs(self) -> list[str]:
        """What the probe reads: `hidden` (hidden states), `answer_loglik`, `text` (the question),
        `history` (earlier labels of the question), `training_loss`, and `step` when it is given training
        progress. A pure hidden-state probe reads `hidden` (and `step`) only."""
        progress = ["step"] if getattr(self.config, "include_progress", False) else []
        return list(self.input_kinds) + progress

    @property
    def needs_alternatives(self) -> bool:
        """Whether predicting needs every listed answer path scored (`ExtractConfig.alternatives`), not only
        the reference: the extraction at prediction time (monitor, latency) follows it."""
        return False

    # ---- subclass hooks ------------------------------------------------------------------------------------
    def _fit(self, X: FeatureSet, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, X: FeatureSet) -> np.ndarray:
        raise NotImplementedError

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict]:
        raise NotImplementedError

    def _set_state(self, arrays: dict[str, np.ndarray], extra: dict) -> None:
        raise NotImplementedError

    # ---- persistence ---------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        from safetensors.numpy import save_file

        if not self.fitted_:
            raise ProbecastError(f"probe {self.name!r} is not fitted; fit it before saving")
        directory = Path(directory)
        arrays, extra = self._get_state()
        tensors = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        with atomic_path(directory / "weights.safetensors") as tmp:
            save_file(tensors, str(tmp))
        write_json_atomic(directory / "config.json",
                          {"probe": self.name, "config": self.get_params(), "state": extra,
                           "hidden_shape": self.hidden_shape_, "step_scale": self.step_scale_,
                           "reads": self.reads_.to_dict()})
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "Probe":
        return load_probe(directory)


def check_param_types(name: str, config_cls: type, params: dict) -> None:
    """A parameter whose value has the wrong type (`layer="abc"`, `l2_grid=5`) is bad input: refused here, with
    the type the field wants, instead of a TypeError deep inside the fit."""
    import typing

    hints = typing.get_type_hints(config_cls)
    for key, value in params.items():
        hint = hints.get(key)
        if hint is not None and not _matches(value, hint):
            want = str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")
            raise ProbecastError(f"--param {key}={json.dumps(value, default=str)} (probe {name!r}): should be "
                                 f"{want}; VALUE is read as JSON, e.g. 3, 0.5, true, [1, 10], \"text\"")


def _matches(value: Any, hint: Any) -> bool:
    import numbers
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, h) for h in args)
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, (bool, np.bool_))
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if hint is str:
        return isinstance(value, str)
    if hint in (list, tuple) or origin in (list, tuple):
        inner = [a for a in args if a is not Ellipsis]
        return isinstance(value, (list, tuple, np.ndarray)) and (len(inner) != 1 or all(_matches(v, inner[0])
                                                                                          for v in value))
    return True  # dicts, arrays, anything else: the probe checks it


def make_probe(name: str, **params: Any) -> Probe:
    if name not in REGISTRY:
        raise ProbecastError(f"unknown probe {name!r}; available: {sorted(REGISTRY)}")
    return REGISTRY[name](**params)


def parse_probe_spec(spec: str) -> tuple[str, dict]:
    """"ridge:task_intercepts=true:cv=question" → ("ridge", {"task_intercepts": True, "cv": "question"}): a probe
    name with parameters, as the benchmarks take them (values read as JSON, else as text)."""
    import json

    name, *pairs = spec.split(":")
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ProbecastError(f"probe spec {spec!r}: {pair!r} is not key=value (e.g. ridge:task_intercepts=true)")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return name, params


def split_probe_specs(text: str) -> list[str]:
    """"linear,ridge:l2_grid=[1,10]" → ["linear", "ridge:l2_grid=[1,10]"]: commas inside brackets stay."""
    specs, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch in "[{") - (ch in "]}")
        if ch == "," and depth == 0:
            specs.append(text[start:i])
            start = i + 1
    specs.append(text[start:])
    return [s.strip() for s in specs if s.strip()]


def load_probe(directory: str | Path) -> Probe:
    from probecast.stored import damaged, load_safetensors, read_json

    directory = Path(directory)
    cfg_path = directory / "config.json"
    if not cfg_path.exists():
        raise ProbecastError(f"{cfg_path}: no fitted probe here; run `probecast fit` or `probecast evaluate` first")
    meta = read_json(cfg_path, dict)
    name = meta.get("probe")
    if name not in REGISTRY:
        raise ProbecastError(f"{cfg_path}: probe {name!r} is not registered (available: {sorted(REGISTRY)}); "
                             f"delete that probe folder and fit it again (`probecast fit`)")
    cls = REGISTRY[name]
    try:
        config = cls.Config(**meta["config"])
    except (KeyError, TypeError) as exc:
        raise damaged(cfg_path, "probe config", f"no valid 'config' for {name} ({exc})") from None
    probe = cls(config)
    probe._set_state(load_safetensors(directory / "weights.safetensors"), meta.get("state", {}))
    probe.hidden_shape_ = meta.get("hidden_shape")
    probe.step_scale_ = float(meta.get("step_scale", 1.0))
    probe.fitted_ = True
    probe.reads_ = FeatureReads.from_dict(meta["reads"]) if meta.get("reads") else probe.reads()  # older probes
    return probe


def check_targets(X: FeatureSet, y_soft: np.ndarray, who: str) -> np.ndarray:
    """Validate the soft targets against the features; clear errors for the usual mistakes."""
    y = np.asarray(y_soft, dtype=np.float64).reshape(-1)
    if len(X) == 0:
        raise ProbecastError(f"probe {who!r}: no training rows (empty FeatureSet); check the checkpoints/tasks "
                             f"you train on have labels and features")
    if len(y) != len(X):
        raise ProbecastError(f"probe {who!r}: {len(y)} targets for {len(X)} feature rows; "
                             f"targets must align row by row with the FeatureSet")
    if not np.all(np.isfinite(y)) or y.min() < 0 or y.max() > 1:
        raise ProbecastError(f"probe {who!r}: targets must be soft pass@1 values in [0, 1] without NaN")
    return y
