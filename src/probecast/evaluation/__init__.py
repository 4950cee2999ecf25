"""How probes are judged: the earlier-predicts-later split, metrics and scoring, task-score intervals, the
evaluation loop and its plots, and the workspace steps behind `probecast fit`, `predict` and `evaluate`.

Probes themselves (and the baselines, which implement the same estimator protocol) live in `probecast.probes`.
"""
