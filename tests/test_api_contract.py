"""The API keeps the promises of its own OpenAPI document (``core/api/openapi.json``).

schemathesis generates requests for every operation of the document (valid
ones and, in its negative mode, wrong ones: unknown IDs, bad query values,
wrong body types) and sends them over real HTTP to the running server on a
real port; every answer must be documented (status, content type, JSON
schema), and none may be a 5xx. Hypothesis runs derandomized with few
examples so the test is deterministic and fast enough for CI.

Before each case the mailbox is topped up (generated DELETEs empty it), so
``latest`` and the documented example IDs name real messages.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_helpers import ApiThread, png_bytes, rich_message, running_api
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from smtp_helpers import make_message

from mailcatcher_gui.core.api.application import ROUTE_MODULES
from mailcatcher_gui.core.api.routes_openapi import openapi_document

DOCUMENT = openapi_document()

# Operations documented now whose handlers live on branches not merged yet:
# the checks family (routes_checks, branch checks-net) and the app family
# (routes_app, branch api-server). Once a module is in ROUTE_MODULES its
# operations must be served.
_PENDING_MODULES = {
    "routes_checks": ("-check",),
    "routes_app": ("/api/v1/info", "/api/v1/webui", "/livez", "/readyz"),
}


def _served_by_other_branch(op: tuple[str, str]) -> bool:
    _method, path = op
    return any(
        module not in ROUTE_MODULES and any(marker in path for marker in markers)
        for module, markers in _PENDING_MODULES.items()
    )


PENDING_PATHS = [p for p in DOCUMENT["paths"] if _served_by_other_branch(("get", p))]
schema = schemathesis.openapi.from_dict(DOCUMENT)
if PENDING_PATHS:
    schema = schema.exclude(path=PENDING_PATHS)


def seed(api: ApiThread) -> None:
    """Keep a few messages around, one with an attachment and an inline image."""
    if api.mailbox.count() >= 3:
        return
    api.deliver(make_message(subject="Contract one"))
    api.deliver(rich_message())
    reply = api.request(
        "POST",
        "/api/v1/send",
        json={
            "From": {"Email": "a@example.com", "Name": "A"},
            "To": [{"Email": "b@example.com"}],
            "Subject": "Contract two",
            "Text": "text",
            "HTML": '<p>html <img src="cid:dot"></p>',
            "Attachments": [
                {"Content": "aGVsbG8=", "Filename": "hello.txt"},
                {
                    "Content": base64.b64encode(png_bytes(4, 4)).decode(),
                    "Filename": "dot.png",
                    "ContentID": "dot",
                },
            ],
        },
    )
    assert reply.status == 200, reply.text


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiThread]:
    with running_api(tmp_path_factory.mktemp("contract")) as handle:
        seed(handle)
        yield handle


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_the_documented_contract(case: Any, api: ApiThread) -> None:
    seed(api)
    # positive_data_acceptance is left out on purpose: a schema-valid request
    # may still be refused for what a schema cannot say (an address that is
    # not one, release with no relay configured), with a documented 400.
    case.call_and_validate(base_url=api.url, timeout=30, excluded_checks=[positive_data_acceptance])


def test_the_server_serves_the_same_document(api: ApiThread) -> None:
    reply = api.get("/api/v1/swagger.json")
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert reply.json() == DOCUMENT


def test_the_document_describes_every_route_and_nothing_else(api: ApiThread) -> None:
    """Each (method, path) the app routes is documented, and each documented one is routed."""
    routed: set[tuple[str, str]] = set()
    for route in api.server.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if route.method in ("HEAD", "OPTIONS") or not path or path.startswith("/api/events"):
            continue
        routed.add((route.method.lower(), _openapi_path(path)))
    documented = {
        (method, path)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }
    pending = {op for op in documented - routed if _served_by_other_branch(op)}
    assert routed - documented == set(), "routes missing from openapi.json"
    assert documented - routed - pending == set(), "documented operations nobody serves"


def test_extensions_are_marked() -> None:
    """Our own operations say so; Mailpit's do not."""
    marked = {
        path
        for path, item in DOCUMENT["paths"].items()
        for op in item.values()
        if op.get("x-mailcatcher-extension")
    }
    assert "/api/v1/message/{ID}/session" in marked
    assert "/api/v1/send" not in marked and "/api/v1/messages" not in marked


def _openapi_path(aiohttp_path: str) -> str:
    """``/api/v1/message/{id}/part/{part_id}`` -> ``/api/v1/message/{ID}/part/{PartID}``."""
    names = {"id": "ID", "part_id": "PartID", "partid": "PartID", "tag": "Tag", "part": "PartID"}
    out = aiohttp_path
    for ours, theirs in names.items():
        out = out.replace("{" + ours + "}", "{" + theirs + "}")
    return out
