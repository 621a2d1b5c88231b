"""Configuration: one validation against the schema (one-line messages, defaults filled in),
and the pairs a config selects."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from insarflow.errors import UserError
from insarflow.multiburst import JOB_TYPE as MULTI_BURST_JOB_TYPE
from insarflow.multiburst import select_multi_burst_pairs
from insarflow.pairs import Pair, read_pair_table, scene_list_network

# A link to config/schemas/config.schema.yaml (the one source), copied into wheels as package
# data, so a non-editable install finds it too.
SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")


def load_schema(path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    with open(path) as handle:
        return yaml.safe_load(handle)


@functools.cache
def _packaged_schema() -> dict[str, Any]:
    return load_schema()


def schema_defaults(*keys: str) -> dict[str, Any]:
    """The defaults of the object setting at ``keys`` (e.g. ``"isce", "step_resources",
    "default"``), from the schema: for code that gets settings a config did not fill."""
    schema = _packaged_schema()
    for key in keys:
        schema = schema["properties"][key]
    return {name: copy.deepcopy(prop["default"]) for name, prop in schema["properties"].items()}


def _key_path(error: ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def _describe(error: ValidationError) -> str:
    key = _key_path(error)
    value = error.instance
    schema = error.schema
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        unknown = sorted(set(value) - set(allowed))
        prefix = f"{key}." if error.absolute_path else ""
        return f"unknown key '{prefix}{unknown[0]}'; allowed keys here: {', '.join(allowed)}"
    if error.validator == "enum":
        return f"{key} = {value!r} is not allowed; allowed: {', '.join(map(repr, schema['enum']))}"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        bounds = (
            f"between {low} and {high}"
            if low is not None and high is not None
            else (f"at least {low}" if low is not None else f"at most {high}")
        )
        return f"{key} = {value!r} is out of range; allowed: {bounds}"
    if error.validator == "type":
        expected = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return f"{key} = {value!r} has the wrong type; allowed: {' or '.join(expected)}"
    if error.validator == "pattern" and "propertyNames" in error.schema_path:
        # jsonschema reports a bad key name at the parent object's path.
        return f"{key} has a bad key {value!r}; keys must match {schema['pattern']}"
    if error.validator == "pattern":
        hint = schema.get("description", "").rstrip(".")
        return f"{key} = {value!r} does not match {schema['pattern']}" + (
            f" ({hint})" if hint else ""
        )
    if error.validator in ("minItems", "maxItems"):
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        allowed = f"exactly {low}" if low == high else f"{low} to {high if high else 'any'}"
        return f"{key} = {value!r} has {len(value)} item(s); allowed: {allowed} items"
    if error.validator == "propertyNames":
        return f"{key} has a bad key {value!r}: {error.message}"
    return f"{key} = {value!r}: {error.message}"


# Keys renamed in this release: old name -> new name. The old one keeps working for a release.
RENAMED_KEYS = {("hyp3", "max_workers"): ("hyp3", "max_downloads")}


def apply_renamed_keys(config: dict[str, Any]) -> list[str]:
    """Move values of renamed keys to their new names; one deprecation notice per key used."""
    notices = []
    for (section, old), (_, new) in RENAMED_KEYS.items():
        block = config.get(section)
        if isinstance(block, dict) and old in block:
            block[new] = block.pop(old)
            notices.append(
                f"insarflow: {section}.{old} is deprecated and will be removed; "
                f"it is now {section}.{new} (same meaning)"
            )
    return notices


def _fill_defaults(
    validator: Any, properties: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, dict):
        for name, subschema in properties.items():
            if "default" in subschema:
                # a copy: the config must never share (and later change) the schema's objects
                instance.setdefault(name, copy.deepcopy(subschema["default"]))
    yield from Draft202012Validator.VALIDATORS["properties"](
        validator, properties, instance, schema
    )


_DefaultingValidator = validators.extend(Draft202012Validator, {"properties": _fill_defaults})


def check_config(config: dict[str, Any], schema: Mapping[str, Any] | None = None) -> None:
    """Validate ``config`` against the schema and fill in its defaults, in one pass; raise
    UserError with one line per problem (key, bad value, what is allowed)."""
    schema = schema if schema is not None else load_schema()
    validator = _DefaultingValidator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = [f"config: {_describe(_deepest(error))}" for error in errors]
    hyp3 = config.get("hyp3") or {}
    if (
        not problems
        and hyp3.get("looks") == "5x1"
        and hyp3.get("job_type", "INSAR_GAMMA") == "INSAR_GAMMA"
    ):
        problems.append(
            "config: hyp3.looks = '5x1' is only for INSAR_ISCE_BURST; "
            "allowed for INSAR_GAMMA: '20x4', '10x2'"
        )
    if not problems and not config.get("pairs") and not config.get("scenes"):
        problems.append(
            "config: pairs and scenes are both empty; set `pairs` (a TSV) or `scenes` (a list)"
        )
    if problems:
        raise UserError("\n".join(dict.fromkeys(problems)))


def _deepest(error: ValidationError) -> ValidationError:
    # For oneOf/anyOf the most specific sub-error names the real culprit.
    while error.context:
        error = min(error.context, key=lambda sub: -len(sub.absolute_path))
    return error


def select_pairs(config: Mapping[str, Any]) -> list[Pair]:
    """The pairs a validated config asks for: the pair table, else a network from the scene list."""
    if config["processor"] != "isce" and config["hyp3"]["job_type"] == MULTI_BURST_JOB_TYPE:
        return select_multi_burst_pairs(config)  # type: ignore[return-value]
    if config.get("pairs"):
        pairs = read_pair_table(config["pairs"])
    else:
        pairs = scene_list_network(config["scenes"], config["connections"])
    processors = {"hyp3", "isce"} if config["processor"] == "both" else {config["processor"]}
    if "hyp3" in processors:
        kinds = {"INSAR_GAMMA": "slc", "INSAR_ISCE_BURST": "burst"}
        job_type = config["hyp3"]["job_type"]
        wanted = kinds[job_type]
        if pairs[0].kind != wanted:
            raise UserError(
                f"pairs are {pairs[0].kind} pairs but hyp3.job_type {job_type} needs "
                f"{'SLC scene names' if wanted == 'slc' else 'burst names'}"
            )
    if "isce" in processors and pairs[0].kind == "burst":
        raise UserError(
            "pairs are burst pairs but ISCE2 topsStack needs SLC scene names or dates YYYYMMDD"
        )
    return pairs
