"""``mailcatcher-gui messages check``: real store files, real keys, a real loopback HTTP
server and a real spamd; human output, the JSON contract, option errors, exit codes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailcatcher_gui.cli import main
from mailcatcher_gui.core.checks import FAMILIES
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.store.database import Store
from tests.api_helpers import deliver
from tests.link_helpers import http_server_thread
from tests.spamd_helpers import GTUBE, running_spamd

BODY = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Subject: Checks from the CLI\r\n"
    b"Date: Sun, 06 Dec 2026 03:00:00 +0000\r\n"
    b"Message-ID: <cli-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
)


@pytest.fixture(scope="module")
def key() -> tuple[bytes, bytes]:
    """(private PEM, DKIM TXT record) of a fresh RSA key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Path, Mailbox]]:
    path = tmp_path / "mail.sqlite3"
    mailbox = Mailbox(Store(path))
    try:
        yield path, mailbox
    finally:
        mailbox.close()


def signed(private: bytes, html: str) -> bytes:
    message = BODY + html.encode() + b"\r\n"
    return (
        dkim.sign(message, b"s1", b"example.com", private, include_headers=[b"from", b"subject"])
        + message
    )  # type: ignore[no-any-return]


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["messages", "check", *args, "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out)  # type: ignore[no-any-return]


def family(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in report["families"] if f["family"] == name)


def test_json_contract_and_dkim_with_key_file(
    store: tuple[Path, Mailbox],
    key: tuple[bytes, bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, mailbox = store
    private, record = key
    mid = deliver(mailbox, signed(private, "<p>Hello</p>"))
    key_file = tmp_path / "s1.txt"
    key_file.write_bytes(record)
    report = run_json(
        capsys, str(mid), "--db", str(path), "--no-dns",
        "--dkim-key", f"s1._domainkey.example.com={key_file}",
    )  # fmt: skip
    assert report["schema"] == 1
    assert report["message_id"] == str(mid)
    assert [f["family"] for f in report["families"]] == list(FAMILIES)
    for fam in report["families"]:
        assert set(fam) == {"family", "label", "verdict", "summary", "score", "findings", "data"}
        for finding in fam["findings"]:
            assert set(finding) == {
                "code", "severity", "title", "detail", "where", "line", "advice", "data",
            }  # fmt: skip
    auth = family(report, "authentication")
    [sig] = auth["data"]["signatures"]
    assert sig["result"] == "pass" and sig["key_source"] == "user" and sig["aligned"] is True
    assert family(report, "links")["verdict"] == "skipped"
    assert family(report, "spam")["verdict"] == "skipped"
    assert report["verdict"] in ("ok", "info", "warning", "error")

    # the same message without the key: no key found, and still exit 0
    report = run_json(capsys, str(mid), "--db", str(path), "--no-dns")
    assert family(report, "authentication")["data"]["signatures"][0]["result"] == "no-key"


def test_human_output_shows_every_family(
    store: tuple[Path, Mailbox], capsys: pytest.CaptureFixture[str]
) -> None:
    path, mailbox = store
    mid = deliver(mailbox, BODY + b"<p>Hi <img src='https://img.example/x.png'></p>\r\n")
    assert main(["messages", "check", str(mid), "--db", str(path), "--no-dns"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Checks for message {mid}")
    for label in FAMILIES.values():
        assert label in text
    assert "[skip] Spam score:" in text
    assert "No DKIM signature" in text


def test_links_against_loopback_server(
    store: tuple[Path, Mailbox], capsys: pytest.CaptureFixture[str]
) -> None:
    path, mailbox = store
    with http_server_thread() as (base, seen):
        html = (
            f'<a href="{base}/ok">ok</a> <a href="{base}/missing">gone</a> '
            f'<a href="{base}/r1">r</a>'
        )
        mid = deliver(mailbox, BODY + html.encode() + b"\r\n")
        report = run_json(
            capsys, str(mid), "--db", str(path), "--no-dns", "--links", "--allow-local-links"
        )
        links = {entry["url"]: entry for entry in family(report, "links")["data"]["links"]}
        assert links[f"{base}/ok"]["status_code"] == 200
        assert links[f"{base}/missing"]["status_code"] == 404
        assert [h["status_code"] for h in links[f"{base}/r1"]["redirects"]] == [301, 302]
        assert family(report, "links")["verdict"] == "error"
        assert family(report, "links")["data"]["mailpit"]["Errors"] == 1

        # without --allow-local-links the guard refuses loopback and nothing is requested
        before = len(seen)
        report = run_json(capsys, str(mid), "--db", str(path), "--no-dns", "--links")
        assert len(seen) == before
        entries = family(report, "links")["data"]["links"]
        assert all(entry["refused"] for entry in entries)

        # --no-follow shows the redirect itself
        report = run_json(
            capsys,
            str(mid),
            "--db",
            str(path),
            "--no-dns",
            "--links",
            "--allow-local-links",
            "--no-follow",
        )
        links = {entry["url"]: entry for entry in family(report, "links")["data"]["links"]}
        assert links[f"{base}/r1"]["status_code"] == 301


def test_spam_with_real_spamd(
    store: tuple[Path, Mailbox], capsys: pytest.CaptureFixture[str]
) -> None:
    path, mailbox = store
    mid = deliver(mailbox, BODY + GTUBE.encode() + b"\r\n")
    report = run_json(capsys, str(mid), "--db", str(path), "--no-dns", "--spam")
    assert family(report, "spam")["verdict"] == "skipped"
    assert "--spamassassin HOST:PORT" in family(report, "spam")["summary"]
    with running_spamd() as address:
        report = run_json(
            capsys, str(mid), "--db", str(path), "--no-dns", "--spam", "--spamassassin", address
        )
    spam = family(report, "spam")
    assert spam["verdict"] == "error"
    assert spam["score"] >= 1000
    assert any(r["name"] == "GTUBE" for r in spam["data"]["rules"])


def test_errors_are_one_line(
    store: tuple[Path, Mailbox], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, mailbox = store
    mid = deliver(mailbox, BODY + b"<p>x</p>\r\n")
    assert main(["messages", "check", "999", "--db", str(path)]) == 1
    assert "error:" in capsys.readouterr().err
    assert main(["messages", "check", str(mid), "--db", str(path), "--dkim-key", "nonsense"]) == 2
    assert "SELECTOR._domainkey.DOMAIN=FILE" in capsys.readouterr().err
    missing = tmp_path / "nope.txt"
    code = main(
        [
            "messages",
            "check",
            str(mid),
            "--db",
            str(path),
            "--dkim-key",
            f"s._domainkey.x.org={missing}",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "Traceback" not in err
    assert main(["messages", "check", str(mid), "--db", str(path), "--spamassassin", "nohost"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
