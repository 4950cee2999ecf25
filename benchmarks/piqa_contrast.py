"""Do the states at PIQA's two solutions tell which one a checkpoint prefers? (a measurement, not in the package)

    python benchmarks/piqa_contrast.py --run demo-out-smollm2/run [--questions 160] [--seeds 2]

PIQA is labelled by which of its two solutions the checkpoint's likelihood prefers (lm-eval `acc`), and the prompt
holds neither, so a probe on the prompt's states, or on the gold solution's states alone (`pooling="answer"`), has
little to rank it by (≈ 0.5 in the real demo). This reads, on *dev* questions only (PIQA validation
80..80+N; the real demo labels 0..79), at every checkpoint of the run: the label as probecast computes it, the mean
state over the gold solution's tokens at layers 0, 3, ..., 30 (`gold`: what `pooling="answer"` reads), the gold
solution's minus the other solution's (`contrast`), and both side by side (`gold_other`). In-checkpoint protocol:
5 stratified outer folds; the layer and the ridge L2 chosen by an inner 3-fold CV on the training folds (nested);
AUROC over the outer folds' predictions, averaged over `--seeds` fold seeds; then the mean over checkpoints.
One teacher-forced pass per question and solution (`output_hidden_states`), ≈ 80 s per checkpoint on 2 cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

LAYERS = list(range(0, 31, 3))


def states(model, tok, prompt: str, cont: str):
    """(mean state over `cont`'s tokens at every hidden_states index [L+1, D], sum log-likelihood of `cont`)."""
    import torch

    p = tok(prompt).input_ids
    c = tok(cont, add_special_tokens=False).input_ids
    out = model(input_ids=torch.tensor([p + c]), output_hidden_states=True)
    hs = torch.stack(out.hidden_states)[:, 0]
    logp = torch.log_softmax(out.logits[0, len(p) - 1:-1].float(), -1)
    return hs[:, len(p):].mean(1).float().numpy(), float(logp[torch.arange(len(c)), torch.tensor(c)].sum())


def nested_auroc(X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """X [n, L, D]: outer 5 folds; an inner 3-fold CV on each training part picks (layer, L2) by AUROC."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    pred = np.zeros(len(y))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(X[:, 0, :1], y):
        scores = {}
        for li in range(X.shape[1]):
            for alpha in (1.0, 10.0, 100.0, 1000.0):
                ps = np.zeros(len(tr))
                for itr, ite in StratifiedKFold(3, shuffle=True, random_state=seed + 1).split(X[tr, 0, :1], y[tr]):
                    ps[ite] = RidgeClassifier(alpha=alpha).fit(X[tr][itr, li], y[tr][itr]).decision_function(X[tr][ite, li])
                scores[(li, alpha)] = roc_auc_score(y[tr], ps)
        li, alpha = max(scores, key=scores.get)
        pred[te] = RidgeClassifier(alpha=alpha).fit(X[tr, li], y[tr]).decision_function(X[te, li])
    return float(roc_auc_score(y, pred))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="the run's checkpoints (e.g. the real demo's DIR/run)")
    ap.add_argument("--questions", type=int, default=160, help="PIQA validation questions from 80 on (dev)")
    ap.add_argument("--seeds", type=int, default=2, help="outer fold seeds")
    args = ap.parse_args(argv)

    import torch

    from probecast.checkpoints import discover_checkpoints
    from probecast.checkpoints.load import load_model
    from probecast.tasks.loaders import load_piqa
    from probecast.tasks.registry import _benchmark_dir

    full = load_piqa(_benchmark_dir("piqa"), limit=80 + args.questions)
    qs = full.questions[80:]
    res: dict[str, list[float]] = {"gold": [], "contrast": [], "gold_other": []}
    for ck in discover_checkpoints(args.run):
        t0 = time.time()
        model, tok = load_model(ck)
        G, O, y = [], [], []
        with torch.inference_mode():
            for q in qs:
                s = [states(model, tok, full.prompt(q), full.template.choice_prefix + ch) for ch in q.choices]
                G.append(s[q.gold][0][LAYERS])
                O.append(s[1 - q.gold][0][LAYERS])
                y.append(int(s[q.gold][1] > s[1 - q.gold][1]))
        G, O, y = np.array(G), np.array(O), np.array(y)
        if y.min() == y.max():
            print(f"{ck.id}: one class, skipped")
            continue
        feats = {"gold": G, "contrast": G - O, "gold_other": np.concatenate([G, O], -1)}
        row = {k: float(np.mean([nested_auroc(v, y, s) for s in range(args.seeds)])) for k, v in feats.items()}
        for k in res:
            res[k].append(row[k])
        print(f"{ck.id}: pass@1 {y.mean():.2f}  " + "  ".join(f"{k} {v:.3f}" for k, v in row.items())
              + f"  [{time.time() - t0:.0f} s]", flush=True)
    means = {k: float(np.mean(v)) for k, v in res.items()}
    print("mean over checkpoints: " + "  ".join(f"{k} {v:.3f}" for k, v in means.items()))
    return means


if __name__ == "__main__":
    from probecast.errors import run_script

    run_script(main)
