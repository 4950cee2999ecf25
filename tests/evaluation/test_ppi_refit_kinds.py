"""benchmarks/ppi_refit.py: which probe kinds the refit experiment runs."""

from benchmark_module import load_benchmark

refit = load_benchmark("ppi_refit")


def test_probe_kinds_put_the_best_probe_first_and_name_each_kind_once():
    assert refit.probe_kinds("best,ridge", "hybrid") == ["hybrid", "ridge"]
    assert refit.probe_kinds("best,ridge", "ridge") == ["ridge"]  # the best probe is ridge: one run, not two
    assert refit.probe_kinds(" linear , best ", None) == ["linear"]  # no best probe recorded: 'best' names nothing
    assert refit.probe_kinds(",", "hybrid") == []
    assert refit.DEFAULT_PROBES == ("best", "ridge")
