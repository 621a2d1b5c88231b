"""The HyP3 API spec as data: JSON-schema validators, parameter defaults and the credit cost table.

Everything here is loaded from the rendered production spec files in ``spec/`` (package data), so the
sandbox accepts and rejects exactly what those schemas describe instead of a re-typed copy.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jsonschema
import referencing
import referencing.jsonschema
import yaml

SPEC_DIR = Path(__file__).parent / "spec"
_BASE_URI = "https://hyp3-sandbox.invalid/spec/"
OPENAPI_URI = _BASE_URI + "openapi-spec.yml"
JOB_PARAMETERS_URI = _BASE_URI + "job_parameters.yml"


def openapi_nullable_to_json_schema(schema: Any) -> Any:
    """Rewrite OpenAPI 3.0 ``nullable: true`` into plain JSON Schema (``type: [T, "null"]``).

    OpenAPI 3.0 schemas are JSON Schema plus this one keyword that JSON Schema validators ignore;
    without the rewrite a ``null`` expiration_time or name would be rejected.
    """
    if isinstance(schema, list):
        return [openapi_nullable_to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: openapi_nullable_to_json_schema(value) for key, value in schema.items()}
    if converted.pop("nullable", False):
        if "type" in converted:
            types = (
                converted["type"] if isinstance(converted["type"], list) else [converted["type"]]
            )
            converted["type"] = [*types, "null"]
            if "enum" in converted and None not in converted["enum"]:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def to_decimal(value: Any) -> Any:
    """Floats to Decimals the way HyP3's DynamoDB layer does it (via ``str``), recursively."""
    if type(value) is float:
        return Decimal(str(value))
    if isinstance(value, list):
        return [to_decimal(item) for item in value]
    if isinstance(value, dict):
        return {key: to_decimal(item) for key, item in value.items()}
    return value


def to_json_number(value: Any) -> Any:
    """Decimals to JSON numbers like HyP3's encoder: whole values become ints (``10``, not ``10.0``)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [to_json_number(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json_number(item) for key, item in value.items()}
    return value


@dataclass(frozen=True, eq=False)
class HyP3Spec:
    """The loaded spec documents and what is derived from them."""

    openapi: dict[str, Any]
    job_parameters: dict[str, Any]
    costs: dict[str, Any]
    default_parameters: dict[str, dict[str, Any]]
    registry: referencing.Registry

    @property
    def job_types(self) -> list[str]:
        return list(self.job_parameters["components"]["schemas"]["job_type"]["enum"])

    def validator(self, component: str, document: str = "openapi") -> jsonschema.Draft4Validator:
        """A validator for ``#/components/schemas/<component>`` of one of the two spec documents."""
        return _validator(self, component, document)

    def parameter_validator(self, path: str, method: str, name: str) -> jsonschema.Draft4Validator:
        """A validator for one parameter of one operation, e.g. ``("/jobs", "get", "status_code")``."""
        for parameter in self.openapi["paths"][path][method]["parameters"]:
            if parameter["name"] == name:
                schema = parameter["schema"]
                if "$ref" in schema:
                    schema = {"$ref": urljoin(OPENAPI_URI, schema["$ref"])}
                return jsonschema.Draft4Validator(
                    schema, registry=self.registry, format_checker=jsonschema.FormatChecker()
                )
        raise KeyError(f"{method.upper()} {path} has no parameter {name}")

    def costs_response(self) -> dict[str, Any]:
        """``GET /costs`` body: the cost table with whole numbers as ints, as HyP3 serialises it."""
        return to_json_number(self.costs)

    def credit_cost(self, job_type: str, job_parameters: Mapping[str, Any]) -> Decimal:
        """Credits one job costs, looked up in the cost table like HyP3 does."""
        definition = self.costs[job_type]
        if "cost" in definition:
            return definition["cost"]
        lookup: Any = definition["cost_table"]
        for parameter in definition["cost_parameters"]:
            key = _cost_parameter_key(job_parameters[parameter])
            try:
                lookup = lookup[key]
            except KeyError:
                raise ValueError(
                    f"Cost not found for job type {job_type} with {parameter} == {key}"
                ) from None
        return lookup


def _cost_parameter_key(value: Any) -> str:
    # The cost table is keyed by strings: a list counts its items, a float drops its fraction.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value))
    if isinstance(value, list):
        return str(len(value))
    raise ValueError(f"unsupported cost parameter value {value!r}")


@functools.cache
def _validator(spec: HyP3Spec, component: str, document: str) -> jsonschema.Draft4Validator:
    base = OPENAPI_URI if document == "openapi" else JOB_PARAMETERS_URI
    schema = {"$ref": f"{base}#/components/schemas/{component}"}
    return jsonschema.Draft4Validator(
        schema, registry=spec.registry, format_checker=jsonschema.FormatChecker()
    )


def _read_yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((SPEC_DIR / name).read_text(encoding="utf-8"))


@functools.cache
def load_spec() -> HyP3Spec:
    """Load (once) the spec files shipped in ``insarflow/sandbox/spec``."""
    openapi = _read_yaml("openapi-spec.yml")
    job_parameters = _read_yaml("job_parameters.yml")
    resources = [
        (OPENAPI_URI, openapi_nullable_to_json_schema(copy.deepcopy(openapi))),
        (JOB_PARAMETERS_URI, openapi_nullable_to_json_schema(copy.deepcopy(job_parameters))),
    ]
    registry = referencing.Registry().with_resources(
        (uri, referencing.jsonschema.DRAFT4.create_resource(contents))
        for uri, contents in resources
    )
    costs = to_decimal(json.loads((SPEC_DIR / "costs_EDC.json").read_text(encoding="utf-8")))
    defaults = json.loads(
        (SPEC_DIR / "default_params_by_job_type.json").read_text(encoding="utf-8")
    )
    return HyP3Spec(
        openapi=openapi,
        job_parameters=job_parameters,
        costs=costs,
        default_parameters=defaults,
        registry=registry,
    )


def describe_error(error: jsonschema.ValidationError, prefix: str = "") -> str:
    """One line naming where a schema error is and what is wrong, e.g.
    ``jobs[0].job_parameters.looks: '5x1' is not one of ['20x4', '10x2']``."""
    location = prefix
    for part in error.absolute_path:
        location += (
            f"[{part}]" if isinstance(part, int) else (f".{part}" if location else str(part))
        )
    return f"{location}: {error.message}" if location else error.message


def iter_errors(
    validator: jsonschema.Draft4Validator, instance: Any
) -> Iterator[jsonschema.ValidationError]:
    """Schema errors in document order (the order a reader of the request would look for them)."""
    return iter(sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.path]))
