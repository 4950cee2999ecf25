"""Prefill features: one forward pass over the benchmark prompts, hidden states pooled per question."""
