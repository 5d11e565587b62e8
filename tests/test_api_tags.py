"""Mailpit's tag endpoints (``/api/v1/tags``...) and ``Tags`` on send, over a real server."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from api_helpers import ApiThread, running_api
from smtp_helpers import make_message

from mailcatcher_gui.core.models import TagsChanged


def tags_of(api: ApiThread, message_id: int) -> tuple[str, ...]:
    return tuple(api.mailbox.summary(message_id).tags)


def two_messages(api: ApiThread) -> tuple[int, int]:
    return api.deliver(make_message(subject="one")), api.deliver(make_message(subject="two"))


def test_send_with_tags_cleans_them_and_lists_them(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        assert api.get("/api/v1/tags").json() == []
        reply = api.request(
            "POST",
            "/api/v1/send",
            json={
                "From": {"Email": "a@example.com"},
                "To": [{"Email": "b@example.com"}],
                "Tags": ["Signup", "newsletter ", "signup", "  urgent!! ", "", "a,b"],
            },
        )
        assert reply.status == 200, reply.text
        new_id = int(reply.json()["ID"])
        expected = ("a b", "newsletter", "Signup", "urgent")
        assert tags_of(api, new_id) == expected
        assert b"X-Tags: a b, newsletter, Signup, urgent" in api.mailbox.raw(new_id)
        listed = api.get("/api/v1/tags")
        assert listed.status == 200 and listed.content_type == "application/json"
        assert listed.json() == list(expected)
        message = api.get(f"/api/v1/message/{new_id}").json()
        assert message["Tags"] == list(expected)


def test_put_tags_replaces_the_tags_of_the_given_messages(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        one, two = two_messages(api)
        other = api.deliver(make_message(subject="untouched"))
        events: list[object] = []
        api.mailbox.subscribe(events.append)
        reply = api.request(
            "PUT", "/api/v1/tags", json={"IDs": [str(one), str(two)], "Tags": ["x", "Y"]}
        )
        assert reply.status == 200 and reply.text == "ok", reply.text
        assert tags_of(api, one) == tags_of(api, two) == ("x", "Y")
        assert tags_of(api, other) == ()
        assert any(isinstance(e, TagsChanged) for e in events)
        # Replace, not add
        api.request("PUT", "/api/v1/tags", json={"IDs": [str(one)], "Tags": ["z"]})
        assert tags_of(api, one) == ("z",) and tags_of(api, two) == ("x", "Y")
        # No IDs: nothing changes
        assert api.request("PUT", "/api/v1/tags", json={"Tags": ["q"]}).status == 200
        assert tags_of(api, one) == ("z",) and tags_of(api, two) == ("x", "Y")
        # An empty list, null or no Tags at all removes every tag (mailpit-api relies on it)
        api.request("PUT", "/api/v1/tags", json={"IDs": [str(one)], "Tags": []})
        api.request("PUT", "/api/v1/tags", json={"IDs": [str(two)]})
        assert tags_of(api, one) == tags_of(api, two) == ()
        api.request("PUT", "/api/v1/tags", json={"IDs": [str(two)], "Tags": ["t"]})
        api.request("PUT", "/api/v1/tags", json={"IDs": [str(two)], "Tags": None})
        assert tags_of(api, two) == ()
        assert api.get("/api/v1/tags").json() == []


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"IDs": "{one}", "Tags": ["a"]}, 400, "IDs must be an array"),
        ({"IDs": [1], "Tags": ["a"]}, 400, "IDs must be an array of strings"),
        ({"IDs": ["{one}"], "Tags": "a"}, 400, "Tags must be an array"),
        ({"IDs": ["{one}", "999999"], "Tags": ["a"]}, 404, "999999"),
        ({"IDs": ["{one}", "abc"], "Tags": ["a"]}, 404, "abc"),
    ],
)
def test_put_tags_refuses_bad_requests_and_changes_nothing(
    tmp_path: Path, body: dict, status: int, words: str
) -> None:
    with running_api(tmp_path) as api:
        one, _two = two_messages(api)
        api.mailbox.set_tags([one], ["keep"])
        fixed = {
            k: ([x.format(one=one) if isinstance(x, str) else x for x in v] if isinstance(v, list)
                else v.format(one=one) if isinstance(v, str) else v)
            for k, v in body.items()
        }  # fmt: skip
        reply = api.request("PUT", "/api/v1/tags", json=fixed)
        assert reply.status == status, reply.text
        assert words in reply.json()["Error"]
        assert tags_of(api, one) == ("keep",)


def test_rename_tag_everywhere_with_a_url_encoded_name(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        one, two = two_messages(api)
        api.mailbox.set_tags([one, two], ["Old Name", "other"])
        reply = api.request("PUT", f"/api/v1/tags/{quote('Old Name')}", json={"Name": "new-name"})
        assert reply.status == 200 and reply.text == "ok", reply.text
        assert tags_of(api, one) == tags_of(api, two) == ("new-name", "other")
        assert api.get("/api/v1/tags").json() == ["new-name", "other"]


@pytest.mark.parametrize(
    ("tag", "body", "status", "words"),
    [
        ("missing", {"Name": "new"}, 404, "not found"),
        ("old", {"Name": ""}, 400, "Name is required"),
        ("old", {}, 400, "Name is required"),
        ("old", {"Name": "!!!"}, 400, "not a usable tag name"),
        ("old", {"Name": 5}, 400, "Name must be a string"),
    ],
)
def test_rename_tag_refuses_bad_requests(
    tmp_path: Path, tag: str, body: dict, status: int, words: str
) -> None:
    with running_api(tmp_path) as api:
        one, _ = two_messages(api)
        api.mailbox.set_tags([one], ["old"])
        reply = api.request("PUT", f"/api/v1/tags/{tag}", json=body)
        assert reply.status == status, reply.text
        assert words in reply.json()["Error"]
        assert tags_of(api, one) == ("old",)


def test_delete_tag_keeps_the_messages(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        one, two = two_messages(api)
        api.mailbox.set_tags([one, two], ["gone", "stays"])
        reply = api.request("DELETE", "/api/v1/tags/gone")
        assert reply.status == 200 and reply.text == "ok"
        assert tags_of(api, one) == tags_of(api, two) == ("stays",)
        assert api.mailbox.count() == 2
        # Deleting a tag nobody has is not an error (DELETE is idempotent)
        assert api.request("DELETE", "/api/v1/tags/gone").status == 200
        assert tags_of(api, one) == ("stays",)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/v1/tags", {"IDs": ["{one}"], "Tags": ["new"]}),
        ("PUT", "/api/v1/tags/old", {"Name": "new"}),
        ("DELETE", "/api/v1/tags/old", None),
    ],
)
def test_tag_changes_are_refused_on_a_read_only_mailbox(
    tmp_path: Path, method: str, path: str, body: dict | None
) -> None:
    with running_api(tmp_path, read_only=True) as api:
        one, _ = two_messages(api)
        api.mailbox.set_tags([one], ["old"])
        if body and "IDs" in body:
            body = {**body, "IDs": [str(one)]}
        reply = api.request(method, path, json=body)
        assert reply.status == 403
        assert "read-only" in reply.json()["Error"]
        assert tags_of(api, one) == ("old",)
        assert api.get("/api/v1/tags").json() == ["old"]  # reading is fine
