"""Post-training fine-tuning of a real model on the CPU, and the real-model demo built on its checkpoints."""
