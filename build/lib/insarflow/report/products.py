"""What the report reads from a verified HyP3 product directory.

A product directory (whatever its path: see ``get_hyp3_products`` in rules/common.smk) holds
``verified.json`` (its ``pair`` and ``files[0].folder`` = the product name) and the unpacked
folder ``<NAME>/`` with ``<NAME>_unw_phase.tif``, ``<NAME>_corr.tif`` ... and ``<NAME>.txt``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from insarflow.errors import UserError


@dataclass(frozen=True)
class Product:
    pair_id: str
    name: str
    folder: Path
    verified_at: str | None = None

    def layer(self, suffix: str) -> Path | None:
        """``<NAME>_<suffix>.tif`` if the product has that layer."""
        path = self.folder / f"{self.name}_{suffix}.tif"
        return path if path.exists() else None

    def metadata(self) -> dict[str, str]:
        """``<NAME>.txt`` as MintPy reads it: ``key: value`` lines, spaces removed from keys."""
        path = self.folder / f"{self.name}.txt"
        if not path.exists():
            return {}
        values = {}
        for line in path.read_text().splitlines():
            key, sep, value = line.partition(":")
            if sep:
                values[key.replace(" ", "")] = value.strip()
        return values

    def baseline(self) -> float | None:
        """Perpendicular baseline (m) from the ``Baseline:`` line, if the product has one."""
        value = self.metadata().get("Baseline")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


def read_product(product_dir: str | Path) -> Product:
    product_dir = Path(product_dir)
    manifest_path = product_dir / "verified.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        name = manifest["files"][0]["folder"]
    except (OSError, ValueError, KeyError, IndexError) as error:
        raise UserError(
            f"{manifest_path}: not a verified HyP3 product ({error}); "
            "rerun the workflow to download it again"
        ) from error
    pair_id = manifest.get("pair") or product_dir.name
    return Product(pair_id, name, product_dir / name, manifest.get("verified_at"))
