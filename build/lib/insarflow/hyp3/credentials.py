"""Earthdata accounts for HyP3: from the environment or a private credentials file.

Secrets live only in memory: they are never written to config, params, logs, job records
or the ledger, and never passed as process arguments. Accounts are referred to by name.

Environment: ``EARTHDATA_TOKEN`` (optionally named by ``EARTHDATA_USERNAME``), or
``EARTHDATA_USERNAME`` with ``EARTHDATA_PASSWORD``.

Credentials file (YAML, mode 600, outside the repository)::

    accounts:
      - name: alice          # a token account
        token: eyJ0eXAi...
      - username: bob        # a username/password account (named by its username)
        password: ...
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from insarflow.errors import UserError

SANDBOX_DEMO_TOKEN = "sandbox-token"
SANDBOX_DEMO_ACCOUNT = "sandbox-demo"


@dataclass(frozen=True)
class Account:
    """One Earthdata account; ``repr`` never shows its secret."""

    name: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _from_environment(environ: Mapping[str, str]) -> list[Account]:
    token = environ.get("EARTHDATA_TOKEN", "").strip()
    username = environ.get("EARTHDATA_USERNAME", "").strip()
    password = environ.get("EARTHDATA_PASSWORD", "")
    if token:
        return [Account(name=username or "EARTHDATA_TOKEN", token=token)]
    if username and password:
        return [Account(name=username, username=username, password=password)]
    if username or password:
        raise UserError(
            "environment: EARTHDATA_USERNAME and EARTHDATA_PASSWORD must be set together "
            "(or set EARTHDATA_TOKEN)"
        )
    return []


def _from_file(path: Path) -> list[Account]:
    if not path.is_file():
        raise UserError(
            f"hyp3.credentials_file = '{path}' does not exist; create it (chmod 600) or unset it"
        )
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UserError(
            f"hyp3.credentials_file = '{path}' is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or error.__class__.__name__
        raise UserError(
            f"hyp3.credentials_file = '{path}' is not valid YAML{where} ({problem})"
        ) from None
    except OSError as error:
        raise UserError(
            f"hyp3.credentials_file = '{path}' cannot be read ({error.strerror}); "
            "make it readable by you (chmod 600)"
        ) from None
    entries = content.get("accounts") if isinstance(content, dict) else None
    if not isinstance(entries, list) or not entries:
        raise UserError(f"hyp3.credentials_file = '{path}' needs a non-empty `accounts:` list")
    accounts = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise UserError(
                f"{path}: account {number} is not a mapping; use name/token or username/password"
            )
        unknown = set(entry) - {"name", "token", "username", "password"}
        if unknown:
            raise UserError(
                f"{path}: account {number} has unknown key(s) {sorted(unknown)}; "
                "allowed: name, token, username, password"
            )
        token, username, password = entry.get("token"), entry.get("username"), entry.get("password")
        name = str(entry.get("name") or username or "")
        if token and name:
            accounts.append(Account(name=name, token=str(token)))
        elif username and password:
            accounts.append(Account(name=name, username=str(username), password=str(password)))
        else:
            raise UserError(
                f"{path}: account {number} needs `name` and `token`, or `username` and `password`"
            )
    names = [account.name for account in accounts]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UserError(
            f"{path}: account name(s) {duplicates} appear more than once; names must be unique"
        )
    return accounts


def load_accounts(
    credentials_file: str | None, *, sandbox: bool, environ: Mapping[str, str] | None = None
) -> list[Account]:
    """The credentials pool: file accounts first, then the environment's.

    Against the sandbox with no credentials at all, its built-in demo account is used so the
    demo runs on a fresh machine.
    """
    environ = os.environ if environ is None else environ
    accounts = _from_file(Path(credentials_file).expanduser()) if credentials_file else []
    for account in _from_environment(environ):
        if account.name not in {existing.name for existing in accounts}:
            accounts.append(account)
    if not accounts and sandbox:
        accounts = [Account(name=SANDBOX_DEMO_ACCOUNT, token=SANDBOX_DEMO_TOKEN)]
    if not accounts:
        raise UserError(
            "no Earthdata account: set EARTHDATA_TOKEN (or EARTHDATA_USERNAME and EARTHDATA_PASSWORD) "
            "or hyp3.credentials_file"
        )
    return accounts
