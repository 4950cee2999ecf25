"""Probe zoo behind one estimator protocol (`fit`, `predict_proba`, `get_params`, save/load), the baselines
(same protocol) and the log-likelihood calibration. Importing this package registers every probe by name.
How probes are judged (split, metrics, evaluation loop) lives in `probecast.evaluation`."""

from probecast.probes.base import REGISTRY, Probe, load_probe, make_probe, register  # noqa: F401
from probecast.probes import attention, baselines, by_format, history, hybrid, layer_mean, lens, linear, mlp, vote  # noqa: F401,E501  (registration side effects)

PROBES = ("linear", "ridge", "mlp", "attn_layers", "attn_tokens", "logit_lens", "lens_ridge", "hybrid", "hybrid_history")
