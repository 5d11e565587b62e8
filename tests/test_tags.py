"""Tags: Mailpit's cleaning rule, X-Tags at ingest, every Mailbox tag operation and
its TagsChanged event, and tags going with their messages (delete, prune, clear),
on a real store file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.mime.summary import summarize
from mailcatcher_gui.core.models import Capture, MessagesDeleted, TagsChanged
from mailcatcher_gui.core.store import InvalidTag
from mailcatcher_gui.core.store.database import Store
from mailcatcher_gui.core.tag_names import clean_tag, tags_from_header, unique_tags


def _capture(n: int, *, tags: str | None = None, extra: str = "") -> Capture:
    header = f"X-Tags: {tags}\r\n" if tags is not None else ""
    raw = (
        f"From: s{n}@example.com\r\nTo: r@example.com\r\n{header}{extra}"
        f"Subject: message {n}\r\n\r\nbody {n}\r\n"
    ).encode()
    return Capture(
        raw=raw,
        envelope_from=f"s{n}@example.com",
        envelope_to=("r@example.com",),
        received_at=datetime.now(UTC),
    )


def _tag_rows(path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT message_id, tag FROM message_tags ORDER BY 1, 2").fetchall()


# ---- the cleaning rule -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("urgent", "urgent"),
        ("  two   words ", "two words"),
        ("a/b", "a b"),
        ("v1.2_beta-3", "v1.2_beta-3"),
        ("!!!", ""),
        ("Grüße", "Gr e"),  # non-ASCII letters are not tag characters (Mailpit's rule)
        ("tab\there", "tab here"),
    ],
)
def test_clean_tag_follows_mailpits_rule(raw: str, clean: str) -> None:
    assert clean_tag(raw) == clean


def test_unique_tags_drops_empty_and_case_duplicates_and_sorts_case_insensitively() -> None:
    assert unique_tags(["b", "Alpha", "", "ALPHA", "!!", "c d"]) == ("Alpha", "b", "c d")
    assert unique_tags([]) == ()


def test_x_tags_header_value_is_split_on_commas() -> None:
    assert tags_from_header("Signup, newsletter , signup,, ") == ("newsletter", "Signup")
    assert tags_from_header("   ") == ()


def test_summary_takes_tags_from_every_x_tags_header() -> None:
    raw = b"X-Tags: one, Two\r\nX-Tags: =?utf-8?q?three?=\r\nSubject: s\r\n\r\nb\r\n"
    assert summarize(raw).tags == ("one", "three", "Two")
    assert summarize(b"Subject: s\r\n\r\nb\r\n").tags == ()


# ---- ingest -------------------------------------------------------------------


def test_ingest_stores_x_tags_and_the_list_shows_them(tmp_path) -> None:
    path = tmp_path / "m.sqlite3"
    mailbox = Mailbox(Store(path))
    added = []
    mailbox.subscribe(added.append)
    try:
        tagged = mailbox.accept_sync(_capture(1, tags="Signup, newsletter"))
        plain = mailbox.accept_sync(_capture(2))
        assert added[0].summaries[0].tags == ("newsletter", "Signup")
        assert added[1].summaries[0].tags == ()
        rows = {s.id: s.tags for s in mailbox.list()}
        assert rows == {tagged: ("newsletter", "Signup"), plain: ()}
        assert mailbox.summary(tagged).tags == ("newsletter", "Signup")
        assert mailbox.get(tagged).stored.summary.tags == ("newsletter", "Signup")
        assert mailbox.summary(tagged).to_json()["tags"] == ["newsletter", "Signup"]
        assert mailbox.tags() == {"newsletter": 1, "Signup": 1}
        assert _tag_rows(path) == [(tagged, "newsletter"), (tagged, "Signup")]  # NOCASE order
    finally:
        mailbox.close()


def test_a_tag_arriving_in_another_case_takes_the_spelling_in_use(mailbox) -> None:
    first = mailbox.accept_sync(_capture(1, tags="Urgent"))
    added = []
    mailbox.subscribe(added.append)
    second = mailbox.accept_sync(_capture(2, tags="URGENT, new"))
    assert added[0].summaries[0].tags == ("new", "Urgent")
    assert mailbox.summary(second).tags == ("new", "Urgent")
    assert mailbox.tags() == {"new": 1, "Urgent": 2}
    assert mailbox.summary(first).tags == ("Urgent",)


# ---- operations and events ----------------------------------------------------


def test_set_tags_replaces_and_announces_only_changed_messages(mailbox) -> None:
    a = mailbox.accept_sync(_capture(1, tags="old"))
    b = mailbox.accept_sync(_capture(2))
    events = []
    mailbox.subscribe(events.append)
    mailbox.set_tags([a, b, 999], ["x", "  y!", "X"])
    assert events == [TagsChanged(((a, ("x", "y")), (b, ("x", "y"))))]
    assert mailbox.summary(a).tags == ("x", "y")
    mailbox.set_tags([a], ["y", "x"])  # the same set: no event
    assert len(events) == 1
    mailbox.set_tags([a], [])
    assert events[-1] == TagsChanged(((a, ()),))
    assert mailbox.tags() == {"x": 1, "y": 1}


def test_add_tags_keeps_existing_and_skips_messages_that_have_them(mailbox) -> None:
    a = mailbox.accept_sync(_capture(1, tags="keep"))
    b = mailbox.accept_sync(_capture(2, tags="New"))
    events = []
    mailbox.subscribe(events.append)
    mailbox.add_tags([a, b], ["new"])
    assert events == [TagsChanged(((a, ("keep", "New")),))]  # b had it; spelling in use
    mailbox.add_tags([a, b], ["new"])
    assert len(events) == 1
    assert mailbox.tags() == {"keep": 1, "New": 2}


def test_remove_tags_in_any_case(mailbox) -> None:
    a = mailbox.accept_sync(_capture(1, tags="one, two"))
    b = mailbox.accept_sync(_capture(2, tags="three"))
    events = []
    mailbox.subscribe(events.append)
    mailbox.remove_tags([a, b], ["ONE"])
    assert events == [TagsChanged(((a, ("two",)),))]
    mailbox.remove_tags([a, b], ["missing"])
    assert len(events) == 1
    assert mailbox.tags() == {"three": 1, "two": 1}


def test_rename_tag_merges_and_counts_messages(mailbox) -> None:
    a = mailbox.accept_sync(_capture(1, tags="draft"))
    b = mailbox.accept_sync(_capture(2, tags="draft, final"))
    c = mailbox.accept_sync(_capture(3, tags="final"))
    events = []
    mailbox.subscribe(events.append)
    assert mailbox.rename_tag("Draft", "final") == 2
    assert events == [TagsChanged(((a, ("final",)), (b, ("final",))))]
    assert mailbox.tags() == {"final": 3}
    assert mailbox.rename_tag("nothing", "x") == 0
    assert len(events) == 1
    assert mailbox.rename_tag("final", "Final") == 3  # only the spelling changes
    assert mailbox.summary(c).tags == ("Final",)
    assert mailbox.tags() == {"Final": 3}


def test_rename_to_an_unusable_name_raises_and_changes_nothing(mailbox) -> None:
    a = mailbox.accept_sync(_capture(1, tags="keep"))
    with pytest.raises(InvalidTag, match="not a usable tag name"):
        mailbox.rename_tag("keep", "!!!")
    assert mailbox.summary(a).tags == ("keep",)


def test_delete_tag_takes_it_off_every_message(mailbox) -> None:
    a = mailbox.accept_sync(_capture(1, tags="gone, stays"))
    b = mailbox.accept_sync(_capture(2, tags="gone"))
    events = []
    mailbox.subscribe(events.append)
    assert mailbox.delete_tag("GONE") == 2
    assert events == [TagsChanged(((a, ("stays",)), (b, ())))]
    assert mailbox.delete_tag("gone") == 0
    assert mailbox.tags() == {"stays": 1}


def test_a_single_string_is_refused_rather_than_split_into_characters(mailbox) -> None:
    a = mailbox.accept_sync(_capture(1))
    with pytest.raises(TypeError):
        mailbox.add_tags([a], "urgent")  # type: ignore[arg-type]


# ---- tags go with their messages ---------------------------------------------


def test_delete_prune_and_clear_take_the_tags_along(tmp_path) -> None:
    path = tmp_path / "m.sqlite3"
    mailbox = Mailbox(Store(path))
    try:
        ids = [mailbox.accept_sync(_capture(i, tags=f"t{i}, shared")) for i in range(4)]
        mailbox.delete([ids[0]])
        assert {i for i, _ in _tag_rows(path)} == set(ids[1:])
        events = []
        mailbox.subscribe(events.append)
        assert mailbox.set_retention(2) == [ids[1]]
        assert events == [MessagesDeleted((ids[1],))]
        assert {i for i, _ in _tag_rows(path)} == set(ids[2:])
        assert mailbox.tags() == {"shared": 2, "t2": 1, "t3": 1}
        mailbox.set_retention(0)
        mailbox.clear()
        assert _tag_rows(path) == []
        assert mailbox.tags() == {}
        again = mailbox.accept_sync(_capture(9, tags="shared"))
        assert mailbox.tags() == {"shared": 1} and mailbox.summary(again).tags == ("shared",)
    finally:
        mailbox.close()


def test_retention_inside_the_batch_that_added_tagged_mail(tmp_path) -> None:
    path = tmp_path / "m.sqlite3"
    store = Store(path)
    try:
        rows = [(_capture(i, tags="t"), summarize(_capture(i, tags="t").raw)) for i in range(5)]
        summaries, pruned = store.add(rows, max_messages=2)
        assert len(pruned) == 3
        assert [i for i, _ in _tag_rows(path)] == [s.id for s in summaries[3:]]
        assert store.tag_counts() == {"t": 2}
    finally:
        store.close()


def test_a_version_4_store_is_upgraded_and_its_messages_can_be_tagged(tmp_path) -> None:
    path = tmp_path / "v4.sqlite3"
    old = Store(path)
    (first,), _ = old.add([(_capture(1), summarize(_capture(1).raw))])
    old.close()
    with sqlite3.connect(path) as conn:  # undo schema 5 by hand: a genuine version 4 file
        conn.execute("DROP TABLE message_tags")
        for column in ("reply_to", "bcc", "inline_parts"):
            conn.execute(f"ALTER TABLE messages DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 4")
    mailbox = Mailbox(Store(path))
    try:
        assert mailbox.summary(first.id).tags == ()
        mailbox.add_tags([first.id], ["later"])
        assert mailbox.summary(first.id).tags == ("later",)
        assert [s.tags for s in mailbox.list(query="tag:later")] == [("later",)]
    finally:
        mailbox.close()
