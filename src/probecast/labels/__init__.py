"""Generative labels: the expensive ground truth the probes learn from."""
