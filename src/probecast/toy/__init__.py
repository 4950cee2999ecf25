"""The embedded training run: a tiny Llama trained from scratch on the CPU on the synthetic world."""
