"""Forecasters of downstream scores from compute, loss and training trajectories.

- `table`: the long table (run, step, tokens, flops, params, metric, value) and `load_runs`;
  `adapters`: OLMo-ladder CSVs, Pythia / lm-eval JSON, long tables, probecast workspaces.
- `fitting`: the shared least-squares core (bounds, robust loss, restarts, delta method, bootstrap).
- `base`: the `Forecaster` protocol (`fit(table)`, `predict(query) -> Forecast`, `get_params()`) and registry.
- Methods: `flp` (FLP), `flpm` (FLP-M), `ladder` (model ladder), `trajectory` (within-run extrapolation).
"""
