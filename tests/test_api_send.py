"""``POST /api/v1/send`` and ``POST /api/v1/message/{ID}/release`` over a real server.

Every request is real HTTP to the API on a real socket (``api_helpers``),
over a real Mailbox on a SQLite file; release goes through a real SMTP
client to a second real sink on port 0, which must receive the exact bytes.
"""

from __future__ import annotations

import base64
import email
import email.policy
from pathlib import Path

import pytest
from api_helpers import running_api
from smtp_helpers import free_port, make_message, running_sink

from mailcatcher_gui.core.sending.profiles import RelayProfile
from mailcatcher_gui.core.sending.smtp import SmtpTransport

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def full_request() -> dict:
    return {
        "From": {"Email": "john@example.com", "Name": "John Doe"},
        "To": [{"Email": "jane@example.com", "Name": "Jane, Doe"}, {"Email": "bob@example.com"}],
        "Cc": [{"Email": "manager@example.com", "Name": "Manager"}],
        "Bcc": ["hidden@example.com"],
        "ReplyTo": [{"Email": "secretary@example.com", "Name": "Secretary"}],
        "Subject": "Grüße via the HTTP API",
        "Text": "Plain body",
        "HTML": '<p>HTML body <img src="cid:logo"></p>',
        "Attachments": [
            {"Content": base64.b64encode(b"a,b\r\n1,2\r\n").decode(), "Filename": "data.csv"},
            {
                "Content": "data:image/png;base64," + base64.b64encode(PNG).decode(),
                "Filename": "logo.png",
                "ContentType": "image/png",
                "ContentID": "logo",
            },
        ],
        "Headers": {"X-IP": "1.2.3.4", "X-Mailer": "api-test"},
    }


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_send_stores_the_message_and_returns_its_id(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        reply = api.request("POST", "/api/v1/send", json=full_request())
        assert reply.status == 200, reply.text
        assert reply.content_type == "application/json"
        new_id = reply.json()["ID"]
        assert isinstance(new_id, str) and new_id.isdigit()
        stored = api.mailbox.get_stored(int(new_id))
        msg = parse(stored.raw)
        assert msg["From"] == "John Doe <john@example.com>"
        assert msg["To"] == '"Jane, Doe" <jane@example.com>, bob@example.com'
        assert msg["Cc"] == "Manager <manager@example.com>"
        assert msg["Reply-To"] == "Secretary <secretary@example.com>"
        assert msg["Subject"] == "Grüße via the HTTP API"
        assert msg["X-IP"] == "1.2.3.4" and msg["X-Mailer"] == "api-test"
        assert "Bcc" not in msg and b"hidden@example.com" not in stored.raw
        assert set(stored.summary.envelope_to) == {
            "jane@example.com",
            "bob@example.com",
            "manager@example.com",
            "hidden@example.com",
        }
        assert stored.summary.envelope_from == "john@example.com"
        assert msg.get_body(("plain",)).get_content().strip() == "Plain body"  # type: ignore[union-attr]
        parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
        assert parts["data.csv"].get_content() in (b"a,b\r\n1,2\r\n", "a,b\r\n1,2\r\n")
        logo = parts["logo.png"]
        assert logo.get_content() == PNG
        assert logo["Content-ID"] == "<logo>"
        assert logo.get_content_disposition() == "inline"


def test_send_minimal_text_message(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        reply = api.request(
            "POST",
            "/api/v1/send",
            json={"From": {"Email": "a@example.com"}, "To": [{"Email": "b@example.com"}]},
        )
        assert reply.status == 200, reply.text
        stored = api.mailbox.get_stored(int(reply.json()["ID"]))
        assert parse(stored.raw)["From"] == "a@example.com"
        assert api.mailbox.count() == 1


def test_send_html_only(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        reply = api.request(
            "POST",
            "/api/v1/send",
            json={
                "From": {"Email": "a@example.com"},
                "To": [{"Email": "b@example.com"}],
                "HTML": "<b>only html</b>",
            },
        )
        assert reply.status == 200, reply.text
        msg = parse(api.mailbox.raw(int(reply.json()["ID"])))
        assert msg.get_content_type() == "text/html"


def req(**fields: object) -> dict:
    """A valid minimal request with ``fields`` replaced (``None`` removes one)."""
    body = {"From": {"Email": "a@x.org"}, "To": [{"Email": "b@x.org"}], **fields}
    return {k: v for k, v in body.items() if v is not None}


INJECT = "hi\r\nBcc: evil@x.org"
BAD_REQUESTS = [
    ("no From", req(From=None), "From is required"),
    ("From not an object", req(From="a@example.com"), "From"),
    ("empty From", req(From={"Email": ""}), "Email is empty"),
    ("bad To address", req(To=[{"Email": "not an address"}]), "To"),
    ("two addresses in one Email", req(To=[{"Email": "b@x.org, c@x.org"}]), "exactly one"),
    ("bad Bcc", req(To=None, Bcc=["nope"]), "Bcc"),
    ("no recipients", req(To=None), "no recipients"),
    ("subject injection", req(Subject=INJECT), "line break"),
    ("name injection", req(From={"Email": "a@x.org", "Name": INJECT}), "line break"),
    ("header value injection", req(Headers={"X-A": INJECT}), "line break"),
    ("reserved header", req(Headers={"Bcc": "evil@x.org"}), "not allowed"),
    ("header not a string", req(Headers={"X-A": 1}), "must be a string"),
    ("bad base64", req(Attachments=[{"Content": "!!no!!", "Filename": "a.bin"}]), "base64"),
    ("attachment without name", req(Attachments=[{"Content": "YQ=="}]), "Filename"),
    (
        "inline without HTML",
        req(Attachments=[{"Content": "YQ==", "Filename": "a.png", "ContentID": "a"}]),
        "HTML",
    ),
    ("To not a list", req(To="b@x.org"), "To must be an array"),
    ("Tags not strings", req(Tags=[1]), "Tags"),
    ("X-Tags header with Tags", req(Tags=["a"], Headers={"x-tags": "b"}), "X-Tags"),
]


@pytest.mark.parametrize(("case", "body", "words"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_send_refuses_bad_input_and_stores_nothing(
    tmp_path: Path, case: str, body: dict, words: str
) -> None:
    with running_api(tmp_path) as api:
        reply = api.request("POST", "/api/v1/send", json=body)
        assert reply.status == 400, (case, reply.status, reply.text)
        assert reply.content_type == "application/json"
        assert words in reply.json()["Error"], reply.json()
        assert api.mailbox.count() == 0


@pytest.mark.parametrize(
    "data", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"From": '], ids=repr
)
def test_send_refuses_bodies_that_are_not_a_json_object(tmp_path: Path, data: bytes) -> None:
    with running_api(tmp_path) as api:
        reply = api.request(
            "POST", "/api/v1/send", data=data, headers={"Content-Type": "application/json"}
        )
        assert reply.status == 400, reply.text
        assert reply.json()["Error"]
        assert api.mailbox.count() == 0


def test_send_refuses_an_oversized_body_with_a_json_413(tmp_path: Path) -> None:
    with running_api(tmp_path, max_body=4096) as api:
        big = {
            "From": {"Email": "a@x.org"},
            "To": [{"Email": "b@x.org"}],
            "Text": "x" * 10_000,
        }
        reply = api.request("POST", "/api/v1/send", json=big)
        assert reply.status == 413
        assert reply.json()["Error"]
        assert api.mailbox.count() == 0
        small = {**big, "Text": "x" * 100}
        assert api.request("POST", "/api/v1/send", json=small).status == 200


def test_send_is_refused_on_a_read_only_mailbox(tmp_path: Path) -> None:
    with running_api(tmp_path, read_only=True) as api:
        reply = api.request(
            "POST",
            "/api/v1/send",
            json={"From": {"Email": "a@x.org"}, "To": [{"Email": "b@x.org"}]},
        )
        assert reply.status == 403
        assert "read-only" in reply.json()["Error"]
        assert api.mailbox.count() == 0


def test_send_wrong_method_is_a_json_405(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        reply = api.get("/api/v1/send")
        assert reply.status == 405
        assert reply.json()["Error"]


# ---- release -------------------------------------------------------------------


def relay_to(port: int):
    profile = RelayProfile(name="test relay", host="127.0.0.1", port=port, helo_name="api.test")
    return lambda: SmtpTransport(profile)


def test_release_sends_the_exact_bytes_to_the_relay(tmp_path: Path, mailbox) -> None:
    raw = make_message(subject="Release me", body=b"Line one\r\n.leading dot\r\n")
    raw = raw.replace(b"Subject:", b"Bcc: secret@example.com\r\nSubject:")
    with (
        running_sink(mailbox) as relay,
        running_api(tmp_path / "api", relay_transport=relay_to(relay.port)) as api,
    ):
        message_id = api.deliver(raw, envelope_from="orig@example.com")
        reply = api.request(
            "POST", f"/api/v1/message/{message_id}/release", json={"To": ["dest@example.com"]}
        )
        assert reply.status == 200, reply.text
        assert reply.text == "ok"
        [got] = relay.mailbox.list()
        stored = relay.mailbox.get_stored(got.id)
        assert stored.raw == raw
        assert got.envelope_from == "orig@example.com"
        assert got.envelope_to == ("dest@example.com",)
        # ``latest`` names the newest message
        reply = api.request(
            "POST", "/api/v1/message/latest/release", json={"To": ["other@example.com"]}
        )
        assert reply.status == 200, reply.text
        assert relay.mailbox.count() == 2


def test_release_without_a_relay_is_a_400(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        message_id = api.deliver(make_message())
        reply = api.request(
            "POST", f"/api/v1/message/{message_id}/release", json={"To": ["a@example.com"]}
        )
        assert reply.status == 400
        assert "relay" in reply.json()["Error"]


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/api/v1/message/999/release", {"To": ["a@x.org"]}, 404, "not found"),
        ("/api/v1/message/abc/release", {"To": ["a@x.org"]}, 404, "not found"),
        ("/api/v1/message/99999999999999999999999/release", {"To": ["a@x.org"]}, 404, "not found"),
        ("/api/v1/message/{id}/release", {"To": []}, 400, "No valid addresses"),
        ("/api/v1/message/{id}/release", {}, 400, "No valid addresses"),
        ("/api/v1/message/{id}/release", {"To": ["not an address"]}, 400, "Invalid email address"),
        ("/api/v1/message/{id}/release", {"To": ["a@x.org\r\nRCPT TO:<b@x.org>"]}, 400, "Invalid"),
        ("/api/v1/message/{id}/release", {"To": "a@x.org"}, 400, "array of strings"),
    ],
)
def test_release_refuses_bad_requests(
    tmp_path: Path, mailbox, path: str, body: dict, status: int, words: str
) -> None:
    with (
        running_sink(mailbox) as relay,
        running_api(tmp_path / "api", relay_transport=relay_to(relay.port)) as api,
    ):
        message_id = api.deliver(make_message())
        reply = api.request("POST", path.format(id=message_id), json=body)
        assert reply.status == status, reply.text
        assert words in reply.json()["Error"]
        assert relay.mailbox.count() == 0


def test_release_reports_a_relay_that_is_not_there(tmp_path: Path) -> None:
    with running_api(tmp_path, relay_transport=relay_to(free_port())) as api:
        message_id = api.deliver(make_message())
        reply = api.request(
            "POST", f"/api/v1/message/{message_id}/release", json={"To": ["a@example.com"]}
        )
        assert reply.status == 400
        assert reply.json()["Error"].startswith("SMTP error:")
