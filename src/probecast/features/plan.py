"""What a fitted probe reads, and the extraction that produces exactly that.

`FeatureReads` is recorded by `Probe.fit` in the probe's config.json (`reads`): the positions on the layer axis
of the features it was fitted on, which pooled blocks (last token / mean), whether it reads the last-T token
states, the answer log-likelihood, the listed alternative paths and the next-token distribution. `plan_extraction` turns it and the
workspace's extraction settings into the `ExtractConfig` a new checkpoint needs: only those layers (mapped to
hidden_states indices through the workspace's `layers`), the answer's tokens only when its likelihood or its
states are read (otherwise the prompts alone), the other choices only for the blocks made from them (`DERIVED`),
full depth and the LM head only for its likelihood or the next-token distribution (otherwise the pass stops after the
deepest layer read). The features it yields carry `layer_ids`, so the
probe's layer indices keep their meaning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from probecast.features.extract import ExtractConfig

# pooling -> the pooled blocks it reads, concatenated in this order (FeatureSet.hidden_<block>): the last prompt
# token, the mean over the prompt, the mean over the reference answer's tokens (`pooling.answer_span`), and
# `contrast`: the answer's block minus the other choices' (`hidden_others`; the answer's alone where a question
# has no other choice), so on a multiple-choice task the probe reads the gold choice *against* the others;
# `choice`: the same difference on multiple-choice rows and zeros on the others, so a probe fitted on several
# tasks at once gets weights of its own for it (in `contrast` the difference shares its weights with the
# generative tasks' answer states, which rule the fit)
POOLING_BLOCKS = {"last": ("last",), "mean": ("mean",), "both": ("last", "mean"), "answer": ("answer",),
                  "last_answer": ("last", "answer"), "contrast": ("contrast",), "last_contrast": ("last", "contrast"),
                  "last_answer_choice": ("last", "answer", "choice")}
POOLED = tuple(POOLING_BLOCKS)
# pooled block -> the stored arrays (FeatureSet.hidden_<name>) it is computed from; any other block is stored as is
DERIVED = {"contrast": ("answer", "others"), "choice": ("answer", "others")}


def stored_blocks(pooling: str) -> set[str]:
    """The stored arrays a pooling reads (what the extraction must keep for it)."""
    return {s for b in POOLING_BLOCKS[pooling] for s in DERIVED.get(b, (b,))}


@dataclass(frozen=True)
class FeatureReads:
    layers: tuple[int, ...] | None = None  # positions on the features' layer axis; None = every layer
    pooling: str = "last"  # which pooled blocks (POOLING_BLOCKS)
    tail: bool = False  # the last-T prompt-token states (FeatureSet.tail)
    answer_loglik: bool = False  # the reference answer's log-likelihood (needs the answer tokens, full depth)
    alternatives: bool = False  # ... and every listed alternative path
    next_token: bool = False  # the next-token distribution after the prompt (FeatureSet.next_token, full depth)

    def to_dict(self) -> dict:
        return {**asdict(self), "layers": None if self.layers is None else list(self.layers)}

    @staticmethod
    def from_dict(d: dict) -> "FeatureReads":
        layers = d.get("layers")
        return FeatureReads(layers=None if layers is None else tuple(int(l) for l in layers),
                            pooling=d.get("pooling", "last"), tail=bool(d.get("tail")),
                            answer_loglik=bool(d.get("answer_loglik")), alternatives=bool(d.get("alternatives")),
                            next_token=bool(d.get("next_token")))


def covering(poolings: set[str]) -> str:
    """The first pooling whose stored blocks include every one the given poolings read (what to extract)."""
    need = set().union(*(stored_blocks(p) for p in poolings))
    return next(p for p in POOLING_BLOCKS if stored_blocks(p) >= need)


def union_reads(reads: list[FeatureReads]) -> FeatureReads:
    """What a probe made of several members reads: every layer any of them reads (None if one reads all), a
    pooling covering all of theirs, and each other input any of them needs."""
    layers = [r.layers for r in reads]
    return FeatureReads(layers=None if any(l is None for l in layers) else tuple(sorted({i for l in layers for i in l})),
                        pooling=covering({r.pooling for r in reads}), tail=any(r.tail for r in reads),
                        answer_loglik=any(r.answer_loglik for r in reads),
                        alternatives=any(r.alternatives for r in reads), next_token=any(r.next_token for r in reads))


def plan_extraction(base: ExtractConfig, reads: FeatureReads | None) -> tuple[ExtractConfig, tuple[int, ...] | None]:
    """(the extraction a probe reading `reads` needs, the feature-layer positions it yields or None = all).

    `base` = the settings of the features the probe was fitted on; `reads=None` (a probe saved before reads
    were recorded) keeps them as they are, minus the listed paths."""
    if reads is None:
        return replace(base, alternatives=False, next_token=False), None
    if reads.pooling not in POOLED:
        raise ValueError(f"FeatureReads.pooling must be one of {POOLED}, got {reads.pooling!r}")
    stored = stored_blocks(reads.pooling)
    cfg = replace(base, mean_pool=base.mean_pool and "mean" in stored, answer_pool="answer" in stored,
                  others_pool="others" in stored,
                  tail_tokens=base.tail_tokens if reads.tail else 0, answer_loglik=reads.answer_loglik,
                  alternatives=reads.answer_loglik and reads.alternatives, next_token=reads.next_token)
    if reads.layers is None:
        return cfg, None
    hs = tuple(reads.layers) if base.layers is None else tuple(base.layers[i] for i in reads.layers)
    return replace(cfg, layers=hs), tuple(reads.layers)
