"""Sandbox users: who may call the API, with which token, credits and application status."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from insarflow.errors import UserError

APPLICATION_STATUSES = ("NOT_STARTED", "PENDING", "APPROVED", "REJECTED")
DEFAULT_USER_NAME = "sandbox-user"
DEFAULT_TOKEN = "sandbox-token"

_USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9._@+-]{1,100}$"},
        "token": {"type": ["string", "null"], "minLength": 1},
        "password": {"type": ["string", "null"], "minLength": 1},
        "credits": {"type": ["number", "null"], "minimum": 0},
        "application_status": {"enum": list(APPLICATION_STATUSES)},
    },
}
_USERS_FILE_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "array", "items": _USER_SCHEMA},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["users"],
            "properties": {"users": {"type": "array", "items": _USER_SCHEMA}},
        },
    ]
}


@dataclass(frozen=True)
class SandboxUser:
    """One account: Bearer ``token`` (or HTTP Basic ``name``:``password``/``token``) selects it.

    ``credits`` is the monthly allotment and the starting balance (None = unlimited).
    """

    name: str
    token: str | None = None
    credits: float | None = 8000.0
    application_status: str = "APPROVED"
    password: str | None = None

    def __post_init__(self) -> None:
        try:
            jsonschema.validate({key: value for key, value in vars(self).items()}, _USER_SCHEMA)
        except jsonschema.ValidationError as error:
            field = ".".join(str(part) for part in error.absolute_path) or "user"
            raise UserError(f"sandbox user {self.name!r}: {field}: {error.message}") from None

    @classmethod
    def from_mapping(cls, data: dict[str, Any], default_credits: float | None) -> SandboxUser:
        values = dict(data)
        values.setdefault("credits", default_credits)
        return cls(**values)


def default_user(credits: float | None) -> SandboxUser:
    """The one user a sandbox has when none are configured: token ``sandbox-token``."""
    return SandboxUser(name=DEFAULT_USER_NAME, token=DEFAULT_TOKEN, credits=credits)


def load_users_file(path: Path, default_credits: float | None = 8000.0) -> list[SandboxUser]:
    """Read a YAML users file: a list (or ``users:`` list) of {name, token, credits,
    application_status, password}; credits default to ``default_credits``."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(f"sandbox users file {path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "cannot parse it"
        raise UserError(f"sandbox users file {path}: not valid YAML ({problem}{where})") from None
    try:
        jsonschema.validate(data, _USERS_FILE_SCHEMA)
    except jsonschema.ValidationError as error:
        best = jsonschema.exceptions.best_match([error, *error.context]) if error.context else error
        where = ".".join(str(part) for part in best.absolute_path) or "top level"
        raise UserError(
            f"sandbox users file {path}: {where}: {best.message}; expected a list of "
            "{name, token, credits, application_status, password}"
        ) from None
    entries = data["users"] if isinstance(data, dict) else data
    if not entries:
        raise UserError(f"sandbox users file {path}: lists no users; add at least one")
    users = [SandboxUser.from_mapping(entry, default_credits) for entry in entries]
    names = [user.name for user in users]
    tokens = [user.token for user in users if user.token]
    for label, values in (("name", names), ("token", tokens)):
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            shown = duplicates if label == "name" else [f"(token of {len(duplicates)} users)"]
            raise UserError(
                f"sandbox users file {path}: duplicate {label} {shown}; each must be unique"
            )
    return users
