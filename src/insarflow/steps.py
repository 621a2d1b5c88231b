"""Running one workflow step from a rule script: logging to the rule's log, clean errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from insarflow.errors import UserError

# Failures a user or the remote service caused: one clear line, no traceback.
EXPECTED_FAILURES: tuple[type[BaseException], ...] = (UserError,)


def expected_failures() -> tuple[type[BaseException], ...]:
    from insarflow.hyp3.download import DownloadError
    from insarflow.hyp3.submit import SubmissionError
    from insarflow.hyp3.watch import PairFailed

    return (*EXPECTED_FAILURES, PairFailed, SubmissionError, DownloadError)


def run_step(log_path: str, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``step`` with logging into ``log_path``; expected failures exit 1 with one line."""
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # Third-party debug logs could echo request headers; keep them at warnings.
    for noisy in ("urllib3", "requests", "hyp3_sdk", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return step(*args, **kwargs)
    except expected_failures() as error:
        logging.getLogger("insarflow").error("%s", error)
        print(f"insarflow: {error}", file=sys.stderr)
        sys.exit(1)
    except Exception:
        # A bug, not a user mistake: keep the traceback in the job's log.
        logging.getLogger("insarflow").exception("unexpected failure")
        raise
