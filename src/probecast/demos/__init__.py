"""The end-to-end demos: `embedded` (the tiny model trained here) and `real` (a packaged real model)."""
