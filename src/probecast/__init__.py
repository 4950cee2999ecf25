"""probecast: predict downstream benchmark scores of LLM checkpoints while they train."""

__version__ = "0.1.0"
