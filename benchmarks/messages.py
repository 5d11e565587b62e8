"""The benchmark's test messages, built deterministically in memory.

Three shapes, as in the issue: a ~2 KB plain-text message, a ~100 KB
multipart message (text + HTML + one binary attachment) and one very large
message with a single big attachment (25 MB decoded by default). A fourth,
``newsletter``, is what the inspection checks are measured on: a table
layout with a style sheet, inline styles, images (some without alt text),
tracking links and List-Unsubscribe, of any size (``newsletter(nbytes)``). Each is
returned *already on the wire*: CRLF line endings, dot-stuffed, terminated by
``CRLF.CRLF``, so the load generator spends no time per message on encoding.
A per-message counter is spliced into the Subject and Message-ID so every
message is distinct without rebuilding the body.
"""

from __future__ import annotations

import base64
import random

KINDS = ("small", "multipart", "large", "newsletter")

_WORDS = (
    "invoice",
    "shipment",
    "password",
    "reset",
    "welcome",
    "account",
    "order",
    "confirmation",
    "newsletter",
    "report",
    "weekly",
    "summary",
    "meeting",
    "agenda",
    "project",
    "update",
    "review",
    "release",
    "notes",
    "build",
    "deploy",
    "staging",
    "production",
    "customer",
    "support",
    "ticket",
    "payment",
    "receipt",
    "subscription",
    "trial",
    "upgrade",
    "security",
    "alert",
    "login",
    "device",
    "verification",
    "code",
    "reminder",
    "calendar",
)


def _lorem(nbytes: int, seed: int) -> str:
    """Readable filler text of about ``nbytes`` bytes, wrapped at ~72 columns."""
    rnd = random.Random(seed)
    lines: list[str] = []
    size = 0
    line: list[str] = []
    while size < nbytes:
        word = rnd.choice(_WORDS)
        line.append(word)
        if sum(len(w) + 1 for w in line) > 70:
            text = " ".join(line)
            lines.append(text)
            size += len(text) + 2
            line = []
    return "\r\n".join(lines)


def _b64_lines(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").replace("\n", "\r\n").rstrip("\r\n")


def _headers(subject: str, content_type: str) -> str:
    # "%d" markers are filled per message (see MessageFactory).
    return (
        "From: Alice Sender <alice@example.com>\r\n"
        "To: Bob Receiver <bob@example.net>\r\n"
        f"Subject: {subject} #%d\r\n"
        "Date: Tue, 04 Mar 2025 10:15:00 +0000\r\n"
        "Message-ID: <bench-%d@loadgen.example>\r\n"
        "MIME-Version: 1.0\r\n"
        f"{content_type}\r\n"
    )


def _small() -> str:
    head = _headers(
        "Your weekly report",
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit",
    )
    body = _lorem(2048 - len(head) - 40, seed=1)
    return head + "\r\n" + body + "\r\n"


def _multipart(attachment_bytes: int, seed: int, subject: str) -> str:
    boundary_mixed = "==bench-mixed-7f3a=="
    boundary_alt = "==bench-alt-91c2=="
    head = _headers(subject, f'Content-Type: multipart/mixed; boundary="{boundary_mixed}"')
    text = _lorem(3000, seed=seed)
    html = "<html><body>" + "".join(
        f"<p>{para}</p>" for para in _lorem(6000, seed=seed + 1).split("\r\n")
    )
    html = "\r\n".join(html[i : i + 900] for i in range(0, len(html), 900)) + "</body></html>"
    payload = random.Random(seed + 2).randbytes(attachment_bytes)
    return (
        head
        + "\r\n"
        + "This is a multi-part message in MIME format.\r\n"
        + f"--{boundary_mixed}\r\n"
        + f'Content-Type: multipart/alternative; boundary="{boundary_alt}"\r\n\r\n'
        + f"--{boundary_alt}\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: 7bit\r\n\r\n"
        + text
        + "\r\n"
        + f"--{boundary_alt}\r\n"
        + "Content-Type: text/html; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: 7bit\r\n\r\n"
        + html
        + "\r\n"
        + f"--{boundary_alt}--\r\n"
        + f"--{boundary_mixed}\r\n"
        + 'Content-Type: application/pdf; name="report.pdf"\r\n'
        + 'Content-Disposition: attachment; filename="report.pdf"\r\n'
        + "Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64_lines(payload)
        + "\r\n"
        + f"--{boundary_mixed}--\r\n"
    )


_NEWSLETTER_CSS = (
    "<style>\r\n"
    "body { margin: 0; padding: 0; background-color: #f4f4f4; font-family: Arial; }\r\n"
    ".wrapper { max-width: 600px; margin: 0 auto; display: flex; }\r\n"
    ".story h2 { color: #222222; font-size: 20px; line-height: 26px; }\r\n"
    ".story p { color: #555555; font-size: 14px; position: relative; }\r\n"
    ".button { background: linear-gradient(#0a66c2, #004182); border-radius: 4px; }\r\n"
    "@media (max-width: 480px) { .wrapper { width: 320px !important; } }\r\n"
    "</style>\r\n"
)


def _newsletter_story(i: int, rnd: random.Random) -> str:
    """One article block: a headline, an image (every third without alt), text, links."""
    words = " ".join(rnd.choice(_WORDS) for _ in range(60))
    alt = "" if i % 3 == 0 else f' alt="Story {i}"'
    return (
        f'<tr><td class="story" style="padding: 16px 24px; background-color: #ffffff;">\r\n'
        f'<img src="https://cdn.example.com/img/story-{i}.jpg" width="552" height="200"{alt}'
        f' style="display: block; border: 0;">\r\n'
        f'<h2 style="margin: 12px 0 4px 0;">Story {i}: {rnd.choice(_WORDS)} '
        f"{rnd.choice(_WORDS)}</h2>\r\n"
        f'<p style="margin: 0 0 12px 0;">{words}</p>\r\n'
        f'<a class="button" href="https://news.example.com/r/{i}?utm_source=newsletter"'
        f' style="color: #ffffff; padding: 8px 16px; text-decoration: none;">Read more</a>'
        f' <a href="https://news.example.com/s/{i}">click here</a>\r\n'
        "</td></tr>\r\n"
    )


def newsletter(nbytes: int, seed: int = 5) -> str:
    """A newsletter of about ``nbytes`` (multipart/alternative: text + HTML), CRLF lines.

    Contains no "%" besides the two per-message counters (see ``MessageFactory``).
    """
    rnd = random.Random(seed)
    boundary = "==bench-news-5d1e=="
    head = _headers(
        "The weekly newsletter", f'Content-Type: multipart/alternative; boundary="{boundary}"'
    )
    head += (
        "List-Unsubscribe: <https://news.example.com/unsubscribe?u=bob>, "
        "<mailto:unsubscribe@news.example.com>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    )
    text = _lorem(2000, seed=seed)
    top = (
        '<!DOCTYPE html>\r\n<html lang="en"><head><meta charset="utf-8">\r\n'
        "<title>The weekly newsletter</title>\r\n" + _NEWSLETTER_CSS + "</head>\r\n"
        '<body><table class="wrapper" role="presentation" cellpadding="0" cellspacing="0"'
        ' width="600">\r\n'
    )
    bottom = (
        '<tr><td style="padding: 24px; font-size: 12px; color: #999999;">'
        '<a href="https://news.example.com/unsubscribe?u=bob">Unsubscribe</a></td></tr>\r\n'
        "</table></body></html>"
    )
    stories: list[str] = []
    size = len(head) + len(text) + len(top) + len(bottom) + 400
    i = 0
    while size < nbytes:
        i += 1
        stories.append(_newsletter_story(i, rnd))
        size += len(stories[-1])
    html = top + "".join(stories) + bottom
    return (
        head
        + "\r\n"
        + f"--{boundary}\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: 7bit\r\n\r\n"
        + text
        + "\r\n"
        + f"--{boundary}\r\n"
        + "Content-Type: text/html; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: 7bit\r\n\r\n"
        + html
        + "\r\n"
        + f"--{boundary}--\r\n"
    )


def dot_stuff(message: str | bytes) -> bytes:
    """CRLF-terminated, dot-stuffed DATA payload ending in ``.CRLF``."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    return data + b".\r\n"


class MessageFactory:
    """Makes wire-ready message ``i`` of one kind cheaply (one ``%`` format)."""

    def __init__(self, kind: str, *, large_bytes: int = 25 * 1000 * 1000) -> None:
        if kind == "small":
            text = _small()
        elif kind == "multipart":
            text = _multipart(70 * 1024, seed=7, subject="Invoice with attachment")
        elif kind == "large":
            # The attachment itself is large_bytes (decoded); base64 makes the message
            # ~1.37x that on the wire (25 MB -> ~34 MB, under the sink's 50 MiB default).
            text = _multipart(large_bytes, seed=11, subject="Big attachment")
        elif kind == "newsletter":
            text = newsletter(100 * 1000)
        else:
            raise ValueError(f"unknown message kind {kind!r}; expected one of {KINDS}")
        self.kind = kind
        # "%" is not otherwise used in the generated text, so a bytes % format is safe.
        assert text.count("%d") == 2 and text.count("%") == 2
        assert text.index("%d") < text.index("\r\n\r\n")
        wire = dot_stuff(text)
        split = wire.index(b"\r\n\r\n") + 4
        self._head, self._body = wire[:split], wire[split:]

    def __call__(self, i: int) -> bytes:
        return b"".join(self.parts(i))

    def parts(self, i: int) -> tuple[bytes, bytes]:
        """(headers with the counter filled in, the constant rest): no big copy per message."""
        return self._head % (i, i), self._body

    @property
    def size(self) -> int:
        """Approximate size on the wire (before the counter is filled in)."""
        return len(self._head) + len(self._body)


def raw_message(kind: str, i: int = 0, **kw) -> bytes:
    """Message ``i`` as stored by a server (unstuffed, without the final dot line)."""
    wire = MessageFactory(kind, **kw)(i)
    data = wire[: -len(b".\r\n")]
    data = data.replace(b"\r\n..", b"\r\n.")
    return data
