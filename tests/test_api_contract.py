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
import io
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_helpers import ApiThread, png_bytes, rich_message, running_api
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from smtp_helpers import make_message, running_sink

from mailcatcher_gui.core.api.application import ROUTE_MODULES
from mailcatcher_gui.core.api.routes_openapi import openapi_document
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.sending.profiles import RelayProfile
from mailcatcher_gui.core.sending.smtp import SmtpTransport
from mailcatcher_gui.core.store.database import Store

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
            "Tags": ["contract"],
        },
    )
    assert reply.status == 200, reply.text


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiThread]:
    """The API with a relay configured: a second real sink on loopback, port 0."""
    relay_box = Mailbox(Store(tmp_path_factory.mktemp("relay") / "mail.sqlite3"))
    try:
        with running_sink(relay_box) as relay:
            profile = RelayProfile(name="relay", host=relay.host, port=relay.port, helo_name="t")
            with running_api(
                tmp_path_factory.mktemp("contract"),
                relay_transport=lambda: SmtpTransport(profile),
                max_body=MAX_BODY,
            ) as handle:
                seed(handle)
                yield handle
    finally:
        relay_box.close()


MAX_BODY = 1024 * 1024

#: (method, documented path) -> every status the generated requests got
STATUSES: dict[tuple[str, str], set[int]] = {}


@schema.parametrize()
@settings(
    max_examples=25,
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


# ---- explicit hostile requests, on top of what schemathesis generates ----------------


def _operations(*, with_body: bool | None = None) -> list[tuple[str, str]]:
    out = []
    for path, item in DOCUMENT["paths"].items():
        if path in PENDING_PATHS:
            continue
        for method, op in item.items():
            if with_body is None or ("requestBody" in op) == with_body:
                out.append((method.upper(), path))
    return out


def _concrete(path: str, message_id: str = "latest") -> str:
    return (
        path.replace("{ID}", message_id).replace("{PartID}", "1.2.2").replace("{Tag}", "contract")
    )


def assert_json_error(reply: Any, *statuses: int) -> None:
    assert reply.status in statuses, (reply.status, reply.text[:300])
    assert reply.content_type == "application/json", reply.content_type
    error = reply.json()["Error"]
    assert isinstance(error, str) and error and "Traceback" not in error


@pytest.mark.parametrize(("method", "path"), _operations(with_body=True))
def test_an_oversized_body_is_a_json_413(api: ApiThread, method: str, path: str) -> None:
    seed(api)
    before = api.mailbox.count()
    big = b'{"Text": "' + b"x" * (MAX_BODY + 10) + b'"}'
    reply = api.request(
        method,
        _concrete(path),
        data=io.BytesIO(big),  # type: ignore[arg-type]
        headers={"Content-Type": "application/json"},
    )
    assert_json_error(reply, 413)
    assert api.mailbox.count() == before


@pytest.mark.parametrize(
    "message_id", ["0", "999999999", "99999999999999999999999", "abc", "-1", "1e3", "%00", "١٢"]
)
@pytest.mark.parametrize(
    ("method", "path"), [op for op in _operations() if "{ID}" in op[1]], ids=str
)
def test_an_unknown_message_id_is_a_json_404(
    api: ApiThread, method: str, path: str, message_id: str
) -> None:
    seed(api)
    body = {"To": ["someone@example.com"]} if method == "POST" else None
    reply = api.request(method, _concrete(path, message_id), json=body)
    assert_json_error(reply, 404)


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "before:not-a-date",
        "after:2024-13-45",
        "larger:lots",
        "smaller:-1",
        "tag:",
        "from:" + "a" * 5000,
        "subject:\x00",
        "(((",
        "is:nonsense",
    ],
)
def test_a_hostile_search_is_an_answer_or_a_json_400_never_a_500(
    api: ApiThread, query: str
) -> None:
    seed(api)
    reply = api.get("/api/v1/search", params={"query": query})
    if reply.status == 200:
        assert isinstance(reply.json()["messages"], list)
    else:
        assert_json_error(reply, 400)
    bad_tz = api.get("/api/v1/search", params={"query": "hello", "tz": "Mars/Olympus"})
    assert_json_error(bad_tz, 400)


@pytest.mark.parametrize(("method", "path"), _operations(with_body=True))
@pytest.mark.parametrize("data", [b"{", b"[]", b"null", b'"x"', b"\xff"], ids=repr)
def test_a_body_that_is_not_a_json_object_is_a_json_400(
    api: ApiThread, method: str, path: str, data: bytes
) -> None:
    seed(api)
    before = api.mailbox.count()
    reply = api.request(
        method, _concrete(path), data=data, headers={"Content-Type": "application/json"}
    )
    assert_json_error(reply, 400)
    assert api.mailbox.count() == before
