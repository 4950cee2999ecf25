"""Clustering-On-Difficulty (arXiv 2502.17262): per-question pass rates → difficulty clusters → a law per
cluster → the predictable subset's score → a mapping to the full task score.

`data` (the per-question table), `cluster`, `law`, `mapping`, `forecaster` (COD and the end-to-end baseline),
`eval` (leave-largest-out comparison), `synthetic` (planted series), `plot`, `cli` (`probecast forecast cod`).
"""
