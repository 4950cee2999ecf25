"""Callbacks evaluate the in-memory model during training: HF Trainer end to end, a hand-written loop with
audits, and PyTorch Lightning (when installed)."""

from __future__ import annotations

import importlib.util
from collections import Counter

import pandas as pd
import pytest
import torch

from monitor_workspace import TASKS
from probecast.monitor import AuditConfig, Monitor, MonitorConfig, ProbecastCallback, evaluate_step
from probecast.monitor.sinks import jsonl_path, read_jsonl
from probecast.workspace import Workspace

TASK_NAMES = TASKS.split(",")


class PackedDataset(torch.utils.data.Dataset):
    """Rows of the embedded synthetic corpus, as a causal-LM dataset (labels = inputs)."""

    def __init__(self, tokenizer, n_rows: int = 64, seq_len: int = 64) -> None:
        from probecast.tasks.synthetic import World
        from probecast.toy.train import DEFAULT_TASK_WEIGHTS, PackedStream

        stream = PackedStream(tokenizer, World(seed=0), DEFAULT_TASK_WEIGHTS, seq_len, seed=1)
        self.rows = stream.batch(n_rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        return {"input_ids": self.rows[i], "labels": self.rows[i]}


def xs_model():
    from probecast.toy.tokenizer import build_tokenizer
    from probecast.toy.train import build_model

    torch.manual_seed(0)
    tok = build_tokenizer()
    return build_model("xs", len(tok), 64), tok


def tensorboard_scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_hf_trainer_callback_logs_one_score_per_task_per_step(monitor_ws, tmp_path):
    from transformers import Trainer, TrainingArguments

    model, tok = xs_model()
    monitor = Monitor(monitor_ws, MonitorConfig(probe="ridge", sinks=("tensorboard",), run_name="hf", n_boot=200))
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=6, per_device_train_batch_size=8,
                             learning_rate=3e-3, save_strategy="steps", save_steps=3, logging_steps=3,
                             report_to=[], use_cpu=True, dataloader_num_workers=0, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=PackedDataset(tok), processing_class=tok,
                      callbacks=[ProbecastCallback(monitor)])
    trainer.train()
    assert model.training  # the callback restored training mode

    records = [r for r in read_jsonl(jsonl_path(Workspace(monitor_ws))) if r["source"] == "hf_trainer"]
    counts = Counter((r["step"], r["task"]) for r in records)
    assert counts == Counter({(s, t): 1 for s in (3, 6) for t in TASK_NAMES})
    assert {r["checkpoint"] for r in records} == {"checkpoint-3", "checkpoint-6"}
    for r in records:
        assert 0 <= r["pred_pass1_lo"] <= r["pred_pass1"] <= r["pred_pass1_hi"] <= 1
        assert r["latency_s"] > 0 and r["n_questions"] == 10

    scalars = tensorboard_scalars(monitor_ws / "monitor" / "tensorboard" / "hf")
    for task in TASK_NAMES:
        for what in ("pred_pass1", "pred_pass1_lo", "pred_pass1_hi", "latency_s"):
            assert [s for s, _ in scalars[f"probecast/{task}/{what}"]] == [3, 6]
        by_step = {r["step"]: r["pred_pass1"] for r in records if r["task"] == task}
        for step, value in scalars[f"probecast/{task}/pred_pass1"]:
            assert value == pytest.approx(by_step[step], abs=1e-6)
    assert [s for s, _ in scalars["probecast/eval_latency_s"]] == [3, 6]


def test_plain_loop_every_n_steps_with_audits(monitor_ws):
    model, tok = xs_model()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    data = PackedDataset(tok, n_rows=16).rows
    cfg = MonitorConfig(probe="ridge", sinks=(), run_name="loop", n_boot=100,
                        audit=AuditConfig(every=2, questions=4, samples=2))
    with Monitor(monitor_ws, cfg) as monitor:
        model.train()
        for step in range(1, 7):
            batch = data[(step % 4) * 4:(step % 4 + 1) * 4]
            model(input_ids=batch, labels=batch).loss.backward()
            opt.step()
            opt.zero_grad()
            if step % 2 == 0:
                out = evaluate_step(monitor, model, tok, step)
                assert [r["task"] for r in out] == TASK_NAMES
                assert model.training
    records = [r for r in read_jsonl(jsonl_path(Workspace(monitor_ws))) if r["run"] == "loop"]
    assert sorted({r["step"] for r in records}) == [2, 4, 6]
    audited = sorted({r["step"] for r in records if "audit_pass1" in r})
    assert audited == [2, 6]  # evaluations 0 and 2 of every=2
    for r in records:
        if "audit_pass1" in r:
            assert r["audit_n"] == 4 and 0 <= r["audit_pass1"] <= 1 and 0 <= r["audit_pred_pass1"] <= 1
            rows = pd.read_parquet(monitor_ws / "monitor" / "audit" / f"step-{r['step']}" / f"{r['task']}.parquet")
            assert len(rows) == 4 and rows["pass1"].mean() == pytest.approx(r["audit_pass1"])
            assert rows["p_success"].mean() == pytest.approx(r["audit_pred_pass1"])
            assert r["ppi_n_labels"] == 4 and r["ppi_lo"] <= r["ppi_estimate"] <= r["ppi_hi"]  # PPI beside it
            assert r["ppi_classical"] == pytest.approx(r["audit_pass1"]) and 0 <= r["ppi_lam"] <= 1


@pytest.mark.skipif(importlib.util.find_spec("lightning") is None and importlib.util.find_spec("pytorch_lightning") is None,
                    reason="PyTorch Lightning is not installed (optional; `pip install lightning`)")
def test_lightning_callback(monitor_ws):
    try:
        import lightning.pytorch as pl
    except ImportError:
        import pytorch_lightning as pl
    from probecast.monitor.lightning import ProbecastLightningCallback

    model, tok = xs_model()

    class LitLM(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = model

        def training_step(self, batch, batch_idx):
            return self.model(input_ids=batch["input_ids"], labels=batch["labels"]).loss

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=3e-3)

    monitor = Monitor(monitor_ws, MonitorConfig(probe="ridge", sinks=("tensorboard",), run_name="lit", n_boot=100))
    loader = torch.utils.data.DataLoader(PackedDataset(tok, n_rows=32), batch_size=4)
    trainer = pl.Trainer(max_steps=4, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[ProbecastLightningCallback(monitor, tok, every_n_steps=2)])
    trainer.fit(LitLM(), loader)
    records = [r for r in read_jsonl(jsonl_path(Workspace(monitor_ws))) if r["run"] == "lit"]
    assert Counter((r["step"], r["task"]) for r in records) == Counter({(s, t): 1 for s in (2, 4) for t in TASK_NAMES})
    assert {r["source"] for r in records} == {"lightning"}


def test_monitor_skips_listed_paths_unless_features_are_saved(monitor_ws):
    """Alternative scratchpads teach the calibrator at fit time only; the prediction pass stays the cheap one."""
    from probecast.monitor.evaluator import workspace_extract_config

    assert workspace_extract_config(Workspace(monitor_ws)).alternatives  # what the workspace extracted with
    assert not Monitor(monitor_ws, MonitorConfig(probe="ridge", sinks=())).extract_cfg.alternatives
    saving = Monitor(monitor_ws, MonitorConfig(probe="ridge", sinks=(), save_features=True))
    assert saving.extract_cfg.alternatives  # saved features stay what `probecast extract` would write
    from probecast.evaluation.pipeline import fit_workspace

    fit_workspace(Workspace(monitor_ws), "answer_loglik_paths")  # reads every path at prediction time
    assert Monitor(monitor_ws, MonitorConfig(probe="answer_loglik_paths", sinks=())).extract_cfg.alternatives
