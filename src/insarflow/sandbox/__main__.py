"""``python -m insarflow.sandbox`` / ``insarflow-sandbox``: run the offline HyP3 sandbox.

The first line on stdout is the base URL (``http://127.0.0.1:PORT``), flushed as soon as the server
accepts connections, so a parent process can read it; ``--url-file`` and ``--pid-file`` offer the
same for parents that prefer files. SIGINT or SIGTERM stop the server cleanly (exit status 0).

``python -m insarflow.sandbox truth --looks 20x4 --out-dir DIR GRANULE...`` writes the ground truth
of the granules' frame instead (see ``insarflow.sandbox.truth``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from insarflow.errors import UserError
from insarflow.sandbox.faults import ERROR_CODES, ERROR_SCOPES, LOST_RESPONSE_MODES, FaultConfig
from insarflow.sandbox.server import SandboxServer
from insarflow.sandbox.service import DYNAMODB_PAGE_BYTES, MAX_PAGE_SIZE
from insarflow.sandbox.users import DEFAULT_TOKEN, default_user, load_users_file

PROG = "insarflow-sandbox"


def _credits(text: str) -> float | None:
    if text.lower() in ("none", "unlimited"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'unlimited'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative; credits are >= 0")
    return value


def _error_codes(text: str) -> tuple[int, ...]:
    try:
        codes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of codes"
        ) from None
    if not codes or any(code not in ERROR_CODES for code in codes):
        raise argparse.ArgumentTypeError(f"{text!r}: use some of {','.join(map(str, ERROR_CODES))}")
    return codes


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535; 0 = any free)")
    return port


def _granule_failure(text: str) -> tuple[str, int | None]:
    name, separator, count = text.partition(":")
    if not separator:
        return name, None
    if not count.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: the count after ':' must be a whole number")
    return name, int(count)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Offline HyP3 API sandbox on 127.0.0.1: rehearse HyP3 runs without credits.",
    )
    parser.add_argument("--port", type=_port, default=0, help="TCP port (default 0: a free port)")
    parser.add_argument(
        "--state",
        type=Path,
        help="state directory (users, credits, jobs, products); default: a temporary one",
    )
    parser.add_argument(
        "--processing-seconds",
        type=float,
        default=3.0,
        metavar="S",
        help="time from submission to SUCCEEDED/FAILED (default 3)",
    )
    parser.add_argument(
        "--processing-spread",
        type=float,
        default=0.0,
        metavar="S",
        help="each job takes up to S seconds longer, fixed by its id (default 0: all alike)",
    )
    parser.add_argument(
        "--pending-seconds",
        type=float,
        metavar="S",
        help="time a job stays PENDING (default: a fifth of --processing-seconds)",
    )
    parser.add_argument(
        "--credits",
        type=_credits,
        default=8000.0,
        metavar="N",
        help="credits of the default user and of new users (default 8000; 'unlimited' for none)",
    )
    parser.add_argument(
        "--users",
        type=Path,
        metavar="FILE",
        help="YAML list of users {name, token, credits, application_status, "
        f"password}}; default: one user with token {DEFAULT_TOKEN!r}",
    )
    parser.add_argument(
        "--open-registration",
        action="store_true",
        help="unknown tokens/Basic logins become new users instead of a 401",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=MAX_PAGE_SIZE,
        metavar="N",
        help=f"at most N jobs per GET /jobs page (default {MAX_PAGE_SIZE})",
    )
    parser.add_argument(
        "--page-bytes",
        type=int,
        default=DYNAMODB_PAGE_BYTES,
        metavar="B",
        help="a GET /jobs page ends after B bytes of jobs, as HyP3's DynamoDB page ends after "
        f"1 MB (default {DYNAMODB_PAGE_BYTES})",
    )
    parser.add_argument(
        "--product-lifetime-days",
        type=float,
        default=14.0,
        metavar="D",
        help="days until products expire (default 14)",
    )
    parser.add_argument(
        "--render-ahead",
        action="store_true",
        help="render each product when its job is submitted, in a low-priority process (as "
        "HyP3 has it ready when the job succeeds), not on its first download; for benchmarks",
    )
    parser.add_argument(
        "--url-file", type=Path, metavar="PATH", help="write the base URL here once listening"
    )
    parser.add_argument("--pid-file", type=Path, metavar="PATH", help="write the process id here")
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )

    faults = parser.add_argument_group("faults (also settable at runtime: POST /_sandbox/faults)")
    faults.add_argument("--seed", type=int, default=0, help="seed of every fault rate (default 0)")
    faults.add_argument(
        "--failure-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of submitted jobs that end FAILED",
    )
    faults.add_argument(
        "--fail-granule",
        action="append",
        default=[],
        type=_granule_failure,
        metavar="NAME[:N]",
        help="jobs using this scene/burst end FAILED; with :N only the next N do (repeatable)",
    )
    faults.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of requests answered with an HTTP error",
    )
    faults.add_argument(
        "--error-codes",
        type=_error_codes,
        default=(500, 502, 503, 429),
        metavar="CODES",
        help="errors to answer with (default 500,502,503,429)",
    )
    faults.add_argument(
        "--error-scope",
        choices=ERROR_SCOPES,
        default="api",
        help="requests the errors hit (default api)",
    )
    faults.add_argument(
        "--latency", type=float, default=0.0, metavar="S", help="seconds added to API requests"
    )
    faults.add_argument(
        "--download-latency",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds added to product downloads",
    )
    faults.add_argument(
        "--drop-download-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of downloads whose connection is reset mid-body",
    )
    faults.add_argument(
        "--truncate-download-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of downloads cut short after half the announced bytes",
    )
    faults.add_argument(
        "--lose-post-responses",
        type=int,
        default=0,
        metavar="N",
        help="the next N accepted POST /jobs are applied but never answered",
    )
    faults.add_argument(
        "--lose-post-response-mode",
        choices=LOST_RESPONSE_MODES,
        default="close",
        help="close the connection at once, or hang first (default close)",
    )
    faults.add_argument(
        "--hang-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="how long a 'hang' lasts at most (default 30)",
    )
    faults.add_argument(
        "--expire-products", action="store_true", help="every finished job is already expired"
    )
    faults.add_argument(
        "--unavailable",
        action="store_true",
        help="answer every API request with HyP3's 503 'unavailable'",
    )
    return parser


def _fault_config(args: argparse.Namespace) -> FaultConfig:
    try:
        return FaultConfig(
            seed=args.seed,
            error_rate=args.error_rate,
            error_codes=args.error_codes,
            error_scope=args.error_scope,
            latency_s=args.latency,
            download_latency_s=args.download_latency,
            drop_download_rate=args.drop_download_rate,
            truncate_download_rate=args.truncate_download_rate,
            lose_post_response_count=args.lose_post_responses,
            lose_post_response_mode=args.lose_post_response_mode,
            hang_seconds=args.hang_seconds,
            failure_rate=args.failure_rate,
            fail_granules=tuple(args.fail_granule),
            expire_products=args.expire_products,
            unavailable=args.unavailable,
        )
    except ValueError as error:
        raise UserError(f"invalid fault option: {error}") from None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _remove_if_ours(path: Path | None, text: str) -> None:
    if path is not None and path.exists() and path.read_text(encoding="utf-8") == text:
        path.unlink()


def run(args: argparse.Namespace) -> int:
    faults = _fault_config(args)
    users = (
        load_users_file(args.users, default_credits=args.credits)
        if args.users
        else [default_user(args.credits)]
    )
    temporary_state = None
    state_dir = args.state
    if state_dir is None:
        temporary_state = tempfile.TemporaryDirectory(prefix="hyp3-sandbox-")
        state_dir = Path(temporary_state.name)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    pid_text = f"{os.getpid()}\n"
    try:
        server = SandboxServer(
            state_dir,
            port=args.port,
            processing_seconds=args.processing_seconds,
            credits=args.credits,
            users=users,
            faults=faults,
            pending_seconds=args.pending_seconds,
            processing_spread_seconds=args.processing_spread,
            page_size=args.page_size,
            page_bytes=args.page_bytes,
            product_lifetime_days=args.product_lifetime_days,
            open_registration=args.open_registration,
            log_level=args.log_level,
            render_ahead=args.render_ahead,
        )
    except ValueError as error:
        raise UserError(f"invalid option: {error}") from None
    except (OSError, sqlite3.Error) as error:
        raise UserError(f"sandbox state {state_dir}: cannot use it ({error})") from None
    url = ""
    try:
        if args.pid_file:
            _write_atomically(args.pid_file, pid_text)
        server.start()
        url = server.base_url
        # The file first: a parent that saw the stdout line may look for the file at once.
        if args.url_file:
            _write_atomically(args.url_file, url + "\n")
        print(url, flush=True)
        who = (
            f"{len(users)} user(s) from {args.users}" if args.users else f"token {DEFAULT_TOKEN!r}"
        )
        print(
            f"{PROG}: HyP3 sandbox at {url} (state {state_dir}; {who}); Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
        _remove_if_ours(args.url_file, url + "\n")
        _remove_if_ours(args.pid_file, pid_text)
        if temporary_state is not None:
            temporary_state.cleanup()
    return 0


def build_truth_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} truth",
        description="Write the ground truth of the granules' track/frame on its full grid: "
        "velocity_mm_yr.tif (true LOS velocity, mm/yr, positive towards the sensor), "
        "observed_los_m.tif (per date: true LOS displacement plus atmosphere, metres) and "
        "dem_error_m.tif (true scatterer height minus the DEM's, metres).",
    )
    parser.add_argument("--looks", required=True, help="looks of the products (20x4, 10x2, 5x1)")
    parser.add_argument("--out-dir", type=Path, required=True, help="directory to write into")
    parser.add_argument("granules", nargs="+", metavar="GRANULE", help="scene or burst names")
    return parser


def truth_main(argv: list[str]) -> int:
    """``truth`` subcommand: write the ground truth GeoTIFFs and print their paths."""
    from insarflow.sandbox.granules import GranuleNameError
    from insarflow.sandbox.truth import write_truth

    args = build_truth_parser().parse_args(argv)
    try:
        paths = write_truth(args.granules, args.looks, args.out_dir)
    except (GranuleNameError, ValueError) as error:
        print(f"{PROG} truth: error: {error}", file=sys.stderr)
        return 2
    for path in paths.values():
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["truth"]:
        return truth_main(arguments[1:])
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except UserError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
