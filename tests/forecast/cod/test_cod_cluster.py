"""COD clustering: planted difficulty clusters are recovered; outliers and small groups are set aside."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from probecast.errors import ProbecastError
from probecast.forecast.cod.cluster import ClusterConfig, cluster_questions, cluster_summary, nearest_cluster
from probecast.forecast.cod.data import question_matrix, validate_question_table
from probecast.forecast.cod.synthetic import PlantedSeries


def _planted(**kw):
    df, truth = PlantedSeries(**kw).rows()
    return question_matrix(validate_question_table(df, "planted"), "synthetic"), truth


@pytest.mark.parametrize("seed", [0, 1])
def test_meanshift_recovers_planted_clusters(seed):
    m, truth = _planted(n_outliers=15, seed=seed)
    labels = cluster_questions(m.pass_rate, ClusterConfig())
    clustered = labels >= 0
    assert len(set(labels[clustered])) == 4
    assert adjusted_rand_score(truth[clustered], labels[clustered]) > 0.95
    assert clustered[truth >= 0].mean() > 0.95          # planted members are kept
    assert (~clustered[truth < 0]).mean() > 0.9         # random curves end up as outliers


def test_clusters_are_ordered_easy_to_hard_and_respect_the_radius_cap():
    m, _ = _planted()
    cfg = ClusterConfig(max_radius=0.15)
    labels = cluster_questions(m.pass_rate, cfg)
    rows = cluster_summary(m.pass_rate, labels)
    means = [np.mean(r["mean_curve"]) for r in rows]
    assert means == sorted(means, reverse=True)
    assert all(r["radius"] <= cfg.max_radius + 1e-9 for r in rows)


def test_radius_cap_splits_a_wide_cluster():
    m, truth = _planted()
    # a wide bandwidth merges the planted groups; the cap must split them back
    merged = cluster_questions(m.pass_rate, ClusterConfig(bandwidth=0.5, max_radius=10.0))
    assert len(set(merged[merged >= 0])) < 4
    labels = cluster_questions(m.pass_rate, ClusterConfig(bandwidth=0.5, max_radius=0.1))
    assert len(set(labels[labels >= 0])) >= 4
    assert adjusted_rand_score(truth[labels >= 0], labels[labels >= 0]) > 0.9


def test_minimum_cluster_size_turns_small_groups_into_outliers():
    m, truth = _planted(sizes=[60, 60, 60, 6])
    labels = cluster_questions(m.pass_rate, ClusterConfig(min_size=10))
    assert (labels[truth == 3] == -1).all()
    assert all((labels == k).sum() >= 10 for k in set(labels[labels >= 0]))


@pytest.mark.parametrize("method", ["kmeans", "dbscan"])
def test_comparison_methods_run_and_find_structure(method):
    m, truth = _planted()
    labels = cluster_questions(m.pass_rate, ClusterConfig(method=method, n_clusters=4))
    ok = labels >= 0
    assert ok.mean() > 0.8
    assert adjusted_rand_score(truth[ok], labels[ok]) > 0.5


def test_bad_cluster_config_is_a_clear_error():
    m, _ = _planted()
    with pytest.raises(ProbecastError, match="meanshift"):
        cluster_questions(m.pass_rate, ClusterConfig(method="spectral"))
    with pytest.raises(ProbecastError, match="minimum cluster size"):
        cluster_questions(m.pass_rate[:5], ClusterConfig(min_size=10))


def test_nearest_cluster_gives_every_outlier_the_closest_centre():
    m, truth = _planted(n_outliers=15)
    labels = cluster_questions(m.pass_rate, ClusterConfig())
    counted = nearest_cluster(m.pass_rate, labels)
    assert (counted >= 0).all() and (counted[labels >= 0] == labels[labels >= 0]).all()
    X = m.pass_rate
    centres = np.stack([X[labels == k].mean(axis=0) for k in range(labels.max() + 1)])
    for i in np.flatnonzero(labels < 0):
        assert counted[i] == np.argmin(((centres - X[i]) ** 2).sum(axis=1))
    none = np.full(len(labels), -1)
    assert (nearest_cluster(m.pass_rate, none) == -1).all()
