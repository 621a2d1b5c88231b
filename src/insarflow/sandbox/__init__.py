"""An offline HyP3: rehearse a HyP3 run without the network and without spending credits.

The sandbox is an HTTP server on 127.0.0.1 that answers every call hyp3_sdk and the insarflow
workflow make, closely enough that the unmodified ``hyp3_sdk.HyP3`` client works against it::

    from insarflow.sandbox import SandboxServer
    with SandboxServer(Path("sandbox-state"), processing_seconds=3) as server:
        hyp3 = hyp3_sdk.HyP3(api_url=server.base_url, token="sandbox-token")

or as a process (prints ``http://127.0.0.1:PORT`` as its first stdout line)::

    python -m insarflow.sandbox --port 0 --state sandbox-state --url-file url.txt

HyP3 API (same paths, schemas and messages as the real service; spec files in ``spec/``)
    GET  /costs                      cost table (no authentication)
    GET  /openapi.json               the HyP3 OpenAPI spec the sandbox validates against
    POST /jobs                       submit 1-200 jobs; charged from the production cost table
    GET  /jobs                       list the caller's jobs, newest first; filters user_id,
                                     status_code, name, job_type, start, end; pages of
                                     1 MB of jobs (``page_bytes``, as DynamoDB's query
                                     pages) with an absolute ``next`` URL
    PATCH /jobs                      rename up to 100 jobs
    GET  /jobs/{job_id}, PATCH /jobs/{job_id}
    GET  /user, PATCH /user          account: credits, application status, job names
    GET  /products/{job_id}/{filename}
                                     product zip, browse/thumbnail PNGs, failed-job log (no
                                     authentication, Content-Length, HTTP Range requests,
                                     HEAD); the URLs come in the jobs' files/browse_images/logs

    Authentication: ``Authorization: Bearer <token>``, HTTP Basic ``<name>:<password or token>``
    (what requests sends from a .netrc entry) or the ``asf-urs`` cookie. Every token is its own
    user with its own credits and application status. The state keeps SHA-256 digests of tokens
    and passwords, never the secrets.

Admin routes (no authentication; for tests and benchmarks that run the sandbox as a process)
    GET  /_sandbox/health                   {"status": "ok"}
    GET  /_sandbox/faults                   current FaultConfig (see ``FaultConfig``)
    POST /_sandbox/faults                   JSON with some FaultConfig fields to change;
                                            ``"reset": true`` first restores the defaults
    GET/POST /_sandbox/settings             processing_seconds, processing_spread_seconds,
                                            pending_seconds, page_size, page_bytes,
                                            product_lifetime_days, open_registration,
                                            default_credits
    GET  /_sandbox/stats                    {"requests": {"POST /jobs": n, "GET /jobs": n,
                                            "GET /jobs/{job_id}": n, "GET /user": n,
                                            "GET /products/{job_id}/{filename}": n,
                                            ...}, "responses": {"200": n, ...},
                                            "faults": {...}, "jobs": {"total", "PENDING", ...},
                                            "page_size": n, "page_bytes": n,
                                            "smallest_full_page": n, "uptime_seconds": s}
    POST /_sandbox/stats/reset              zero the request and fault counters
    GET  /_sandbox/users                    users (never their tokens or passwords)
    POST /_sandbox/users                    add or update a user {name, token, credits,
                                            application_status, password}
    POST /_sandbox/jobs/{job_id}/expire     force a job's expiration_time into the past

Jobs go PENDING -> RUNNING -> SUCCEEDED/FAILED on their own clock (``processing_seconds``, a fifth
of it pending, plus up to ``processing_spread_seconds`` fixed by the job id); statuses are derived from timestamps when asked, so stored jobs cost nothing.
Products are small, georeferenced, deterministic GeoTIFFs with a synthetic deformation signal,
a realistic troposphere (5-10 mm per date, correlated over kilometres), decorrelation noise and
unwrapping errors in a quarter of the pairs (amplitudes and sources: ``insarflow.sandbox.scene``),
rendered on first download and kept in the state directory. Each pair covers its own window of
one UTM grid per track, as real products differ in extent. The ground truth (true LOS velocity and
per-date observed LOS) can be exported to measure a time series::

    python -m insarflow.sandbox truth --looks 20x4 --out-dir DIR GRANULE...
    insarflow.sandbox.truth.write_truth(granules, looks, out_dir)
"""

from insarflow.sandbox.faults import FaultConfig
from insarflow.sandbox.server import SandboxServer
from insarflow.sandbox.service import SandboxSettings
from insarflow.sandbox.users import (
    DEFAULT_TOKEN,
    DEFAULT_USER_NAME,
    SandboxUser,
    default_user,
    load_users_file,
)

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER_NAME",
    "FaultConfig",
    "SandboxServer",
    "SandboxSettings",
    "SandboxUser",
    "default_user",
    "load_users_file",
]
