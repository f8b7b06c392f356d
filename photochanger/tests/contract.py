"""Checks an answer against the committed contract, spec/contracts/openapi.yaml.

The status must be documented for the operation, the content type among the documented ones,
a JSON body valid against its schema (JSON Schema 2020-12, formats checked), and every header
the contract marks required present and valid.
"""

import functools
import json
from collections.abc import Mapping
from typing import Any

import jsonschema
import yaml
from asgiref.sync import async_to_sync

from photochanger.openapi import OPENAPI_FILE


@functools.cache
def contract() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = contract()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _validate(schema: dict[str, Any], instance: Any, what: str) -> None:
    # Refs are "#/components/...": resolved against a root that carries the components.
    root = {**schema, "components": contract()["components"]}
    validator = jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{what} breaks the contract: {errors[0].message} at {list(errors[0].path)}"


def assert_conforms(
    method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """The documented response `status` of `method path` (a path template) matched the answer.

    `headers` with lower-case names. Returns the parsed JSON body (or {} for other content).
    """
    operation = contract()["paths"][path][method.lower()]
    documented = operation["responses"]
    what = f"{method.upper()} {path} → {status}"
    assert str(status) in documented, f"{what} is not documented (has {sorted(documented)})"
    response = _resolve(documented[str(status)])
    content_type = headers.get("content-type", "").split(";")[0].strip()
    assert content_type in response.get("content", {}), f"{what} answered {content_type!r}"
    for name, header in response.get("headers", {}).items():
        header = _resolve(header)
        value = headers.get(name.lower())
        if header.get("required"):
            assert value is not None, f"{what} lacks the {name} header"
        if value is not None and "schema" in header:
            typed = int(value) if header["schema"].get("type") == "integer" else value
            _validate(header["schema"], typed, f"{what} header {name}")
    if content_type != "application/json":
        return {}
    parsed = json.loads(body)
    _validate(response["content"][content_type]["schema"], parsed, f"{what} body")
    return parsed


def assert_response_conforms(method: str, path: str, response) -> dict[str, Any]:
    """assert_conforms for a Django test client response."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    body = _streamed(response) if response.streaming else response.content
    return assert_conforms(method, path, response.status_code, headers, body)


def _streamed(response) -> bytes:
    """The body of a streaming answer, whose chunks may come from an async iterator."""
    if hasattr(response.streaming_content, "__aiter__"):

        async def collect() -> bytes:
            return b"".join([chunk async for chunk in response.streaming_content])

        return async_to_sync(collect)()
    return b"".join(response.streaming_content)
