"""One OpenAPI 3.1 contract for every route, with one source for each part of it.

drf-spectacular generates the staff API from the DRF views. The plain Django views (ingest, the
staff test run, public links, health, metrics) are invisible to it, so they are described by
hand in `spec/contracts/src/plain-views.yaml`, and `add_plain_routes`, a drf-spectacular
postprocessing hook, merges that fragment into the generated document. The hook runs for
`/api/schema/` and for `manage.py spectacular` alike, so what is served and what is committed
(`spec/contracts/openapi.yaml`) are the same document. What the code already states is not
restated in the fragment: the error answers of ingest and the test run, with every
`failure_reason` per status, are built here from `ingest.errors.STATUS_FOR_REASON`.

The committed document is versioned (SemVer, 1.x) in `spec/contracts/VERSION.json` with the
SHA-256 of the file; `manage.py contract --bump minor|patch|major` is the one way to change it.
"""

import copy
import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from ingest.errors import STATUS_FOR_REASON
from slots.models import slot_ids

CONTRACT_DIR = Path(settings.BASE_DIR) / "spec/contracts"
OPENAPI_FILE = CONTRACT_DIR / "openapi.yaml"
VERSION_FILE = CONTRACT_DIR / "VERSION.json"
FRAGMENT_FILE = CONTRACT_DIR / "src/plain-views.yaml"
BUMP_COMMAND = "python manage.py contract --bump minor"
BUMP_HINT = (
    f"run `{BUMP_COMMAND}` (patch for a fix that changes no shape, major for a breaking change) "
    "and commit spec/contracts/openapi.yaml with spec/contracts/VERSION.json"
)

# Answered by ingest.asgi.BodyLimitMiddleware before Django runs (a declared or an actual body
# over the limit, a body that trickles in past UPLOAD_READ_TIMEOUT_SECONDS).
ASGI_FAILURES = {"payload_too_large": 413, "request_timeout": 408}
# Ingest checks the staff test run skips: it takes no password, no `hash`, no Idempotency-Key.
INGEST_ONLY = {
    "invalid_password",
    "hash_mismatch",
    "throttled",
    "password_check_busy",
    "idempotency_key_reused",
}
# Answers any route may give before (or instead of) its view: control characters in the path or
# query and an oversized request head (core.asgi), a database that went away (core.errors).
SITE_FAILURES = {
    400: ("bad_request", "control characters in the path or query (answered before Django)"),
    431: ("request_header_fields_too_large", "the request head is over the server's limit"),
    503: ("database_unavailable", "the database is unreachable; retry after `Retry-After`"),
}
# The test run's own refusals (core.auth.astaff_only).
STAFF_FAILURES = {"not_authenticated": 401, "forbidden": 403, "csrf_failed": 403}


def failure_table(operation: str) -> dict[int, list[str]]:
    """Status → the failure_reason values `operation` ("ingest" or "test_run") answers with."""
    table = {**STATUS_FOR_REASON, **ASGI_FAILURES}
    if operation == "test_run":
        table = {r: s for r, s in table.items() if r not in INGEST_ONLY} | STAFF_FAILURES
    by_status: dict[int, list[str]] = defaultdict(list)
    for reason, status in table.items():
        by_status[status].append(reason)
    return {status: sorted(reasons) for status, reasons in sorted(by_status.items())}


def add_plain_routes(result: dict, generator, request, public: bool) -> dict:
    """drf-spectacular postprocessing hook: the fragment's routes and components, merged."""
    fragment = yaml.safe_load(FRAGMENT_FILE.read_text(encoding="utf-8"))
    components = result.setdefault("components", {})
    for section, items in fragment["components"].items():
        components.setdefault(section, {}).update(items)
    paths = {**result.get("paths", {}), **fragment["paths"]}
    for item in paths.values():
        for operation in item.values():
            if "x-failure-reasons" in operation:
                _add_failures(operation, operation.pop("x-failure-reasons"), components)
    paths["/ingest/{slot_id}"] = _short_alias(paths["/api/ingest/{slot_id}"])
    for item in paths.values():
        for operation in item.values():
            _add_site_failures(operation)
    _name_the_slots(paths, components)
    result["paths"] = dict(sorted(paths.items()))
    result["info"]["version"] = recorded_version()["version"]
    return result


def _add_failures(operation: dict, kind: str, components: dict) -> None:
    for status, reasons in failure_table(kind).items():
        name = f"{_camel(kind)}Failure{status}"
        components["schemas"][name] = {
            "allOf": [
                {"$ref": "#/components/schemas/FailureBody"},
                {"properties": {"failure_reason": {"enum": reasons}}},
            ]
        }
        operation["responses"][str(status)] = {
            "description": ", ".join(f"`{reason}`" for reason in reasons),
            "headers": _failure_headers(status),
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }


def _add_site_failures(operation: dict) -> None:
    """Site-wide failures an operation does not document yet, each as the shared error body."""
    for status, (reason, why) in SITE_FAILURES.items():
        if str(status) in operation["responses"]:
            continue
        body = {"$ref": "#/components/schemas/FailureBody"}
        answer = {
            "description": f"`{reason}`: {why}",
            "content": {"application/json": {"schema": body}},
        }
        if status == 503:
            answer["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
        operation["responses"][str(status)] = answer


def _failure_headers(status: int) -> dict:
    headers = {"X-Job-Id": {"$ref": "#/components/headers/X-Job-Id"}}
    if status in (429, 503):  # seats (429) and a provider's quota wait (503 `quota`)
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    return headers


def _name_the_slots(paths: dict, components: dict) -> None:
    """Every `slot_id` parameter takes one of the 15 fixed slot ids (slots.models.slot_ids)."""
    schema = {"type": "string", "enum": slot_ids()}
    components["parameters"]["SlotId"]["schema"] = schema
    for item in paths.values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "slot_id" and parameter.get("in") == "path":
                    parameter["schema"] = schema


def _short_alias(item: dict) -> dict:
    alias = copy.deepcopy(item)
    alias["post"]["operationId"] += "_short"
    alias["post"]["summary"] = "The same endpoint at the short address the brief names"
    return alias


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def recorded_version() -> dict[str, str]:
    """VERSION.json: {"version": the contract's SemVer, "sha256": openapi.yaml's digest}."""
    return json.loads(VERSION_FILE.read_text(encoding="utf-8"))


def digest(document: bytes) -> str:
    return hashlib.sha256(document).hexdigest()


def bumped(version: str, part: str) -> str:
    major, minor, patch = (int(number) for number in version.split("."))
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def contract_problems(document: bytes, record: dict[str, Any]) -> list[str]:
    """Why the committed `document` and its VERSION.json `record` disagree; [] when they agree."""
    if digest(document) == record["sha256"]:
        return []
    stated = (yaml.safe_load(document) or {}).get("info", {}).get("version")
    if stated == record["version"]:
        return [
            f"spec/contracts/openapi.yaml changed but its version is still {stated} "
            f"(VERSION.json records another digest for it): {BUMP_HINT}"
        ]
    return [
        f"spec/contracts/openapi.yaml says version {stated} but VERSION.json records "
        f"{record['version']} with another digest: {BUMP_HINT}"
    ]
