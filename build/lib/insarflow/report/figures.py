"""Shared plotting helpers: a headless backend, one style, atomic PNG writes."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # rule jobs and compute nodes have no display

from matplotlib.colors import Colormap
from matplotlib.figure import Figure

DPI = 100
NOTE_STYLE = {"fontsize": 9, "color": "0.25", "style": "italic"}


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A figure not registered with pyplot (no global state to leak between items).

    ``layout=None`` for figures that place their axes themselves: constrained layout costs an
    extra draw, which matters for the hundreds of quicklook pages of a large project.
    """
    return Figure(figsize=(width, height), dpi=DPI, layout=layout)


def note(figure: Figure, text: str) -> None:
    """A short sentence under the plot saying what the figure cannot show (and why)."""
    # About 14 characters of 9 pt text per inch: wrap rather than be cut at the edges.
    figure.supxlabel(textwrap.fill(text, int(figure.get_figwidth() * 14)), **NOTE_STYLE)


def save(figure: Figure, path: str | Path, compress_level: int = 6) -> Path:
    """Write ``figure`` as PNG through a temporary name, so a killed job leaves no half file.

    ``compress_level`` is zlib's (0-9): 1 writes image-heavy pages several times faster.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    figure.savefig(temporary, format="png", pil_kwargs={"compress_level": compress_level})
    os.replace(temporary, path)
    return path


def colormap(name: str) -> Colormap:
    return matplotlib.colormaps[name]
