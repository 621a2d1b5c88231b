"""The one adapter between a rule's ``script:`` and the package: logging and clean errors.

A rule script calls ``run_step(snakemake.log[0], function, ...)``. Everything the step logs
goes to the rule's log file; warnings, errors and progress lines (the ``insarflow.console``
logger) also go to the console, where Snakemake shows a job's stderr. Failures that are not
bugs (``UserError``: bad input, refused credentials, unreachable services, failed jobs) and
Ctrl-C end the job with one line; a bug keeps its traceback in the log file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from insarflow.errors import UserError

CONSOLE = "insarflow.console"


class _ConsoleFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name == CONSOLE


def console() -> logging.Logger:
    """The logger whose INFO lines reach the console as well as the log file (progress)."""
    return logging.getLogger(CONSOLE)


def configure_logging(log_path: str) -> None:
    file_handler = logging.FileHandler(log_path)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setFormatter(logging.Formatter("%(message)s"))
    terminal.addFilter(_ConsoleFilter())
    root = logging.getLogger()
    root.handlers[:] = [file_handler, terminal]
    root.setLevel(logging.INFO)
    # Third-party debug logs could echo request headers; keep them at errors (our own retry
    # logger says when a service does not answer).
    for noisy in ("urllib3", "requests", "hyp3_sdk", "filelock"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def run_step(log_path: str, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``step`` with logging into ``log_path``; expected failures exit 1 with one line."""
    configure_logging(log_path)
    try:
        return step(*args, **kwargs)
    except UserError as error:
        logging.getLogger("insarflow").error("insarflow: %s", error)
        sys.exit(1)
    except KeyboardInterrupt:
        logging.getLogger("insarflow").error(
            "insarflow: interrupted; rerun the same command to resume (nothing is lost)"
        )
        sys.exit(130)
    except Exception:
        # A bug, not a user mistake: keep the traceback in the job's log.
        logging.getLogger("insarflow").exception("unexpected failure")
        raise
