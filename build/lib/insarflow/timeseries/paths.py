"""Where the time-series stage writes: one place for the rules, the package and the README."""

from __future__ import annotations

ROOT = "results/timeseries"
CLIPPED = f"{ROOT}/clipped"  # the products' layers clipped to their common overlap
MINTPY_DIR = f"{ROOT}/mintpy"  # MintPy's work directory (template, inputs/, pic/, step logs)
TEMPLATE = f"{MINTPY_DIR}/insarflow.txt"  # the template written from the config
STEPS_RECORD = f"{ROOT}/mintpy_steps.json"  # each MintPy step: outcome, seconds, log
TIMESERIES = f"{ROOT}/timeseries.h5"  # MintPy's last corrected time series, under a stable name
VELOCITY = f"{ROOT}/velocity.h5"
VELOCITY_TIF = f"{ROOT}/velocity.tif"
VELOCITY_STD_TIF = f"{ROOT}/velocity_std.tif"
TEMPORAL_COHERENCE_TIF = f"{ROOT}/temporal_coherence.tif"
VELOCITY_PNG = f"{ROOT}/velocity.png"
DISPLACEMENT_PNG = f"{ROOT}/displacement.png"
VELOCITY_KMZ = f"{ROOT}/velocity.kmz"
LOGS = "logs/timeseries"
