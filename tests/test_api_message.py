"""Mailpit's single-message endpoints, /view and our /session extension, over real HTTP."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from api_helpers import PDF_BYTES, png_bytes, rich_message, running_api
from PIL import Image
from smtp_helpers import make_message

from mailcatcher_gui.core.models import TlsInfo

MESSAGE_KEYS = {
    "ID",
    "MessageID",
    "From",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "ReturnPath",
    "Subject",
    "ListUnsubscribe",
    "Date",
    "Tags",
    "Username",
    "Text",
    "HTML",
    "Size",
    "Inline",
    "Attachments",
}
ATTACHMENT_KEYS = {"PartID", "FileName", "ContentType", "ContentID", "Size", "Checksums"}


@pytest.fixture
def api(tmp_path):
    with running_api(tmp_path) as handle:
        yield handle


def _jpeg(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    assert image.format == "JPEG"
    return image


# ---- GET /api/v1/message/{ID} ----------------------------------------------------


def test_message_shape(api):
    raw = rich_message()
    mid = api.deliver(raw, auth_user="smtp-user")
    reply = api.get(f"/api/v1/message/{mid}")
    assert reply.status == 200 and reply.content_type == "application/json"
    msg = reply.json()
    assert set(msg) == MESSAGE_KEYS
    assert msg["ID"] == str(mid)
    assert msg["MessageID"] == "rich-1@mail.test"
    assert msg["From"] == {"Name": "Jörg Müller", "Address": "joerg@mail.test"}
    assert msg["To"][0] == {"Name": "Zoë Bar", "Address": "zoe@mail.test"}
    assert msg["Cc"] == [{"Name": "Çelik", "Address": "celik@mail.test"}]
    assert msg["Bcc"] == [{"Name": "", "Address": "hidden@mail.test"}]
    assert msg["ReplyTo"] == [{"Name": "Replies", "Address": "reply@mail.test"}]
    assert msg["ReturnPath"] == "bounces@mail.test"
    assert msg["Subject"] == "Grüße aus Köln"
    assert msg["Date"] == "2024-05-01T10:00:00+02:00"
    assert msg["Username"] == "smtp-user"
    assert "the text body." in msg["Text"]
    assert "cid:logo@mail.test" in msg["HTML"]  # the JSON keeps the HTML as sent
    assert msg["Size"] == len(raw)
    assert msg["ListUnsubscribe"] == {
        "Header": "<mailto:unsub@mail.test>, <https://mail.test/unsub?u=1>",
        "Links": ["mailto:unsub@mail.test", "https://mail.test/unsub?u=1"],
        "Errors": "",
        "HeaderPost": "List-Unsubscribe=One-Click",
    }
    (inline,) = msg["Inline"]
    (attached,) = msg["Attachments"]  # lists in a Message
    assert set(inline) == ATTACHMENT_KEYS == set(attached)
    assert inline["ContentID"] == "logo@mail.test" and inline["ContentType"] == "image/png"
    assert inline["FileName"] == "logo.png"
    assert attached["FileName"] == "Rechnung März.pdf" and attached["ContentID"] == ""
    assert attached["Size"] == len(PDF_BYTES)
    assert attached["Checksums"] == {
        "MD5": hashlib.md5(PDF_BYTES).hexdigest(),
        "SHA1": hashlib.sha1(PDF_BYTES).hexdigest(),
        "SHA256": hashlib.sha256(PDF_BYTES).hexdigest(),
    }


def test_message_without_date_or_return_path_falls_back_like_mailpit(api):
    received = datetime(2024, 3, 2, 8, 30, tzinfo=UTC)
    mid = api.deliver(make_message("plain"), received_at=received)
    msg = api.get(f"/api/v1/message/{mid}").json()
    assert msg["Date"] == "2024-03-02T08:30:00Z"  # no Date: header -> received time
    assert msg["ReturnPath"] == "alice@example.com"  # no Return-Path -> From
    assert msg["Inline"] == [] and msg["Attachments"] == []
    assert msg["ListUnsubscribe"] == {"Header": "", "Links": [], "Errors": "", "HeaderPost": ""}
    assert msg["HTML"] == "" and msg["Bcc"] == [] and msg["Username"] == ""


@pytest.mark.parametrize(
    ("header", "links", "errors"),
    [
        (
            "<mailto:u@x.test> (comment), <https://x.test/u>",
            ["mailto:u@x.test", "https://x.test/u"],
            "",
        ),
        (
            "https://x.test/u, <ftp://x.test/u>",
            [],
            '"https://x.test/u, <ftp://x.test/u>" should be enclosed in <>',
        ),
        ("https://x.test/u", [], '"https://x.test/u" no valid unsubscribe links found'),
        (
            "<https://x.test/a> <https://x.test/b>",
            [],
            '"<https://x.test/a> <https://x.test/b>" <> should be split with a comma '
            "and optional spaces",
        ),
        (
            "<ftp://x.test/u>, <https://x.test/a>",
            ["https://x.test/a"],
            '"ftp://x.test/u" should start with either http(s):// or mailto:',
        ),
        (
            "<https://x.test/a>, <https://x.test/b>",
            ["https://x.test/a"],
            '"https://x.test/b" should only contain one HTTP link',
        ),
        (
            "<mailto:a@x.test>, <https://x/a b>",
            ["mailto:a@x.test"],
            '"https://x/a b" should not contain spaces',
        ),
    ],
)
def test_list_unsubscribe_checks_like_mailpit(api, header, links, errors):
    mid = api.deliver(make_message("unsub", **{"List-Unsubscribe": header}))
    unsub = api.get(f"/api/v1/message/{mid}").json()["ListUnsubscribe"]
    assert unsub["Header"] == header
    assert unsub["Links"] == links
    assert unsub["Errors"] == errors
    assert unsub["HeaderPost"] == ""


def test_only_get_message_marks_read(api):
    mid = api.deliver(rich_message())
    for path in (
        "/api/v1/messages",
        f"/api/v1/message/{mid}/headers",
        f"/api/v1/message/{mid}/raw",
        f"/api/v1/message/{mid}/part/2",
        f"/api/v1/message/{mid}/part/1.2.2/thumb",
        f"/api/v1/message/{mid}/session",
        f"/view/{mid}.html",
        f"/view/{mid}.txt",
    ):
        assert api.get(path).status == 200, path
        assert api.mailbox.summary(mid).read is False, path
    assert api.get(f"/api/v1/message/{mid}").status == 200
    assert api.mailbox.summary(mid).read is True
    listed = api.get("/api/v1/messages").json()
    assert listed["messages"][0]["Read"] is True and listed["unread"] == 0


def test_get_message_on_read_only_context_does_not_write(tmp_path):
    with running_api(tmp_path, read_only=True) as api:
        mid = api.deliver(make_message("ro"))
        assert api.get(f"/api/v1/message/{mid}").status == 200
        assert api.mailbox.summary(mid).read is False


def test_latest(api):
    assert api.get("/api/v1/message/latest").status == 404  # empty mailbox
    api.deliver(make_message("older one"))
    newest = api.deliver(make_message("newest one"))
    assert api.get("/api/v1/message/latest").json()["ID"] == str(newest)
    headers = api.get("/api/v1/message/latest/headers").json()
    assert headers["Subject"] == ["newest one"]
    assert api.get("/api/v1/message/latest/raw").text.endswith("Hello there.\r\n")
    assert api.get("/view/latest.txt").status == 200
    # Mailpit: ?query= picks the newest match
    older = api.get("/api/v1/message/latest", params={"query": "older"}).json()
    assert older["Subject"] == "older one"
    none = api.get("/api/v1/message/latest", params={"query": "nothing-matches-this"})
    assert none.status == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/message/999",
        "/api/v1/message/abc",
        "/api/v1/message/-1",
        "/api/v1/message/4oRBnPtCXgAqZniRhzLNmS/raw",
        "/api/v1/message/999/headers",
        "/api/v1/message/999/raw",
        "/api/v1/message/999/session",
        "/api/v1/message/999/part/1",
        "/api/v1/message/999/part/1/thumb",
        "/view/999.html",
        "/view/abc.txt",
    ],
)
def test_unknown_ids_are_404_json(api, path):
    api.deliver(make_message("present"))
    reply = api.get(path)
    assert reply.status == 404
    assert reply.content_type == "application/json"
    assert reply.json()["Error"]


def test_deleted_message_is_404(api):
    mid = api.deliver(make_message("gone soon"))
    api.mailbox.delete([mid])
    assert api.get(f"/api/v1/message/{mid}").status == 404


# ---- headers, raw -----------------------------------------------------------------


def test_headers_map(api):
    mid = api.deliver(rich_message())
    headers = api.get(f"/api/v1/message/{mid}/headers").json()
    assert headers["Subject"] == ["Grüße aus Köln"]
    assert headers["From"] == ["Jörg Müller <joerg@mail.test>"]
    assert headers["Message-Id"] == ["<rich-1@mail.test>"]  # Go's canonical spelling
    assert headers["X-Mailer"] == ["api-tests"]
    assert all(isinstance(v, list) for v in headers.values())
    raw = make_message("twice", **{"X-Dup": "one"}).replace(
        b"X-Dup: one\r\n", b"X-Dup: one\r\nx-dup: two\r\n"
    )
    two = api.deliver(raw)
    assert api.get(f"/api/v1/message/{two}/headers").json()["X-Dup"] == ["one", "two"]


def test_raw_is_exact_bytes(api):
    raw = rich_message() + b"\xff\xfe trailing 8-bit junk\r\n"
    mid = api.deliver(raw)
    reply = api.get(f"/api/v1/message/{mid}/raw")
    assert reply.status == 200
    assert reply.body == raw
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert "Content-Disposition" not in reply.headers
    download = api.get(f"/api/v1/message/{mid}/raw", params={"dl": "1"})
    assert download.headers["Content-Disposition"] == f'attachment; filename="{mid}.eml"'
    assert download.body == raw


# ---- parts and thumbnails ----------------------------------------------------------


def test_parts_are_byte_exact_with_type_and_name(api):
    image = png_bytes(400, 300)
    mid = api.deliver(rich_message(image=image))
    pdf = api.get(f"/api/v1/message/{mid}/part/2")
    assert pdf.status == 200
    assert pdf.body == PDF_BYTES
    assert pdf.headers["Content-Type"] == "application/pdf"
    disposition = pdf.headers["Content-Disposition"]
    assert disposition.startswith('filename="Rechnung M_rz.pdf"')
    assert "filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf" in disposition
    png = api.get(f"/api/v1/message/{mid}/part/1.2.2")
    assert png.body == image and png.headers["Content-Type"] == "image/png"
    assert png.headers["Content-Disposition"] == 'filename="logo.png"'
    text = api.get(f"/api/v1/message/{mid}/part/1.1")  # a body part by its id too
    assert text.status == 200 and text.body == "Hallo Zoë,\r\nthe text body.\r\n".encode()
    assert api.get(f"/api/v1/message/{mid}/part/1.2").status == 404  # a multipart
    assert api.get(f"/api/v1/message/{mid}/part/9").status == 404
    assert api.get(f"/api/v1/message/{mid}/part/9/thumb").status == 404


def test_thumbnail_of_large_image_fills_180x120(api):
    mid = api.deliver(rich_message(image=png_bytes(800, 300, (10, 200, 10))))
    reply = api.get(f"/api/v1/message/{mid}/part/1.2.2/thumb")
    assert reply.status == 200 and reply.headers["Content-Type"] == "image/jpeg"
    thumb = _jpeg(reply.body)
    assert thumb.size == (180, 120)
    # cropped to fill: green to the edges, no white padding
    for xy in ((2, 2), (177, 117), (90, 60)):
        r, g, b = thumb.convert("RGB").getpixel(xy)
        assert g > 150 and r < 80 and b < 80, (xy, (r, g, b))


def test_thumbnail_of_small_transparent_image_is_centred_on_white(api):
    mid = api.deliver(rich_message(image=png_bytes(60, 40, (0, 0, 255, 255))))
    thumb = _jpeg(api.get(f"/api/v1/message/{mid}/part/1.2.2/thumb").body).convert("RGB")
    assert thumb.size == (180, 120)
    assert min(thumb.getpixel((3, 3))) > 240  # white padding, not black
    r, g, b = thumb.getpixel((90, 60))
    assert b > 200 and r < 60 and g < 60  # the image, not enlarged, in the middle
    assert min(thumb.getpixel((90 - 35, 60))) > 240  # 60 px wide: x=55 is outside it


def test_thumbnail_of_a_non_image_is_blank(api):
    mid = api.deliver(rich_message(image=b"this is not a png at all"))
    for part in ("2", "1.2.2"):  # a PDF, and an "image/png" that will not decode
        reply = api.get(f"/api/v1/message/{mid}/part/{part}/thumb")
        assert reply.status == 200 and reply.headers["Content-Type"] == "image/jpeg"
        thumb = _jpeg(reply.body).convert("RGB")
        assert thumb.size == (180, 120)
        assert all(lo > 245 for lo, _hi in thumb.getextrema())  # white all over


# ---- /view ---------------------------------------------------------------------------


def test_view_html_links_inline_images_under_a_csp(api):
    remote = '<img src="https://tracker.example/pixel.gif"><link rel="preconnect" href="https://x.example">'
    mid = api.deliver(rich_message(extra_html=remote))
    reply = api.get(f"/view/{mid}.html")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f'src="/api/v1/message/{mid}/part/1.2.2"' in reply.text
    assert "cid:" not in reply.text
    assert "x-blocked-preconnect" in reply.text
    # the rewritten URL serves the image
    assert api.get(f"/api/v1/message/{mid}/part/1.2.2").headers["Content-Type"] == "image/png"
    csp = reply.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'none'" and directives["default-src"] == "'none'"
    assert "http:" not in directives["img-src"] and "https:" not in directives["img-src"]
    assert "'self'" in directives["img-src"]
    allowed = api.get(f"/view/{mid}.html", params={"remote": "1"})
    assert (
        "https:"
        in dict(
            d.strip().split(" ", 1) for d in allowed.headers["Content-Security-Policy"].split(";")
        )["img-src"]
    )
    assert "script-src 'none'" in allowed.headers["Content-Security-Policy"]


def test_view_html_remote_default_follows_the_context(tmp_path):
    with running_api(tmp_path, allow_remote_content=True) as api:
        mid = api.deliver(rich_message())
        assert "https:" in api.get(f"/view/{mid}.html").headers["Content-Security-Policy"]
        blocked = api.get(f"/view/{mid}.html", params={"remote": "0"})
        assert "https:" not in blocked.headers["Content-Security-Policy"]


def test_view_html_leaves_unknown_cids_alone(api):
    mid = api.deliver(rich_message(extra_html='<img src="cid:nobody@x">'))
    assert 'src="cid:nobody@x"' in api.get(f"/view/{mid}.html").text


def test_view_without_html_is_404_and_txt_has_the_text(api):
    mid = api.deliver(make_message("only text", body=b"Just text, \xc3\xa4.\r\n"))
    missing = api.get(f"/view/{mid}.html")
    assert missing.status == 404 and "HTML" in missing.json()["Error"]
    text = api.get(f"/view/{mid}.txt")
    assert text.status == 200 and text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.text == "Just text, ä.\r\n"


# ---- /session (our extension) ---------------------------------------------------------


def test_session_extension(api):
    mid = api.deliver(
        make_message("with session"),
        envelope_from="bounce@app.test",
        envelope_to=("a@x.test", "b@y.test"),
        peer="127.0.0.1:51234",
        helo="app.local",
        tls=TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, implicit=False),
        auth_user="mailer",
        transcript=("C: EHLO app.local", "S: 250 ok"),
    )
    body = api.get(f"/api/v1/message/{mid}/session").json()
    assert body["ID"] == str(mid)
    assert body["EnvelopeFrom"] == "bounce@app.test"
    assert body["EnvelopeTo"] == ["a@x.test", "b@y.test"]
    assert body["Peer"] == "127.0.0.1:51234" and body["Helo"] == "app.local"
    assert body["TLS"] == {
        "Version": "TLSv1.3",
        "Cipher": "TLS_AES_256_GCM_SHA384",
        "Bits": 256,
        "Implicit": False,
    }
    assert body["AuthUser"] == "mailer"
    assert body["Transcript"] == ["C: EHLO app.local", "S: 250 ok"]
    plain = api.get(f"/api/v1/message/{api.deliver(make_message('x'))}/session").json()
    assert plain["TLS"] is None and plain["AuthUser"] is None


# ---- hostile input: a clear 4xx, never a 500 ----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/message/99999999999999999999999",
        "/api/v1/message/1%00",
        "/api/v1/message/%F0%9F%92%A9",
        "/api/v1/message/1/part/..%2F..%2Fetc",
        "/api/v1/message/1/part/%00",
        "/api/v1/message/1/part/1.2.3.4.5.6.7.8.9/thumb",
        "/view/1e3.html",
    ],
)
def test_hostile_paths_are_404(api, path):
    api.deliver(rich_message())
    reply = api.get(path)
    assert reply.status == 404, (path, reply.status, reply.body[:200])
    assert reply.json()["Error"]


@pytest.mark.parametrize(
    "params",
    [
        {"query": "x" * 5000},
        {"query": "a " * 100},
        {"query": "invoice", "tz": "../../etc/passwd"},
        {"query": "invoice", "tz": "\x00"},
        {"query": "after:2024-05-01T25:00Z"},
        {"query": "invoice", "start": "١٢"},  # Arabic-Indic digits are not our numbers
    ],
)
def test_hostile_searches_are_400(api, params):
    api.deliver(rich_message())
    reply = api.get("/api/v1/search", params=params)
    assert reply.status == 400, (params, reply.status, reply.body[:200])
    assert reply.json()["Error"]


def test_broken_message_is_served_not_500(api):
    broken = (
        b'Subject: =?x-unknown?B?////?=\r\nFrom: "unterminated <a@\r\n'
        b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
        b'Content-Type: image/png; name="x.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        b"!!!not base64!!!\r\n"
    )
    mid = api.deliver(broken)
    for path in (
        f"/api/v1/message/{mid}",
        f"/api/v1/message/{mid}/headers",
        f"/api/v1/message/{mid}/raw",
        f"/api/v1/message/{mid}/session",
        f"/view/{mid}.txt",
    ):
        reply = api.get(path)
        assert reply.status == 200, (path, reply.body[:300])
    assert api.get(f"/api/v1/message/{mid}/raw").body == broken
    listed = api.get("/api/v1/messages").json()
    assert listed["messages"][0]["ID"] == str(mid)


# ---- the loop stays free; events arrive on it -----------------------------------------


def test_parsing_a_big_message_does_not_hold_up_other_requests(api):
    import asyncio
    import os

    import aiohttp

    big = rich_message(image=os.urandom(12 * 1024 * 1024))  # ~16 MB of base64 to decode
    big_id = api.deliver(big)
    api.deliver(make_message("small"))
    finished: list[str] = []

    async def fetch(session: aiohttp.ClientSession, name: str, path: str) -> None:
        async with session.get(api.url + path) as resp:
            await resp.read()
            assert resp.status == 200
        finished.append(name)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            slow = asyncio.ensure_future(fetch(session, "big", f"/api/v1/message/{big_id}"))
            await asyncio.sleep(0.02)  # the big parse is under way
            await fetch(session, "list", "/api/v1/messages?limit=5")
            await slow

    api.run(scenario(), timeout=120)
    assert finished == ["list", "big"]


def test_mailbox_events_from_api_writes_arrive_on_the_loop_thread(api):
    import threading

    seen: list[tuple[str, str]] = []
    api.mailbox.subscribe(
        lambda event: seen.append((type(event).__name__, threading.current_thread().name))
    )
    a = api.deliver(make_message("one"))
    b = api.deliver(make_message("two"))
    seen.clear()  # the deliveries themselves happened on the test thread
    loop_thread = api.run(_current_thread_name())
    api.get(f"/api/v1/message/{a}")
    api.request("PUT", "/api/v1/messages", json={"Read": False})
    api.request("DELETE", "/api/v1/messages", json={"IDs": [str(b)]})
    api.request("DELETE", "/api/v1/search", params={"query": "one"})
    api.request("DELETE", "/api/v1/messages")
    kinds = [kind for kind, _thread in seen]
    assert kinds == [
        "MessagesChanged",
        "MessagesChanged",
        "MessagesDeleted",
        "MessagesDeleted",
        "MailboxCleared",
    ]
    assert {thread for _kind, thread in seen} == {loop_thread}


async def _current_thread_name() -> str:
    import threading

    return threading.current_thread().name


def test_head_of_a_message_is_405_and_marks_nothing(api):
    mid = api.deliver(make_message("peek"))
    assert api.request("HEAD", f"/api/v1/message/{mid}").status == 405
    assert api.mailbox.summary(mid).read is False
    assert api.request("HEAD", f"/api/v1/message/{mid}/raw").status == 200


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def test_thumbnail_of_a_pixel_bomb_is_blank_without_decoding(api):
    from mailcatcher_gui.core.api.thumbnail import MAX_PIXELS, make_thumbnail

    bomb = _png_claiming(20_000, 20_000)
    assert len(bomb) < 200 and MAX_PIXELS < 20_000 * 20_000
    mid = api.deliver(rich_message(image=bomb))
    reply = api.get(f"/api/v1/message/{mid}/part/1.2.2/thumb")
    assert reply.status == 200
    thumb = _jpeg(reply.body).convert("RGB")
    assert thumb.size == (180, 120)
    assert all(lo > 245 for lo, _hi in thumb.getextrema())
    # the pixel limit fires only above it: a red 200x150 image, limit below and at its size
    red = png_bytes(200, 150, (220, 0, 0))
    over = _jpeg(make_thumbnail(red, "image/png", max_pixels=200 * 150 - 1)).convert("RGB")
    at = _jpeg(make_thumbnail(red, "image/png", max_pixels=200 * 150)).convert("RGB")
    assert min(over.getpixel((90, 60))) > 245  # blank
    r, g, b = at.getpixel((90, 60))
    assert r > 180 and g < 60 and b < 60  # decoded
