"""How the quicklook pages are laid out: which layers, how many pairs per page.

Light on purpose (no numpy, rasterio or matplotlib): the workflow imports it when it is parsed,
which happens at every Snakemake start and in every cluster job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

COLUMNS = 6
ROWS = 6
PER_PAGE = COLUMNS * ROWS


@dataclass(frozen=True)
class Layer:
    """How one product layer is shown: the file suffix, colour map, fixed or page-wide range."""

    suffix: str
    title: str
    cmap: str
    unit: str
    vmin: float | None = None  # None: symmetric page-wide range from the data
    vmax: float | None = None


LAYERS = {
    "unw_phase": Layer("unw_phase", "Unwrapped phase (minus each pair's median)", "RdBu_r", "rad"),
    "corr": Layer("corr", "Coherence", "gray", "", 0.0, 1.0),
}


def page_count(pairs: int, per_page: int = PER_PAGE) -> int:
    return max(1, math.ceil(pairs / per_page))


def page_slice(page: int, per_page: int = PER_PAGE) -> slice:
    """Items on page ``page`` (numbered from 1)."""
    return slice((page - 1) * per_page, page * per_page)
