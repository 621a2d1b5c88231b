"""Entry points of the ISCE rules' ``run:`` blocks: each adapts one job to a package function.

They write everything (our messages, library logging, tqdm bars) to the job's log and raise a
short ``RuntimeError`` with the log's path on failure. Heavy libraries (rasterio, dem_stitcher,
sentineleof) are imported inside the functions, so parsing the workflow never loads them.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from insarflow.errors import UserError
from insarflow.files import write_json_atomic


@contextlib.contextmanager
def _logged(log_file: str, loggers: tuple[str, ...] = ()) -> Iterator[None]:
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w", buffering=1) as log:
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
        attached = []
        for name in loggers:
            logger = _library_logger(name)
            if logger is not None:
                logger.addHandler(handler)
                logger.setLevel(logging.INFO)
                attached.append(logger)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        except (UserError, RuntimeError, OSError, ValueError) as error:
            traceback.print_exc(file=log)
            print(f"ERROR: {error}", file=log)
            raise RuntimeError(f"{error} (log: {log_file})") from None
        finally:
            for logger in attached:
                logger.removeHandler(handler)


def _library_logger(name: str) -> logging.Logger | None:
    if name == "sentineleof":
        from eof.log import logger  # a stand-alone Logger, outside the logging hierarchy

        return logger
    return logging.getLogger(name)


def _run(
    log_file: str, function: Callable[..., Any], *args: Any, loggers: tuple[str, ...] = ()
) -> Any:
    with _logged(log_file, loggers):
        return function(*args)


def make_dem(input: Any, output: Any, settings: dict[str, Any], log: Any) -> None:
    from insarflow.isce.dem import stitch_isce_dem

    _run(
        log[0],
        stitch_isce_dem,
        list(input.safes),
        output.dem,
        settings["bbox"],
        settings["margin"],
        settings["tile_dir"],
        settings["geoid_path"],
        loggers=("dem_stitcher",),
    )


def prepare_inputs(input: Any, output: Any, params: Any, log: Any) -> None:
    """Orbits, the AUX_CAL note and the stackSentinel request of one stack (one job, so one
    Snakemake process start instead of three)."""
    from insarflow.isce.orbits import check_aux_cal, ensure_orbits

    def prepare() -> None:
        safes = list(input.safes)
        ensure_orbits(safes, params.orbit_dir, output.orbits)
        if check_aux_cal(safes, params.aux_dir, output.aux_cal):
            # worth seeing on the console, not only in the log
            note = Path(output.aux_cal).read_text()
            print(f"insarflow: AUX_CAL ({output.aux_cal}):\n{note}", file=sys.__stderr__)
        write_json_atomic(output.request, params.request)
        print(f"stackSentinel request: {output.request}")

    _run(log[0], prepare, loggers=("sentineleof",))
