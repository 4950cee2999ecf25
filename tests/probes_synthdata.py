"""Synthetic FeatureSets with a known answer for the probe tests."""

from __future__ import annotations

import numpy as np

from probecast.features.featureset import FeatureSet


def planted(n_questions: int = 200, steps=(100, 200, 400, 800), n_layers: int = 4, dim: int = 16,
            layer: int = 2, tail_len: int = 0, token: int = 0, n_samples: int = 8, seed: int = 0,
            noise: float = 1.0, signal: float = 1.5, tasks=("t",)):
    """Rows = questions × checkpoints. The success logit (ability(step) − difficulty) is planted along one
    direction of `layer` (and of tail position `token` when tail_len > 0); every other layer/token is noise.
    Returns (FeatureSet, pass1 [n], true_p [n])."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1.5, size=n_questions)
    direction = rng.normal(size=dim)
    direction /= np.linalg.norm(direction)
    rows = []
    for task in tasks:
        for s in steps:
            ability = np.log(s / steps[0]) / np.log(steps[-1] / steps[0]) * 2 - 1
            for q in range(n_questions):
                rows.append((task, s, q, ability - difficulty[q]))
    n = len(rows)
    logit = np.array([r[3] for r in rows])
    p_true = 1 / (1 + np.exp(-logit))
    c = rng.binomial(n_samples, p_true)
    hidden = rng.normal(0, noise, size=(n, n_layers, dim)).astype(np.float32)
    hidden[:, layer] += (signal * logit[:, None] * direction[None]).astype(np.float32)
    tail = tail_mask = None
    if tail_len:
        tail = rng.normal(0, noise, size=(n, tail_len, dim)).astype(np.float32)
        tail[:, token] += (signal * logit[:, None] * direction[None]).astype(np.float32)
        tail_mask = np.ones((n, tail_len), dtype=bool)
    steps_arr = np.array([r[1] for r in rows])
    fs = FeatureSet(
        question_ids=np.array([f"q{r[2]}" for r in rows], dtype=object),
        task=np.array([r[0] for r in rows], dtype=object),
        checkpoint=np.array([f"step{r[1]}" for r in rows], dtype=object),
        step=steps_arr,
        hidden_last=hidden,
        hidden_mean=rng.normal(size=(n, n_layers, dim)).astype(np.float32),
        tail=tail, tail_mask=tail_mask,
        answer_loglik=np.log(np.clip(p_true + rng.normal(0, 0.05, n), 1e-4, 1)),
        answer_loglik_mean=np.log(np.clip(p_true + rng.normal(0, 0.05, n), 1e-4, 1)) / 3,
        progress=np.log1p(steps_arr) / np.log1p(max(steps)),
        text=np.array([("word " * (3 + int(max(0, difficulty[r[2]]) * 5))).strip() + f" id{r[2]}" for r in rows],
                      dtype=object),
    )
    return fs, c / n_samples, p_true


def question_split(fs: FeatureSet, frac: float = 0.3, seed: int = 1):
    """Boolean masks (train, test) splitting questions."""
    q = np.unique(fs.question_ids)
    test_q = np.random.default_rng(seed).choice(q, size=int(len(q) * frac), replace=False)
    te = np.isin(fs.question_ids, test_q)
    return ~te, te


def write_workspace(root, fs: FeatureSet, y: np.ndarray, sample: np.ndarray | None = None):
    """Store a synthetic FeatureSet + labels as a probecast workspace (features, labels, checkpoints.json)."""
    import pandas as pd

    from probecast.features.store import save_features
    from probecast.workspace import Workspace

    ws = Workspace(root)
    sample = (y >= 0.5).astype(float) if sample is None else sample
    records = {}
    for ckpt in np.unique(fs.checkpoint):
        for task in np.unique(fs.task):
            m = (fs.checkpoint == ckpt) & (fs.task == task)
            sub = fs.subset(m)
            step = int(sub.step[0])
            arrays = {"hidden_last": sub.hidden_last.astype(np.float16), "hidden_mean": sub.hidden_mean.astype(np.float16),
                      "tail": None if sub.tail is None else sub.tail.astype(np.float16),
                      "tail_mask": None if sub.tail_mask is None else sub.tail_mask.astype(np.uint8),
                      "answer_loglik": sub.answer_loglik.astype(np.float32),
                      "answer_loglik_mean": sub.answer_loglik_mean.astype(np.float32)}
            save_features(ws, str(ckpt), step, str(task), list(sub.question_ids), arrays,
                          {"prompts": list(sub.text), "fingerprint": "synthetic"})
            labels = pd.DataFrame({"checkpoint": str(ckpt), "step": step, "task": str(task),
                                   "question_id": sub.question_ids.astype(str), "n": 8,
                                   "c": np.round(y[m] * 8).astype(int), "pass1": y[m], "sample_correct": sample[m]})
            ws.write_labels(str(ckpt), str(task), labels, {"task": str(task), "multi_step": task == "b"})
            records[str(ckpt)] = {"id": str(ckpt), "path": f"/synthetic/{ckpt}", "step": step, "train_loss": 4.0 - np.log(step) / 5}
    ws.add_checkpoints(records.values())
    return ws


if __name__ == "__main__":  # a synthetic workspace for trying the CLI: python probes_synthdata.py DIR
    import sys

    fs, y, p_true = planted(n_questions=300, steps=(100, 200, 400, 800, 1600, 3200), n_layers=8, dim=64,
                            layer=5, tail_len=8, token=6, tasks=("a", "b"), seed=0)
    sampled = (np.random.default_rng(1).random(len(y)) < p_true).astype(float)
    write_workspace(sys.argv[1], fs, y, sampled)
    print(f"wrote a synthetic workspace with {len(fs)} rows to {sys.argv[1]}")
