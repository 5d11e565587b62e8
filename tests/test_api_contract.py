"""The API keeps the promises of its own OpenAPI document (``core/api/openapi.json``).

schemathesis generates requests for every operation of the document (valid
ones and, in its negative mode, wrong ones: unknown IDs, bad query values,
wrong body types) and sends them over real HTTP to the running server on a
real port; every answer must be documented (status, content type, JSON
schema), and none may be a 5xx. Hypothesis runs derandomized with few
examples so the test is deterministic and fast enough for CI.

Before each case the newest message is made the seeded one again
(generated requests delete and send mail), so ``latest``, the documented
example ID, names a message with every kind of part, a tag and only
loopback links. Explicit tests add what generation rarely hits: oversized
bodies, hostile IDs and searches, bodies that are not JSON objects.
"""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_helpers import ApiThread, png_bytes, running_api
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from smtp_helpers import make_message, running_sink
from spamd_helpers import running_spamd, spamd_binary

from mailcatcher_gui.core.api.routes_openapi import openapi_document
from mailcatcher_gui.core.checks.model import CheckOptions
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.rules import RuleSet
from mailcatcher_gui.core.sending.profiles import RelayProfile
from mailcatcher_gui.core.sending.smtp import SmtpTransport
from mailcatcher_gui.core.store.database import Store

DOCUMENT = openapi_document()

schema = schemathesis.openapi.from_dict(DOCUMENT)


def seed(api: ApiThread) -> None:
    """Make the newest message (``latest``, the documented example ID) ours again.

    It has text, HTML, an attachment, an inline image (part 1.2.2), the tag
    ``contract``, and links that point only at loopback: the link check
    refuses those, so no test sends a packet or a DNS query off this
    machine, whatever the generated requests did before.
    """
    newest = api.mailbox.list(limit=1)
    if newest and newest[0].subject == SEED_SUBJECT and "contract" in newest[0].tags:
        return
    if api.mailbox.count() == 0:
        api.deliver(make_message(subject="Contract one"))
    reply = api.request(
        "POST",
        "/api/v1/send",
        json={
            "From": {"Email": "a@example.com", "Name": "A"},
            "To": [{"Email": "b@example.com"}],
            "Subject": SEED_SUBJECT,
            "Text": "text http://127.0.0.1:9/text",
            "HTML": '<p><a href="http://127.0.0.1:9/">html</a> <img src="cid:dot"></p>',
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


SEED_SUBJECT = "Contract two"
SPAMD = spamd_binary() is not None


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiThread]:
    """The API with a relay configured (a second real sink on loopback, port 0) and,
    where spamd is installed (CI installs it), a real spamd for ``sa-check``."""
    relay_box = Mailbox(Store(tmp_path_factory.mktemp("relay") / "mail.sqlite3"))
    try:
        with contextlib.ExitStack() as stack:
            spamd = stack.enter_context(running_spamd()) if SPAMD else None
            relay = stack.enter_context(running_sink(relay_box))
            profile = RelayProfile(name="relay", host=relay.host, port=relay.port, helo_name="t")
            # no DNS: DKIM keys are not looked up (nothing leaves this machine)
            options = CheckOptions(resolve_dns=False, spamassassin=spamd)
            handle = stack.enter_context(
                running_api(
                    tmp_path_factory.mktemp("contract"),
                    relay_transport=lambda: SmtpTransport(profile),
                    max_body=MAX_BODY,
                    extras={"check_options": options, "rules": RuleSet()},
                )
            )
            seed(handle)
            yield handle
    finally:
        relay_box.close()


MAX_BODY = 1024 * 1024
NETWORK_OPERATIONS = ("/link-check", "/checks")


@pytest.fixture
def statuses() -> Iterator[dict[str, set[int]]]:
    """The statuses one operation's generated requests got (one set per operation:
    pytest sets a function fixture up once per item, not per Hypothesis example).

    On teardown: the requests did reach the real handler, not only its 404s
    and 400s. Self-contained per operation, so it holds under pytest-xdist too.
    """
    seen: dict[str, set[int]] = {}
    yield seen
    assert seen, "no request was sent"
    for operation, codes in seen.items():
        if operation.endswith("/sa-check") and not SPAMD:
            continue  # 400 "no SpamAssassin service defined" is then the right answer
        assert any(code < 300 for code in codes), f"{operation}: only {sorted(codes)}"


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_the_documented_contract(
    case: Any, api: ApiThread, statuses: dict[str, set[int]]
) -> None:
    seed(api)
    if case.operation.path.endswith(NETWORK_OPERATIONS):
        # Only our seeded message (loopback links) may be link-checked: a
        # generated one could name a real host.
        case.path_parameters = {**(case.path_parameters or {}), "ID": "latest"}
    # positive_data_acceptance is left out on purpose: a schema-valid request
    # may still be refused for what a schema cannot say (an address that is
    # not one, release with no relay configured), with a documented 400.
    response = case.call_and_validate(
        base_url=api.url, timeout=30, excluded_checks=[positive_data_acceptance]
    )
    if case.operation.path.endswith(NETWORK_OPERATIONS):
        assert response.request.url.startswith(f"{api.url}/api/v1/message/latest/")
    statuses.setdefault(case.operation.label, set()).add(response.status_code)


def test_the_server_serves_the_same_document(api: ApiThread) -> None:
    reply = api.get("/api/v1/swagger.json")
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert reply.json() == DOCUMENT


def route_gaps(app: Any, document: dict[str, Any]) -> tuple[set[Any], set[Any]]:
    """(routed but not documented, documented but not routed) as (method, path) pairs."""
    routed: set[tuple[str, str]] = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if route.method in ("HEAD", "OPTIONS") or not path or path.startswith("/api/events"):
            continue
        routed.add((route.method.lower(), _openapi_path(path)))
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }
    return routed - documented, documented - routed


def test_the_document_describes_every_route_and_nothing_else(api: ApiThread) -> None:
    """Each (method, path) the app routes is documented, and each documented one is routed."""
    assert route_gaps(api.server.app, DOCUMENT) == (set(), set())
    # ... and the comparison does notice a gap either way
    fewer = {
        **DOCUMENT,
        "paths": {k: v for k, v in DOCUMENT["paths"].items() if k != "/api/v1/send"},
    }
    assert route_gaps(api.server.app, fewer) == ({("post", "/api/v1/send")}, set())
    more = {**DOCUMENT, "paths": {**DOCUMENT["paths"], "/api/v1/nowhere": {"get": {}}}}
    assert route_gaps(api.server.app, more) == (set(), {("get", "/api/v1/nowhere")})


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
