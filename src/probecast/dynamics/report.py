"""A small document model rendered to both Markdown and self-contained-folder HTML.

The dynamics report is a list of blocks (headings, paragraphs, tables, images); writing it twice from the
same blocks keeps report.md and report.html identical in content. Images are PNG files next to the report.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from probecast.io import write_text_atomic


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.4g}"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value)


@dataclass
class Report:
    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def text(self, text: str) -> None:
        self.blocks.append(("p", text))

    def code(self, text: str) -> None:
        self.blocks.append(("code", text))

    def table(self, df: pd.DataFrame) -> None:
        self.blocks.append(("table", df))

    def image(self, file: str, caption: str) -> None:
        self.blocks.append(("img", (file, caption)))

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, body in self.blocks:
            if kind == "h2":
                out += [f"## {body}", ""]
            elif kind == "p":
                out += [str(body), ""]
            elif kind == "code":
                out += ["```", str(body), "```", ""]
            elif kind == "table":
                df = body  # type: ignore[assignment]
                out.append("| " + " | ".join(map(str, df.columns)) + " |")
                out.append("|" + "---|" * len(df.columns))
                out += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
                out.append("")
            elif kind == "img":
                file, caption = body  # type: ignore[misc]
                out += [f"![{caption}]({file})", ""]
        return "\n".join(out)

    def to_html(self) -> str:
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
                 "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
                 "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;"
                 "padding:3px 8px;text-align:right}th{background:#f3f3f3}img{max-width:100%}"
                 "pre{background:#f6f6f6;padding:.6em;overflow-x:auto}</style></head><body>",
                 f"<h1>{html.escape(self.title)}</h1>"]
        for kind, body in self.blocks:
            if kind == "h2":
                parts.append(f"<h2>{html.escape(str(body))}</h2>")
            elif kind == "p":
                parts.append(f"<p>{html.escape(str(body))}</p>")
            elif kind == "code":
                parts.append(f"<pre>{html.escape(str(body))}</pre>")
            elif kind == "table":
                df = body  # type: ignore[assignment]
                head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
                rows = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                               for row in df.itertuples(index=False))
                parts.append(f"<table><tr>{head}</tr>{rows}</table>")
            elif kind == "img":
                file, caption = body  # type: ignore[misc]
                parts.append(f"<figure><img src='{html.escape(file)}' alt='{html.escape(caption)}'>"
                             f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, folder: Path) -> tuple[Path, Path]:
        md, page = folder / "report.md", folder / "report.html"
        write_text_atomic(md, self.to_markdown())
        write_text_atomic(page, self.to_html())
        return md, page
