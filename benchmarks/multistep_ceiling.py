"""How much a pure hidden-state probe *could* know on the multi-step tasks: an in-checkpoint ceiling.

The demo asks pure hidden-state probes to beat the reference answer's log-likelihood on the multi-step tasks,
trained on early checkpoints and tested on later ones. This benchmark removes the two hardest parts of that
protocol to measure an upper bound: for each multi-step task and labelled checkpoint, a logistic probe is
trained and tested on the SAME checkpoint (5-fold cross-validation over its questions, so no weight drift and
labels with both classes), and the best layer is chosen on the test folds' AUROC (optimistic on purpose).
If even this ceiling does not reach `answer_loglik`'s AUROC, measured on the same questions with no training
at all, then the hidden states of this model do not carry the signal, whatever the probe or the split.

Feature families (all from one forward pass over prompt + reference answer, as `probecast extract` runs it):
  prompt_last / prompt_mean   the stored probe features (last prompt token; mean over all prompt tokens),
  question_mean               mean over the question's own tokens (few-shot examples excluded),
  answer_mean                 mean over the teacher-forced reference answer's positions.

    python benchmarks/multistep_ceiling.py --ws demo-out [--tasks sum3,age_sum] [--out ceiling.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from probecast.checkpoints.discover import Checkpoint, checkpoint_from_folder
from probecast.checkpoints.load import free_model, load_model
from probecast.features.extract import base_model, encode
from probecast.evaluation.data import feature_index, multistep_tasks
from probecast.resolve import resolve_tasks
from probecast.workspace import Workspace, safe_name

FAMILIES = ("prompt_last", "prompt_mean", "question_mean", "answer_mean")


def _checkpoint(ws: Workspace, record: dict) -> Checkpoint:
    """The workspace's copy of the run when it has one (records may hold paths relative to another cwd)."""
    local = ws.run_dir / safe_name(record["id"])
    return checkpoint_from_folder(local, record.get("step")) if local.is_dir() else Checkpoint.from_record(record)


@torch.inference_mode()
def _token_states(model, tokenizer, task) -> dict[str, np.ndarray]:
    """[n, layers, dim] means over the question's own tokens and over the reference answer's positions."""
    seqs, plens = encode(tokenizer, task, with_answer=True)
    base = base_model(model)
    q_mean, a_mean = [], []
    for q, seq, plen in zip(task.questions, seqs, plens):
        hs = torch.stack(base(input_ids=torch.tensor([seq]), output_hidden_states=True).hidden_states)[:, 0].float()
        n_q = min(len(tokenizer(q.text, add_special_tokens=False).input_ids), plen)
        q_mean.append(hs[:, plen - n_q:plen].mean(1).numpy())
        a_mean.append(hs[:, plen - 1:max(len(seq) - 1, plen)].mean(1).numpy())  # states that predict the answer
    return {"question_mean": np.stack(q_mean), "answer_mean": np.stack(a_mean)}


def ceiling_auroc(X: np.ndarray, y: np.ndarray, folds: int, seed: int) -> float:
    """Best layer's cross-validated AUROC of a logistic probe ([n, layers, dim] features, binary y)."""
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    best = 0.0
    for layer in range(X.shape[1]):
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
        p = cross_val_predict(probe, X[:, layer].astype(np.float32), y, cv=cv, method="predict_proba")[:, 1]
        best = max(best, roc_auc_score(y, p))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ws", required=True)
    ap.add_argument("--tasks", default=None, help="comma-separated (default: the workspace's multi-step tasks)")
    ap.add_argument("--min-class", type=int, default=8, help="skip checkpoints with fewer questions per class")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the rows as JSON here")
    args = ap.parse_args()
    torch.manual_seed(args.seed)

    ws = Workspace(args.ws, create=False)
    index = feature_index(ws)
    names = args.tasks.split(",") if args.tasks else multistep_tasks(ws, index)
    tasks = {t.name: t for t in resolve_tasks(None, ws) if t.name in names}
    all_labels = ws.read_labels(tasks=list(tasks))
    rows = []
    for record in sorted(ws.read_checkpoints(), key=lambda r: r["step"]):
        todo = []
        for name, task in tasks.items():
            if not (ws.has_labels(record["id"], name) and ws.features_path(record["id"], name).exists()):
                continue
            labels = all_labels[(all_labels.checkpoint == record["id"]) & (all_labels.task == name)]
            labels = labels.set_index("question_id")
            y = (labels.loc[[q.id for q in task.questions], "pass1"].to_numpy() >= 0.5).astype(int)
            if min(y.sum(), len(y) - y.sum()) >= args.min_class:
                todo.append((name, task, y))
        if not todo:
            continue
        model, tokenizer = load_model(_checkpoint(ws, record))
        for name, task, y in todo:
            stored = load_file(str(ws.features_path(record["id"], name)))
            feats = {"prompt_last": stored["hidden_last"], "prompt_mean": stored["hidden_mean"],
                     **_token_states(model, tokenizer, task)}
            row = {"task": name, "step": record["step"], "n": len(y), "positive_rate": float(y.mean()),
                   "answer_loglik": roc_auc_score(y, stored["answer_loglik"])}
            if "answer_loglik_paths" in stored:
                row["answer_loglik_paths"] = roc_auc_score(y, stored["answer_loglik_paths"])
            row.update({f: ceiling_auroc(feats[f], y, args.folds, args.seed) for f in FAMILIES})
            rows.append(row)
            print(f"{name:>8} step {row['step']:>5}  pos {row['positive_rate']:.2f}  answer_loglik "
                  f"{row['answer_loglik']:.3f}  " + "  ".join(f"{f} {row[f]:.3f}" for f in FAMILIES), flush=True)
        free_model(model)
    if not rows:
        raise SystemExit(f"{ws.root}: no labelled checkpoint of {sorted(tasks)} has {args.min_class}+ questions "
                         f"in each class")
    mean = {k: float(np.mean([r[k] for r in rows if k in r])) for k in ("answer_loglik", "answer_loglik_paths",
                                                                         *FAMILIES) if any(k in r for r in rows)}
    best = max(FAMILIES, key=mean.get)
    print(f"mean over {len(rows)} (task, checkpoint): answer_loglik {mean['answer_loglik']:.3f} (no training) vs "
          f"best hidden-state ceiling {best} {mean[best]:.3f} (trained and tested on the same checkpoint, best layer)")
    for task in tasks:
        sel = [r for r in rows if r["task"] == task]
        if sel:
            print(f"  {task}: answer_loglik {np.mean([r['answer_loglik'] for r in sel]):.3f}, ceiling "
                  + ", ".join(f"{f} {np.mean([r[f] for r in sel]):.3f}" for f in FAMILIES))
    if args.out:
        Path(args.out).write_text(json.dumps({"rows": rows, "mean": mean}, indent=1))


if __name__ == "__main__":
    main()
