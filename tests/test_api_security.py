"""Who may use the HTTP API: Basic auth from a bcrypt htpasswd file, the origin and
Host checks, and CORS only when asked for. Real server on port 0, real aiohttp
client and WebSocket, real bcrypt."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys

import aiohttp
import pytest
from http_helpers import api_server, basic, htpasswd_line, send_burst_async, smtp_sink

from mailcatcher_gui.core.api.security import (
    AuthFileError,
    Credentials,
    is_loopback_host,
    load_htpasswd,
    parse_cors_origin,
)
from mailcatcher_gui.core.api.server import HttpConfig, HttpStartError

PASSWORD = "correct horse battery staple"


@pytest.fixture
def auth_file(tmp_path):
    path = tmp_path / "htpasswd"
    path.write_text("# the API's users\n\n" + htpasswd_line("alice", PASSWORD))
    return path


# ---- the htpasswd file ---------------------------------------------------------------


def test_htpasswd_with_bcrypt_lines_loads(tmp_path):
    path = tmp_path / "users"
    path.write_text(htpasswd_line("alice", "a") + "# comment\n" + htpasswd_line("bob", "b"))
    creds = load_htpasswd(path)
    assert creds.users == ("alice", "bob")
    assert creds.check_sync("alice", "a") and creds.check_sync("bob", "b")
    assert not creds.check_sync("alice", "b")
    assert not creds.check_sync("carol", "a")
    assert not creds.check_sync("", "")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", "line 1: only bcrypt hashes"),
        ("# c\nbob:$apr1$abc$defghijklmnopqrstuv\n", "line 2: only bcrypt hashes"),
        ("just-a-name\n", "line 1: expected USER:HASH"),
        ("# nothing but comments\n\n", "no USER:HASH lines"),
    ],
)
def test_htpasswd_problems_name_the_line_not_the_hash(tmp_path, content, expected):
    path = tmp_path / "users"
    path.write_text(content)
    with pytest.raises(AuthFileError) as caught:
        load_htpasswd(path)
    message = str(caught.value)
    assert expected in message and str(path) in message
    assert "W6ph5" not in message and "$apr1$" not in message


def test_missing_htpasswd_file(tmp_path):
    with pytest.raises(AuthFileError, match="no such file"):
        load_htpasswd(tmp_path / "nope")
    with pytest.raises(ValueError, match="no users"):
        Credentials({})


def test_a_verified_password_is_remembered_and_a_wrong_one_never(tmp_path):
    class Counting(Credentials):
        calls = 0

        def check_sync(self, user: str, password: str) -> bool:
            type(self).calls += 1
            return super().check_sync(user, password)

    source = load_htpasswd(_write(tmp_path, htpasswd_line("alice", PASSWORD)))
    creds = Counting(dict(zip(source.users, source._users.values(), strict=True)))

    async def scenario():
        results = [await creds.check("alice", PASSWORD) for _ in range(5)]
        results += [await creds.check("alice", "wrong") for _ in range(3)]
        return results

    results = asyncio.run(scenario())
    assert results == [True] * 5 + [False] * 3
    assert Counting.calls == 1 + 3  # one bcrypt run for the right password, each wrong one runs


def _write(tmp_path, text):
    path = tmp_path / "one-user"
    path.write_text(text)
    return path


# ---- Basic auth over HTTP -------------------------------------------------------------


def test_basic_auth_401_for_missing_or_wrong_credentials_and_open_probes(
    mailbox, auth_file, caplog
):
    async def scenario():
        config = HttpConfig(port=0, auth_file=auth_file)
        async with api_server(mailbox, config) as api, aiohttp.ClientSession() as http:
            out = {}
            for name, headers in (
                ("missing", {}),
                ("wrong", basic("alice", "nope")),
                ("unknown", basic("mallory", PASSWORD)),
                ("garbage", {"Authorization": "Basic !!!not-base64"}),
                ("bearer", {"Authorization": "Bearer abc"}),
                ("right", basic("alice", PASSWORD)),
            ):
                async with http.get(api.url + "/api/v1/info", headers=headers) as r:
                    out[name] = (r.status, r.headers.get("WWW-Authenticate"), await r.json())
            for probe in ("/livez", "/readyz"):
                async with http.get(api.url + probe) as r:
                    out[probe] = r.status
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(api.url + "/api/events")
            out["ws-missing"] = refused.value.status
            async with http.ws_connect(
                api.url + "/api/events", headers=basic("alice", PASSWORD)
            ) as ws:
                out["ws-right"] = (await ws.receive(timeout=10)).json()["Type"]
        return out

    with caplog.at_level(logging.DEBUG):
        out = asyncio.run(scenario())
    for name in ("missing", "wrong", "unknown", "garbage", "bearer"):
        status, challenge, body = out[name]
        assert status == 401, name
        assert challenge and challenge.startswith('Basic realm="mailcatcher-gui"'), name
        assert set(body) == {"Error"}
    assert out["missing"][2]["Error"] == "authentication required"
    assert out["right"][0] == 200 and out["right"][1] is None
    assert out["/livez"] == 200 and out["/readyz"] == 200
    assert out["ws-missing"] == 401 and out["ws-right"] == "stats"
    # the password (and the header that carries it) never reaches the log
    logged = "\n".join(r.getMessage() for r in caplog.records)
    token = basic("alice", PASSWORD)["Authorization"].split()[1]
    assert "refused a login" in logged  # the failures were logged ...
    assert PASSWORD not in logged and token not in logged  # ... without the secret
    assert "nope" not in logged


def test_the_password_is_never_stored(mailbox, auth_file):
    """Logins while mail arrives: the store's files hold neither password nor header."""

    async def scenario():
        config = HttpConfig(port=0, auth_file=auth_file)
        async with (
            smtp_sink(mailbox) as sink,
            api_server(mailbox, config) as api,
            aiohttp.ClientSession() as http,
        ):
            for headers in (basic("alice", PASSWORD), basic("alice", "nope")):
                async with http.get(api.url + "/api/v1/info", headers=headers) as r:
                    await r.read()
            await send_burst_async(sink.port(), ["stored while logging in"])

    asyncio.run(scenario())
    token = basic("alice", PASSWORD)["Authorization"].split()[1].encode()
    folder = mailbox.store.path.parent
    files = [p for p in folder.iterdir() if p.name.startswith(mailbox.store.path.name)]
    assert files
    stored = b"".join(p.read_bytes() for p in files)
    assert b"stored while logging in" in stored  # the scan does see the store's content
    assert PASSWORD.encode() not in stored and token not in stored


def test_bad_auth_file_refuses_to_start(mailbox, tmp_path):
    path = tmp_path / "bad"
    path.write_text("alice:plaintext\n")

    async def scenario():
        async with api_server(mailbox, HttpConfig(port=0, auth_file=path)):
            pass

    with pytest.raises(HttpStartError, match="only bcrypt"):
        asyncio.run(scenario())


# ---- origins, Host, CORS -----------------------------------------------------------------


def test_without_cors_foreign_origins_are_refused_and_no_cors_headers_go_out(mailbox):
    async def scenario():
        async with api_server(mailbox) as api, aiohttp.ClientSession() as http:
            out = {}
            for name, origin in (
                ("none", None),
                ("same", api.url),
                ("foreign", "http://evil.example"),
                ("other-port", "http://127.0.0.1:1"),
            ):
                headers = {"Origin": origin} if origin else {}
                async with http.get(api.url + "/api/v1/info", headers=headers) as r:
                    out[name] = (r.status, r.headers.get("Access-Control-Allow-Origin"))
                    if r.status == 403:
                        out[name + "-error"] = (await r.json())["Error"]
            async with http.options(
                api.url + "/api/v1/info",
                headers={
                    "Origin": "http://evil.example",
                    "Access-Control-Request-Method": "DELETE",
                },
            ) as r:
                out["preflight"] = r.status
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(
                    api.url + "/api/events", headers={"Origin": "http://evil.example"}
                )
            out["ws-foreign"] = refused.value.status
        return out

    out = asyncio.run(scenario())
    assert out["none"] == (200, None) and out["same"] == (200, None)
    assert out["foreign"] == (403, None) and out["other-port"] == (403, None)
    assert "--http-cors http://evil.example" in out["foreign-error"]
    assert out["preflight"] == 403
    assert out["ws-foreign"] == 403


@pytest.mark.parametrize("allowed", ["http://localhost:3000", "*"])
def test_cors_for_the_given_origin_only(mailbox, auth_file, allowed):
    async def scenario():
        config = HttpConfig(port=0, cors_origin=allowed, auth_file=auth_file)
        async with api_server(mailbox, config) as api, aiohttp.ClientSession() as http:
            out = {}
            app = {"Origin": "http://localhost:3000"}
            async with http.options(
                api.url + "/api/v1/info",
                headers={
                    **app,
                    "Access-Control-Request-Method": "PUT",
                    "Access-Control-Request-Headers": "authorization, content-type",
                },
            ) as r:
                out["preflight"] = (r.status, dict(r.headers))
            async with http.get(
                api.url + "/api/v1/info", headers={**app, **basic("alice", PASSWORD)}
            ) as r:
                out["get"] = (r.status, dict(r.headers))
            async with http.get(api.url + "/api/v1/info", headers=app) as r:
                out["401"] = (r.status, dict(r.headers))
            async with http.get(
                api.url + "/api/v1/info",
                headers={"Origin": "http://other.example", **basic("alice", PASSWORD)},
            ) as r:
                out["other"] = (r.status, r.headers.get("Access-Control-Allow-Origin"))
            async with http.get(api.url + "/api/v1/info", headers=basic("alice", PASSWORD)) as r:
                out["no-origin"] = r.headers.get("Access-Control-Allow-Origin")
        return out

    out = asyncio.run(scenario())
    expected_origin = "*" if allowed == "*" else "http://localhost:3000"
    status, headers = out["preflight"]
    assert status == 204  # no credentials needed on a preflight
    assert headers["Access-Control-Allow-Origin"] == expected_origin
    assert "PUT" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    status, headers = out["get"]
    assert status == 200 and headers["Access-Control-Allow-Origin"] == expected_origin
    # the browser can read the 401 too
    status, headers = out["401"]
    assert status == 401 and headers["Access-Control-Allow-Origin"] == expected_origin
    if allowed == "*":
        assert out["other"] == (200, "*")
    else:
        assert headers["Access-Control-Allow-Credentials"] == "true"
        assert out["other"] == (403, None)
    assert out["no-origin"] is None


def test_host_header_must_be_loopback_while_listening_on_loopback(mailbox):
    async def scenario(config):
        async with api_server(mailbox, config) as api, aiohttp.ClientSession() as http:
            out = {}
            for host in ("evil.example:8025", "localhost:8025", "[::1]:8025", "127.0.0.1"):
                async with http.get(api.url + "/livez", headers={"Host": host}) as r:
                    out[host] = r.status
        return out

    local = asyncio.run(scenario(HttpConfig(port=0)))
    assert local["evil.example:8025"] == 403  # DNS rebinding
    assert local["localhost:8025"] == local["[::1]:8025"] == local["127.0.0.1"] == 200
    network = asyncio.run(scenario(HttpConfig(host="0.0.0.0", port=0, allow_insecure=True)))
    assert network["evil.example:8025"] == 200  # a network listener has real host names


def test_origin_and_host_helpers():
    assert parse_cors_origin("localhost:3000") == "http://localhost:3000"
    assert parse_cors_origin("HTTPS://App.Example") == "https://app.example"
    assert parse_cors_origin(" * ") == "*"
    for bad in ("http://x/path", "ftp://x", "http://"):
        with pytest.raises(ValueError):
            parse_cors_origin(bad)
    assert is_loopback_host("localhost") and is_loopback_host("app.localhost")
    assert is_loopback_host("127.0.0.2") and is_loopback_host("[::1]")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("example.com")
    assert not is_loopback_host("10.0.0.1")


def test_cli_rejects_a_bad_cors_origin_and_a_missing_auth_file(tmp_path):
    env = {**os.environ, "MAILCATCHER_GUI_HOME": str(tmp_path)}
    base = [sys.executable, "-m", "mailcatcher_gui", "serve", "--smtp", "127.0.0.1:0"]
    bad_cors = subprocess.run(
        [*base, "--http-cors", "http://x/y"], capture_output=True, text=True, env=env, timeout=60
    )
    assert bad_cors.returncode == 2 and "--http-cors" in bad_cors.stderr
    missing = subprocess.run(
        [*base, "--http", "127.0.0.1:0", "--http-auth-file", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert missing.returncode == 2 and "listening" not in missing.stdout
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "no such file" in lines[0], missing.stderr
