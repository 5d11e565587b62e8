"""``serve`` puts its sink's RuleSet behind the HTTP API: a chaos trigger set over
HTTP is what a real SMTP client then meets (the real process, real ports)."""

from __future__ import annotations

import json
import smtplib
import urllib.request

from serve_process import launch_serve
from smtp_helpers import HOST


def _put(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def _mail(port: int) -> int:
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        client.ehlo()
        return client.mail("a@example.com")[0]


def test_serve_chaos_over_http_reaches_smtp(tmp_path):
    served = launch_serve(tmp_path, tmp_path / "serve.log")
    try:
        assert _mail(served.smtp_port) == 250
        body = _put(
            served.http_url + "/api/v1/chaos", {"Sender": {"ErrorCode": 451, "Probability": 100}}
        )
        assert body["Sender"] == {"ErrorCode": 451, "Probability": 100}
        assert _mail(served.smtp_port) == 451
        rules = _put(served.http_url + "/api/v1/rules", {"Rules": []})
        assert rules["Rules"] == []
        assert _mail(served.smtp_port) == 250
    finally:
        served.proc.terminate()
        served.proc.communicate(timeout=30)
    assert served.proc.returncode == 0
