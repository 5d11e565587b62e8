"""The check endpoints over real HTTP: Mailpit's html-check, link-check and sa-check
shapes, and our /checks (the same JSON as ``messages check --json``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from mailcatcher_gui.cli import main
from mailcatcher_gui.core.checks import FAMILIES, CheckOptions
from tests.api_helpers import running_api
from tests.link_helpers import http_server_thread
from tests.spamd_helpers import GTUBE, running_spamd

HEAD = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Subject: API checks\r\n"
    b"Date: Sun, 06 Dec 2026 03:00:00 +0000\r\n"
    b"Message-ID: <api-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
)
HTML = HEAD + b"Content-Type: text/html; charset=utf-8\r\n\r\n"
TEXT = HEAD + b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
NO_DNS = CheckOptions(resolve_dns=False)


def test_html_check_is_mailpits_shape_and_400_without_html(tmp_path: Path) -> None:
    with running_api(tmp_path, extras={"check_options": NO_DNS}) as api:
        mid = api.deliver(HTML + b'<html><body><p style="display:flex">hi</p></body></html>\r\n')
        plain = api.deliver(TEXT + b"just text\r\n")
        reply = api.get(f"/api/v1/message/{mid}/html-check")
        assert reply.status == 200, reply.text
        body = reply.json()
        assert {"Platforms", "Total", "Warnings"} <= set(body)
        assert any(w["Slug"] == "css-display-flex" for w in body["Warnings"])
        latest = api.get("/api/v1/message/latest/html-check")
        assert latest.status == 400  # the newest is the text-only one
        reply = api.get(f"/api/v1/message/{plain}/html-check")
        assert reply.status == 400
        assert reply.json() == {"Error": "message does not contain HTML"}
        assert api.get("/api/v1/message/999/html-check").status == 404
        assert api.get("/api/v1/message/nope/checks").status == 404


def test_link_check_follow_param_and_shape(tmp_path: Path) -> None:
    options = CheckOptions(resolve_dns=False, allow_local_links=True, link_timeout=3)
    with (
        http_server_thread() as (base, _seen),
        running_api(tmp_path, extras={"check_options": options}) as api,
    ):
        html = f'<a href="{base}/ok">a</a><a href="{base}/r1">b</a><img src="{base}/missing">'
        mid = api.deliver(HTML + html.encode() + b"\r\n")
        body = api.get(f"/api/v1/message/{mid}/link-check").json()
        assert set(body) == {"Errors", "Links"}
        assert all(set(link) == {"URL", "StatusCode", "Status"} for link in body["Links"])
        by_url = {link["URL"]: link for link in body["Links"]}
        assert by_url[f"{base}/r1"]["StatusCode"] == 301  # Mailpit does not follow by default
        assert by_url[f"{base}/missing"] == {
            "URL": f"{base}/missing",
            "StatusCode": 404,
            "Status": "Not Found",
        }
        assert body["Errors"] == 1
        followed = api.get(f"/api/v1/message/{mid}/link-check", params={"follow": "true"}).json()
        by_url = {link["URL"]: link for link in followed["Links"]}
        assert by_url[f"{base}/r1"]["StatusCode"] == 200


def test_link_check_refuses_local_targets_by_default(tmp_path: Path) -> None:
    with http_server_thread() as (base, seen), running_api(tmp_path) as api:
        mid = api.deliver(HTML + f'<a href="{base}/ok">a</a>'.encode() + b"\r\n")
        body = api.get(f"/api/v1/message/{mid}/link-check").json()
        [link] = body["Links"]
        assert link["StatusCode"] == 0
        assert "loopback" in link["Status"]
        assert body["Errors"] == 1
        assert seen == []


def test_sa_check_unconfigured_unreachable_and_real(tmp_path: Path) -> None:
    spam = TEXT + GTUBE.encode() + b"\r\n"
    with running_api(tmp_path) as api:
        mid = api.deliver(spam)
        reply = api.get(f"/api/v1/message/{mid}/sa-check")
        assert reply.status == 400
        assert reply.json() == {"Error": "no SpamAssassin service defined"}
    dead = CheckOptions(spamassassin="127.0.0.1:9", spam_timeout=3)
    with running_api(tmp_path / "dead", extras={"check_options": dead}) as api:
        mid = api.deliver(spam)
        reply = api.get(f"/api/v1/message/{mid}/sa-check")
        assert reply.status == 200
        body = reply.json()
        assert body["Error"].startswith("cannot reach spamd at 127.0.0.1:9")
        assert body["IsSpam"] is False and body["Rules"] == []
    with (
        running_spamd() as address,
        running_api(
            tmp_path / "live", extras={"check_options": CheckOptions(spamassassin=address)}
        ) as api,
    ):
        mid = api.deliver(spam)
        body = api.get(f"/api/v1/message/{mid}/sa-check").json()
        assert set(body) == {"IsSpam", "Error", "Score", "Rules"}
        assert body["IsSpam"] is True and body["Error"] == ""
        assert body["Score"] >= 1000
        gtube = next(r for r in body["Rules"] if r["Name"] == "GTUBE")
        assert gtube["Score"] == 1000 and "Unsolicited Bulk Email" in gtube["Description"]


def test_checks_endpoint_equals_cli_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_api(tmp_path, extras={"check_options": NO_DNS}) as api:
        mid = api.deliver(HTML + b"<html><body><p>Hello <img src='logo.png'></p></body></html>\r\n")
        reply = api.get(f"/api/v1/message/{mid}/checks")
        assert reply.status == 200
        body = reply.json()
        db = tmp_path / "mail.sqlite3"
        assert main(["messages", "check", str(mid), "--json", "--no-dns", "--db", str(db)]) == 0
        assert json.loads(capsys.readouterr().out) == body
        assert [f["family"] for f in body["families"]] == list(FAMILIES)
        links = next(f for f in body["families"] if f["family"] == "links")
        assert links["verdict"] == "skipped"
        # asked for: the links family runs (a relative URL is flagged without any request)
        asked = api.get(f"/api/v1/message/{mid}/checks", params={"links": "1"}).json()
        links = next(f for f in asked["families"] if f["family"] == "links")
        assert links["verdict"] == "warning"
        assert [f["code"] for f in links["findings"]] == ["link-relative"]
        # reading checks never marks the message read
        assert api.get("/api/v1/messages").json()["unread"] == 1


def test_serve_passes_its_check_options_to_the_api(tmp_path: Path) -> None:
    """``serve --allow-local-links --spamassassin ... --dkim-key ...`` reach the endpoints."""
    import signal
    import smtplib

    import aiohttp

    from tests.serve_process import launch_serve

    async def get(url: str) -> tuple[int, dict[str, object]]:
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            return resp.status, await resp.json()

    key_file = tmp_path / "key.txt"
    key_file.write_text("v=DKIM1; k=rsa; p=bm90IGEga2V5")
    with http_server_thread() as (base, seen), running_spamd() as spamd:
        served = launch_serve(
            tmp_path, tmp_path / "serve.log", "--allow-local-links", "--no-dns",
            "--spamassassin", spamd, "--dkim-key", f"s1._domainkey.example.com={key_file}",
        )  # fmt: skip
        try:
            body = HTML + f'<a href="{base}/ok">ok</a> {GTUBE}\r\n'.encode()
            with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as client:
                client.sendmail("a@example.com", ["b@example.net"], body)
            url = f"{served.http_url}/api/v1/message/latest"
            status, links = asyncio.run(get(f"{url}/link-check"))
            assert status == 200 and links["Links"] == [
                {"URL": f"{base}/ok", "StatusCode": 200, "Status": "OK"}
            ]
            assert ("HEAD", "/ok") in seen
            status, spam = asyncio.run(get(f"{url}/sa-check"))
            assert status == 200 and spam["IsSpam"] is True
        finally:
            served.proc.send_signal(signal.SIGTERM)
            code = served.proc.wait(30)
            assert served.proc.stdout is not None
            served.proc.stdout.close()
            assert code == 0


def test_flags_take_true_false_1_0_and_refuse_anything_else(tmp_path: Path) -> None:
    with running_api(tmp_path, extras={"check_options": NO_DNS}) as api:
        mid = api.deliver(TEXT + b"no links\r\n")
        for value in ("true", "false", "1", "0", ""):
            assert api.get(f"/api/v1/message/{mid}/link-check?follow={value}").status == 200
        reply = api.get(f"/api/v1/message/{mid}/link-check?follow=yes-please")
        assert reply.status == 400
        assert reply.json() == {"Error": "follow must be true, false, 1 or 0"}
        assert api.get(f"/api/v1/message/{mid}/checks?links=maybe").status == 400
        assert api.get(f"/api/v1/message/{mid}/checks?spam=0&links=false").status == 200
