"""The HTTP API server: ``start_http`` on real sockets (port 0) over a real mailbox,
Mailpit's ``info``/``webui`` shapes and probes, body limits, the loopback
default, TLS with a test CA, and the real ``serve`` subprocess."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
import subprocess
import sys

import aiohttp
import pytest
from http_helpers import api_server, htpasswd_line, send_burst_async, smtp_sink
from serve_process import launch_serve
from smtp_helpers import HOST, client_context, make_message, shared_test_ca

from mailcatcher_gui.core.api import ApiContext
from mailcatcher_gui.core.api.server import (
    HttpConfig,
    HttpPortInUse,
    HttpStartError,
    start_http,
)
from mailcatcher_gui.core.sending.transports import MemoryTransport

INFO_KEYS = {
    "Version",
    "LatestVersion",
    "Database",
    "DatabaseSize",
    "Messages",
    "Unread",
    "Tags",
    "RuntimeStats",
}
RUNTIME_KEYS = {
    "Uptime",
    "Memory",
    "MessagesDeleted",
    "SMTPAccepted",
    "SMTPAcceptedSize",
    "SMTPRejected",
    "SMTPIgnored",
}


def test_port_0_serves_info_webui_and_probes_with_mailpits_shapes(mailbox):
    async def scenario():
        async with smtp_sink(mailbox) as sink, api_server(mailbox, version="9.9") as api:
            assert api.port != 0 and api.url == f"http://127.0.0.1:{api.port}"
            async with aiohttp.ClientSession() as http:
                async with http.get(api.url + "/api/v1/info") as r:
                    assert r.status == 200 and r.content_type == "application/json"
                    empty = await r.json()
                ids = await send_burst_async(sink.port(), ["one", "two", "three"])
                mailbox.mark_read([ids[0]])
                mailbox.delete([ids[2]])
                async with http.get(api.url + "/api/v1/info") as r:
                    info = await r.json()
                async with http.get(api.url + "/api/v1/webui") as r:
                    assert r.status == 200
                    webui = await r.json()
                for probe in ("/livez", "/readyz"):
                    async with http.get(api.url + probe) as r:
                        assert (r.status, await r.text()) == (200, "ok")
        return empty, info, webui, ids

    empty, info, webui, ids = asyncio.run(scenario())
    assert set(info) == INFO_KEYS and set(info["RuntimeStats"]) == RUNTIME_KEYS
    assert empty["Messages"] == 0 and empty["Unread"] == 0
    assert info["Version"] == "9.9" and info["LatestVersion"] == ""
    assert info["Database"] == mailbox.location and info["DatabaseSize"] > 0
    assert (info["Messages"], info["Unread"]) == (2, 1)
    assert info["Tags"] == {} or isinstance(info["Tags"], dict)
    stats = info["RuntimeStats"]
    assert stats["SMTPAccepted"] == 3 and stats["MessagesDeleted"] == 1
    sizes = sum(len(make_message(s)) for s in ("one", "two", "three"))
    assert stats["SMTPAcceptedSize"] == sizes
    assert stats["Memory"] > 1_000_000 and stats["Uptime"] >= 0
    assert webui["MessageRelay"]["Enabled"] is False
    assert webui["MessageRelay"]["SMTPServer"] == ""
    assert webui["SpamAssassin"] is False and webui["ChaosEnabled"] is False
    assert len(ids) == 3


def test_webui_reports_the_relay_when_there_is_one(mailbox):
    relay = MemoryTransport()

    async def scenario(transport):
        async with (
            api_server(mailbox, relay_transport=lambda: transport) as api,
            aiohttp.ClientSession() as http,
            http.get(api.url + "/api/v1/webui") as r,
        ):
            return await r.json()

    on = asyncio.run(scenario(relay))["MessageRelay"]
    off = asyncio.run(scenario(None))["MessageRelay"]
    assert on["Enabled"] is True and on["SMTPServer"] == relay.target
    assert off["Enabled"] is False and off["SMTPServer"] == ""


def test_readyz_is_503_when_the_store_cannot_be_read(mailbox):
    async def scenario():
        async with api_server(mailbox) as api, aiohttp.ClientSession() as http:
            async with http.get(api.url + "/readyz") as r:
                ready = r.status
            mailbox.store.close()  # the store goes away under the running server
            async with http.get(api.url + "/readyz") as r:
                gone = (r.status, await r.text())
            async with http.get(api.url + "/livez") as r:
                alive = r.status
            async with http.get(api.url + "/api/v1/info") as r:
                info = (r.status, await r.json())
        return ready, gone, alive, info

    ready, gone, alive, info = asyncio.run(scenario())
    assert ready == 200
    assert gone[0] == 503 and gone[1].startswith("not ready")
    assert alive == 200
    assert info[0] >= 400 and set(info[1]) == {"Error"}
    assert "Traceback" not in json.dumps(info[1])


def test_unknown_paths_and_methods_answer_json_errors(mailbox):
    async def scenario():
        async with api_server(mailbox) as api, aiohttp.ClientSession() as http:
            async with http.get(api.url + "/api/v1/nothing-here") as r:
                missing = (r.status, await r.json())
            async with http.delete(api.url + "/api/v1/info") as r:
                wrong = (r.status, await r.json())
        return missing, wrong

    missing, wrong = asyncio.run(scenario())
    assert missing[0] == 404 and set(missing[1]) == {"Error"}
    assert wrong[0] == 405 and set(wrong[1]) == {"Error"}


def test_request_bodies_over_max_size_get_413_json(mailbox):
    async def scenario():
        async with api_server(mailbox, max_body=2048) as api, aiohttp.ClientSession() as http:
            async with http.post(api.url + "/api/v1/info", data=b"x" * 4096) as r:
                big = (r.status, await r.json())
            async with http.post(api.url + "/api/v1/info", data=b"x" * 1024) as r:
                small = r.status
        return big, small

    big, small = asyncio.run(scenario())
    assert big[0] == 413
    assert "4096 bytes" in big[1]["Error"] and "2048" in big[1]["Error"]
    assert small == 405  # within the limit: the route answers (GET only)


def test_busy_port_is_one_clear_sentence(mailbox):
    async def scenario(port):
        await start_http(HttpConfig(port=port), ApiContext(mailbox=mailbox))

    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        with pytest.raises(HttpPortInUse) as caught:
            asyncio.run(scenario(busy))
    text = str(caught.value)
    assert f"port {busy} on 127.0.0.1 is already in use (--http)" in text
    assert "\n" not in text and text.count(";") == 1


def test_a_network_address_needs_a_login_or_allow_insecure(mailbox, tmp_path, caplog):
    async def scenario(config):
        async with (
            api_server(mailbox, config) as api,
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{api.port}/livez") as r,
        ):
            return r.status

    with pytest.raises(HttpStartError) as refused:
        asyncio.run(scenario(HttpConfig(host="0.0.0.0", port=0)))
    assert "--http-auth-file" in str(refused.value)
    assert "--http-allow-insecure" in str(refused.value)

    with caplog.at_level(logging.WARNING, logger="mailcatcher_gui.core.api.server"):
        assert asyncio.run(scenario(HttpConfig(host="0.0.0.0", port=0, allow_insecure=True))) == 200
    assert any("no login" in r.getMessage() for r in caplog.records)

    caplog.clear()
    auth = tmp_path / "users"
    auth.write_text(htpasswd_line("ops", "s3cret"))
    with caplog.at_level(logging.WARNING, logger="mailcatcher_gui.core.api.server"):
        assert asyncio.run(scenario(HttpConfig(host="0.0.0.0", port=0, auth_file=auth))) == 200
    assert not any("no login" in r.getMessage() for r in caplog.records)
    # loopback needs neither
    assert asyncio.run(scenario(HttpConfig(host="localhost", port=0))) == 200


def test_tls_with_a_test_ca(mailbox, tmp_path):
    ca, cert, key = shared_test_ca()

    async def scenario():
        config = HttpConfig(port=0, tls_cert=cert, tls_key=key)
        async with api_server(mailbox, config) as api:
            assert api.url.startswith("https://127.0.0.1:")
            verified = aiohttp.TCPConnector(ssl=client_context(ca))
            async with aiohttp.ClientSession(connector=verified) as http:
                async with http.get(api.url + "/livez") as r:
                    ok = r.status
                async with http.ws_connect(api.url.replace("https", "wss") + "/api/events") as ws:
                    first = json.loads((await ws.receive(timeout=10)).data)
            untrusted = aiohttp.TCPConnector(ssl=ssl.create_default_context())
            async with aiohttp.ClientSession(connector=untrusted) as http:
                with pytest.raises(aiohttp.ClientConnectorCertificateError):
                    await http.get(api.url + "/livez")
            async with aiohttp.ClientSession() as http:
                with pytest.raises(aiohttp.ClientError):
                    await http.get(api.url.replace("https", "http") + "/livez")
        return ok, first

    ok, first = asyncio.run(scenario())
    assert ok == 200 and first["Type"] == "stats"

    with pytest.raises(HttpStartError, match="not found"):
        asyncio.run(
            start_http(
                HttpConfig(port=0, tls_cert=tmp_path / "missing.pem"), ApiContext(mailbox=mailbox)
            )
        )


def test_stop_closes_the_listener_and_open_websockets(mailbox):
    async def scenario():
        api = await start_http(HttpConfig(port=0), ApiContext(mailbox=mailbox))
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(api.url + "/api/events")
            await ws.receive(timeout=10)  # the first stats
            await api.stop()
            closed = await ws.receive(timeout=10)
            await ws.close()
            with pytest.raises(aiohttp.ClientConnectorError):
                await http.get(api.url + "/livez")
        await api.stop()  # twice is fine
        return closed

    closed = asyncio.run(scenario())
    assert closed.type == aiohttp.WSMsgType.CLOSE
    assert closed.data == 1001  # going away


# ---- the real `serve` ---------------------------------------------------------------


def test_serve_prints_the_http_line_and_serves_the_api_and_events(tmp_path):
    served = launch_serve(tmp_path, tmp_path / "serve.log")
    try:

        async def scenario():
            async with aiohttp.ClientSession() as http:
                async with http.get(served.http_url + "/api/v1/info") as r:
                    info = await r.json()
                async with http.ws_connect(served.http_url + "/api/events") as ws:
                    stats = json.loads((await ws.receive(timeout=10)).data)
                    ids = await send_burst_async(served.smtp_port, ["via serve"])
                    new = json.loads((await ws.receive(timeout=10)).data)
            return info, stats, ids, new

        info, stats, ids, new = asyncio.run(scenario())
    finally:
        served.proc.terminate()
        served.proc.communicate(timeout=30)
    assert served.proc.returncode == 0
    assert info["Messages"] == 0 and info["Version"]
    assert stats == {"Type": "stats", "Data": {"Total": 0, "Unread": 0, "Version": info["Version"]}}
    assert new["Type"] == "new" and new["Data"]["ID"] == str(ids[0])
    assert new["Data"]["Subject"] == "via serve"


def test_serve_with_the_http_port_busy_says_so_in_one_line_and_exits_2(tmp_path):
    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "mailcatcher_gui", "serve", "--smtp", "127.0.0.1:0"]
            + ["--http", f"127.0.0.1:{busy}", "--db", str(tmp_path / "m.sqlite3")],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "MAILCATCHER_GUI_HOME": str(tmp_path)},
        )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"port {busy}" in lines[0] and "--http" in lines[0] and "in use" in lines[0]
    assert "listening" not in proc.stdout  # not even the SMTP line


def test_serve_http_none_prints_no_http_line(tmp_path):
    served = launch_serve(tmp_path, tmp_path / "serve.log", "--http", "none")
    try:
        assert served.http_port is None
    finally:
        served.proc.terminate()
        out, _ = served.proc.communicate(timeout=30)
    assert b"HTTP" not in out and served.proc.returncode == 0


def test_serve_refuses_a_network_address_without_a_login(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mailcatcher_gui", "serve", "--smtp", "127.0.0.1:0"]
        + ["--http", "0.0.0.0:0", "--db", str(tmp_path / "m.sqlite3")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MAILCATCHER_GUI_HOME": str(tmp_path)},
    )
    assert proc.returncode == 2 and "listening" not in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--http-auth-file" in lines[0], proc.stderr
