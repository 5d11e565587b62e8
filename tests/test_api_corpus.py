"""Every corpus message through the message endpoints: a clear answer each time, never a 500.

The corpus (see ``tests/conftest.py``) holds real-world and deliberately
broken mail: bare LFs, unknown charsets, truncated multiparts, nested
messages, spam. Each one is stored as the sink would and then read back
over real HTTP: the Message JSON, the headers, the exact raw bytes, every
listed part (its size as the JSON says), every image part's thumbnail and
both ``/view`` pages. Skipped, with the reason, when the corpus is absent.
"""

from __future__ import annotations

import io

import pytest
from api_helpers import running_api
from PIL import Image

pytestmark = pytest.mark.slow


def test_every_corpus_message_over_the_api(tmp_path, corpus):
    with running_api(tmp_path) as api:
        ids = {path: api.deliver(path.read_bytes()) for path in corpus}
        listed = api.get("/api/v1/messages", params={"limit": str(len(corpus))}).json()
        assert listed["total"] == len(corpus) and len(listed["messages"]) == len(corpus)
        failures: list[str] = []
        for path, mid in ids.items():
            raw = path.read_bytes()
            name = path.name
            msg = api.get(f"/api/v1/message/{mid}")
            if msg.status != 200:
                failures.append(f"{name}: message {msg.status}")
                continue
            body = msg.json()
            if body["Size"] != len(raw):
                failures.append(f"{name}: Size {body['Size']} != {len(raw)}")
            if api.get(f"/api/v1/message/{mid}/raw").body != raw:
                failures.append(f"{name}: raw differs")
            if api.get(f"/api/v1/message/{mid}/headers").status != 200:
                failures.append(f"{name}: headers")
            for part in body["Inline"] + body["Attachments"]:
                got = api.get(f"/api/v1/message/{mid}/part/{part['PartID']}")
                if got.status != 200 or len(got.body) != part["Size"]:
                    failures.append(f"{name}: part {part['PartID']} {got.status}")
                if part["ContentType"].startswith("image/"):
                    thumb = api.get(f"/api/v1/message/{mid}/part/{part['PartID']}/thumb")
                    image = Image.open(io.BytesIO(thumb.body))
                    if thumb.status != 200 or image.format != "JPEG" or image.size != (180, 120):
                        failures.append(f"{name}: thumb {part['PartID']}")
            html = api.get(f"/view/{mid}.html")
            expected = 200 if body["HTML"] else 404
            if html.status != expected or (
                expected == 200
                and "script-src 'none'" not in html.headers["Content-Security-Policy"]
            ):
                failures.append(f"{name}: view html {html.status}")
            if api.get(f"/view/{mid}.txt").status != 200:
                failures.append(f"{name}: view txt")
        assert not failures, failures[:20]
        assert api.mailbox.unread_count() == 0  # each was opened once
