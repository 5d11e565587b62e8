"""Mailpit's list endpoints over real HTTP.

GET/PUT/DELETE /api/v1/messages and GET/DELETE /api/v1/search.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import deliver, png_bytes, rich_message, running_api
from smtp_helpers import make_message

from mailcatcher_gui.core.api.routes_messages import apply_timezone
from mailcatcher_gui.core.api.shapes import rfc3339

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z")
SUMMARY_KEYS = {
    "ID",
    "MessageID",
    "Read",
    "From",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "Subject",
    "Created",
    "Tags",
    "Size",
    "Attachments",
    "Snippet",
}
LIST_KEYS = {
    "total",
    "unread",
    "count",
    "messages_count",
    "messages_unread",
    "start",
    "tags",
    "messages",
}


@pytest.fixture
def api(tmp_path):
    with running_api(tmp_path) as handle:
        yield handle


def _fill(api, n: int, base: datetime | None = None) -> list[int]:
    base = base or datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    return [
        deliver(
            api.mailbox,
            make_message(f"numbered {i}", body=f"body number {i}\r\n".encode()),
            received_at=base + timedelta(minutes=i),
        )
        for i in range(n)
    ]


def _ids(reply) -> list[str]:
    return [m["ID"] for m in reply.json()["messages"]]


# ---- GET /api/v1/messages -----------------------------------------------------------


def test_list_shape_and_summary_fields(api):
    raw = rich_message()
    mid = api.deliver(raw)
    api.deliver(make_message("second"))
    reply = api.get("/api/v1/messages")
    assert reply.status == 200
    assert reply.content_type == "application/json"
    body = reply.json()
    assert set(body) == LIST_KEYS
    assert body["total"] == 2 and body["unread"] == 2
    assert body["messages_count"] == 2 and body["messages_unread"] == 2
    assert body["count"] == 2 and body["start"] == 0 and body["tags"] == []
    second, first = body["messages"]  # newest first
    assert second["Subject"] == "second"
    assert set(first) == SUMMARY_KEYS
    assert first["ID"] == str(mid) and isinstance(first["ID"], str)
    assert first["MessageID"] == "rich-1@mail.test"  # angle brackets trimmed
    assert first["Read"] is False
    assert first["From"] == {"Name": "Jörg Müller", "Address": "joerg@mail.test"}
    assert first["To"] == [
        {"Name": "Zoë Bar", "Address": "zoe@mail.test"},
        {"Name": "", "Address": "plain@mail.test"},
    ]
    assert first["Cc"] == [{"Name": "Çelik", "Address": "celik@mail.test"}]
    assert first["Bcc"] == [] and first["ReplyTo"] == []
    assert first["Subject"] == "Grüße aus Köln"
    assert RFC3339.fullmatch(first["Created"])
    assert first["Size"] == len(raw)
    assert first["Attachments"] == 2  # a count in a summary
    assert first["Snippet"].startswith("Hallo Zoë")
    assert first["Tags"] == []


def test_empty_mailbox_lists_nothing(api):
    body = api.get("/api/v1/messages").json()
    assert body["messages"] == [] and body["total"] == 0 and body["messages_count"] == 0


def test_start_and_limit_page_newest_first(api):
    ids = _fill(api, 7)
    newest_first = [str(i) for i in reversed(ids)]
    assert _ids(api.get("/api/v1/messages", params={"limit": "3"})) == newest_first[:3]
    page = api.get("/api/v1/messages", params={"start": "3", "limit": "3"}).json()
    assert [m["ID"] for m in page["messages"]] == newest_first[3:6]
    assert page["start"] == 3 and page["count"] == 3 and page["messages_count"] == 7
    # past the end: an empty page, the counters still right
    past = api.get("/api/v1/messages", params={"start": "50"}).json()
    assert past["messages"] == [] and past["total"] == 7


def test_default_limit_is_50(api):
    for i in range(55):
        api.deliver(make_message(f"m{i}"))
    body = api.get("/api/v1/messages").json()
    assert body["count"] == 50 and body["total"] == 55
    # Mailpit: start <= 0 means 0, limit <= 0 means the default
    assert api.get("/api/v1/messages", params={"start": "-4", "limit": "0"}).json()["count"] == 50
    assert api.get("/api/v1/messages", params={"limit": "55"}).json()["count"] == 55


@pytest.mark.parametrize(
    ("name", "value"), [("start", "abc"), ("limit", "1.5"), ("limit", "9" * 30), ("start", "0x10")]
)
def test_bad_numbers_are_400_json(api, name, value):
    _fill(api, 1)
    reply = api.get("/api/v1/messages", params={name: value})
    assert reply.status == 400
    assert reply.content_type == "application/json"
    assert name in reply.json()["Error"]


def test_listing_marks_nothing_read(api):
    _fill(api, 3)
    api.get("/api/v1/messages")
    api.get("/api/v1/search", params={"query": "numbered"})
    assert api.mailbox.unread_count() == 3


# ---- GET /api/v1/search -------------------------------------------------------------


def test_search_counts_matches_and_unread(api):
    ids = _fill(api, 4)
    special = api.deliver(make_message("quarterly invoice", body=b"please pay\r\n"))
    all_unread = api.get("/api/v1/search", params={"query": "numbered"}).json()
    assert all_unread["messages_count"] == 4 and all_unread["messages_unread"] == 4
    api.mailbox.mark_read([*ids, special], True)
    all_read = api.get("/api/v1/search", params={"query": "numbered"}).json()
    assert all_read["messages_count"] == 4 and all_read["messages_unread"] == 0
    api.mailbox.mark_read([*ids[1:], special], False)
    api.mailbox.mark_read([ids[0]], True)
    body = api.get("/api/v1/search", params={"query": "numbered"}).json()
    assert set(body) == LIST_KEYS
    assert body["total"] == 5 and body["unread"] == 4
    assert body["messages_count"] == 4 and body["messages_unread"] == 3
    assert [m["ID"] for m in body["messages"]] == [str(i) for i in reversed(ids)]
    only = api.get("/api/v1/search", params={"query": "  invoice  "}).json()
    assert [m["ID"] for m in only["messages"]] == [str(special)]
    paged = api.get("/api/v1/search", params={"query": "numbered", "start": "1", "limit": "2"})
    assert _ids(paged) == [str(ids[2]), str(ids[1])]
    assert paged.json()["messages_count"] == 4


def test_search_operators_through_the_api(api):
    plain = api.deliver(make_message("no files"))
    rich = api.deliver(rich_message())
    assert _ids(api.get("/api/v1/search", params={"query": "has:attachment"})) == [str(rich)]
    assert _ids(api.get("/api/v1/search", params={"query": "-has:attachment"})) == [str(plain)]
    assert _ids(api.get("/api/v1/search", params={"query": "from:joerg"})) == [str(rich)]
    assert _ids(api.get("/api/v1/search", params={"query": 'subject:"Grüße aus"'})) == [str(rich)]
    api.mailbox.mark_read([plain], True)
    assert _ids(api.get("/api/v1/search", params={"query": "is:read"})) == [str(plain)]


@pytest.mark.parametrize("query", ["", "   "])
def test_search_without_query_is_400(api, query):
    reply = api.get("/api/v1/search", params={"query": query})
    assert reply.status == 400 and reply.json()["Error"] == "Error: no search query"
    assert api.get("/api/v1/search").status == 400


@pytest.mark.parametrize("query", ["nosuchop:x", '"unterminated', "after:2024-13-45", "is:maybe"])
def test_bad_query_is_400_not_500(api, query):
    _fill(api, 1)
    reply = api.get("/api/v1/search", params={"query": query})
    assert reply.status == 400
    assert reply.json()["Error"]


def test_tz_moves_day_boundaries_like_mailpit(api):
    # 2024-05-01 13:00 UTC is already 2024-05-02 01:00 in Auckland (+12:00).
    early = deliver(
        api.mailbox, make_message("early"), received_at=datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    )
    late = deliver(
        api.mailbox, make_message("late"), received_at=datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    )
    utc = api.get("/api/v1/search", params={"query": "after:2024-05-02"})
    assert _ids(utc) == []  # UTC days without tz
    auckland = {"query": "after:2024-05-02", "tz": "Pacific/Auckland"}
    assert _ids(api.get("/api/v1/search", params=auckland)) == [str(late)]
    before = {"query": "before:2024-05-02", "tz": "Pacific/Auckland"}
    assert _ids(api.get("/api/v1/search", params=before)) == [str(early)]
    negated = {"query": "-after:2024-05-02", "tz": "Pacific/Auckland"}
    assert _ids(api.get("/api/v1/search", params=negated)) == [str(early)]
    bad = api.get("/api/v1/search", params={"query": "after:2024-05-02", "tz": "Mars/Olympus"})
    assert bad.status == 400 and "time zone" in bad.json()["Error"]


def test_apply_timezone_rewrites_only_day_terms():
    assert apply_timezone("after:2024-05-02 invoice", None) == "after:2024-05-02 invoice"
    assert (
        apply_timezone('after:2024-05-02 "before:2024-01-01" !BEFORE:2024-01-03', "Europe/Berlin")
        == 'after:2024-05-02T00:00:00+02:00 "before:2024-01-01" !BEFORE:2024-01-03T00:00:00+01:00'
    )
    assert apply_timezone("after:2024-02-30", "UTC") == "after:2024-02-30"  # left for the parser


# ---- PUT /api/v1/messages -----------------------------------------------------------


def test_put_read_by_ids_then_unread(api):
    a, b, c = _fill(api, 3)
    reply = api.request("PUT", "/api/v1/messages", json={"IDs": [str(a), str(c)], "Read": True})
    assert reply.status == 200 and reply.text == "ok"
    assert reply.content_type == "text/plain"
    assert [api.mailbox.summary(i).read for i in (a, b, c)] == [True, False, True]
    api.request("PUT", "/api/v1/messages", json={"IDs": [str(a)], "Read": False})
    assert [api.mailbox.summary(i).read for i in (a, b, c)] == [False, False, True]
    # unknown and foreign ids are ignored, as in Mailpit
    ok = api.request("PUT", "/api/v1/messages", json={"IDs": ["999999", "4oRBnPtC"], "Read": True})
    assert ok.status == 200
    assert api.mailbox.unread_count() == 2


def test_put_read_by_search_and_all(api):
    ids = _fill(api, 3)
    other = api.deliver(make_message("different"))
    api.request("PUT", "/api/v1/messages", json={"Search": "numbered", "Read": True})
    assert [api.mailbox.summary(i).read for i in ids] == [True] * 3
    assert api.mailbox.summary(other).read is False
    api.request("PUT", "/api/v1/messages", json={"Read": True})  # neither: every message
    assert api.mailbox.unread_count() == 0
    api.request("PUT", "/api/v1/messages", json={})  # Read defaults to false
    assert api.mailbox.unread_count() == 4


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"IDs": "1", "Read": true}',
        b'{"IDs": ["1"], "Read": "yes"}',
        b'{"IDs": ["1"], "Search": "numbered", "Read": true}',
        b'{"Search": "nosuchop:x", "Read": true}',
        b"[1, 2]",
    ],
)
def test_put_bad_bodies_are_400_and_change_nothing(api, body):
    _fill(api, 2)
    reply = api.request(
        "PUT", "/api/v1/messages", data=body, headers={"Content-Type": "application/json"}
    )
    assert reply.status == 400, reply.text
    assert reply.json()["Error"]
    assert api.mailbox.unread_count() == 2


# ---- DELETE /api/v1/messages, DELETE /api/v1/search ---------------------------------


def test_delete_by_ids(api):
    a, b, c = _fill(api, 3)
    reply = api.request("DELETE", "/api/v1/messages", json={"IDs": [str(a), str(c), "777"]})
    assert reply.status == 200 and reply.text == "ok"
    assert list(api.mailbox.ids()) == [b]
    # ids that name nothing delete nothing (never "all")
    api.request("DELETE", "/api/v1/messages", json={"IDs": ["not-ours"]})
    assert list(api.mailbox.ids()) == [b]


@pytest.mark.parametrize("body", [None, {}, {"IDs": []}])
def test_delete_without_ids_empties_the_mailbox(api, body):
    _fill(api, 3)
    reply = api.request("DELETE", "/api/v1/messages", json=body)
    assert reply.status == 200
    assert api.mailbox.count() == 0


def test_delete_with_broken_json_loses_nothing(api):
    _fill(api, 3)
    reply = api.request(
        "DELETE",
        "/api/v1/messages",
        data=b'{"IDs": ["1"',
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 400
    assert api.mailbox.count() == 3


def test_delete_search(api):
    ids = _fill(api, 3)
    keep = api.deliver(make_message("keeper"))
    reply = api.request("DELETE", "/api/v1/search", params={"query": "numbered"})
    assert reply.status == 200 and reply.text == "ok"
    assert list(api.mailbox.ids()) == [keep]
    assert api.request("DELETE", "/api/v1/search").status == 400
    bad = api.request("DELETE", "/api/v1/search", params={"query": "nosuchop:x"})
    assert bad.status == 400 and api.mailbox.count() == 1
    assert ids  # the numbered ones are gone


def test_delete_search_with_tz(api):
    early = deliver(
        api.mailbox, make_message("early"), received_at=datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    )
    late = deliver(
        api.mailbox, make_message("late"), received_at=datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    )
    params = {"query": "after:2024-05-02", "tz": "Pacific/Auckland"}
    assert api.request("DELETE", "/api/v1/search", params=params).status == 200
    assert list(api.mailbox.ids()) == [early]
    assert late


def test_read_only_context_refuses_writes(tmp_path):
    with running_api(tmp_path, read_only=True) as api:
        _fill(api, 2)
        assert api.request("PUT", "/api/v1/messages", json={"Read": True}).status == 403
        assert api.request("DELETE", "/api/v1/messages", json={}).status == 403
        assert api.request("DELETE", "/api/v1/search", params={"query": "numbered"}).status == 403
        assert api.mailbox.count() == 2 and api.mailbox.unread_count() == 2
        assert api.get("/api/v1/messages").status == 200


def test_rfc3339_matches_go():
    assert rfc3339(datetime(2024, 5, 1, 12, 0, 0, 120000, tzinfo=UTC)) == "2024-05-01T12:00:00.12Z"
    assert rfc3339(datetime(2024, 5, 1, 12, 0, 0, 999, tzinfo=UTC)) == "2024-05-01T12:00:00Z"


def test_tags_in_summaries_and_list(api):
    tagged = api.deliver(make_message("tagged", **{"X-Tags": "Work, urgent"}))
    plain = api.deliver(make_message("untagged"))
    body = api.get("/api/v1/messages").json()
    by_id = {m["ID"]: m for m in body["messages"]}
    assert by_id[str(tagged)]["Tags"] == ["urgent", "Work"]  # case-insensitive order
    assert by_id[str(plain)]["Tags"] == []
    assert body["tags"] == ["urgent", "Work"]
    api.mailbox.set_tags([plain], ["later"])
    assert api.get("/api/v1/messages").json()["tags"] == ["later", "urgent", "Work"]
    message = api.get(f"/api/v1/message/{tagged}").json()
    assert message["Tags"] == ["urgent", "Work"]


def test_mailpit_search_extensions_through_the_api(api):
    rich = api.deliver(rich_message(image=png_bytes(900, 900)))  # inline image, > 10 KB
    tagged = api.deliver(make_message("tagged one", **{"X-Tags": "release, QA"}))
    plain = api.deliver(make_message("plain one"))

    def search(query: str) -> list[str]:
        reply = api.get("/api/v1/search", params={"query": query})
        assert reply.status == 200, reply.text
        return _ids(reply)

    assert search("tag:release") == [str(tagged)]
    assert search("tag:qa") == [str(tagged)]  # tags match in any case
    assert search("is:tagged") == [str(tagged)]
    assert search("!is:tagged") == [str(plain), str(rich)]
    assert search("has:inline") == [str(rich)]
    assert search("larger:10K") == [str(rich)]
    assert search("smaller:10K") == [str(plain), str(tagged)]
    assert search("reply-to:reply@mail") == [str(rich)]
    assert search("message-id:rich-1") == [str(rich)]
    # the tz rewrite leaves these alone, and composes with them
    tz = {"query": "after:2000-01-01 tag:release", "tz": "Asia/Tokyo"}
    assert _ids(api.get("/api/v1/search", params=tz)) == [str(tagged)]


def test_search_accepts_instants(api):
    early = deliver(
        api.mailbox, make_message("early"), received_at=datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    )
    late = deliver(
        api.mailbox, make_message("late"), received_at=datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    )
    assert _ids(api.get("/api/v1/search", params={"query": "after:2024-05-01T12:00Z"})) == [
        str(late)
    ]
    query = {"query": "before:2024-05-01T14:00:00+02:00"}  # 12:00 UTC
    assert _ids(api.get("/api/v1/search", params=query)) == [str(early)]
