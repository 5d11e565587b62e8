"""The search language against a real store with a small hand-built mailbox:
every operator, negation, punctuation and non-ASCII terms, errors, and a
seeded fuzz run that must only ever produce results or QueryError."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime

import pytest

from mailcatcher_gui.core.models import Capture, Summary
from mailcatcher_gui.core.store.database import Store, StoreError
from mailcatcher_gui.core.store.search import (
    MAX_TERMS,
    QueryError,
    Term,
    compile_query,
    index_text,
    parse_query,
)


def _msg(
    *,
    received_at: datetime,
    from_: str,
    envelope_from: str,
    to: tuple[str, ...] = (),
    cc: tuple[str, ...] = (),
    envelope_to: tuple[str, ...] = (),
    subject: str = "",
    body: str = "",
    html: str = "",
    attachment_names: tuple[str, ...] = (),
) -> tuple[Capture, Summary]:
    capture = Capture(
        raw=f"Subject: {subject}\r\n\r\n{body}\r\n".encode(),
        envelope_from=envelope_from,
        envelope_to=envelope_to or (*to, *cc),
        received_at=received_at,
    )
    summary = Summary(
        from_=from_,
        to=to,
        cc=cc,
        subject=subject,
        has_html=bool(html),
        has_text=bool(body),
        attachments=len(attachment_names),
        attachment_names=attachment_names,
        snippet=body[:200],
        body_text=body,
        html_text=html,
    )
    return capture, summary


# Keys are the names the assertions use; ids are looked up after adding.
MAILBOX = {
    "invoice": _msg(
        received_at=datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        from_="Alice Example <alice@example.com>",
        envelope_from="alice@example.com",
        to=("Bob <bob+tag@x.org>",),
        subject="Your invoice #42",
        body="Please pay the invoice by Friday.",
        attachment_names=("invoice-42.pdf",),
    ),
    "gruesse": _msg(
        received_at=datetime(2024, 5, 2, 0, 0, 0, tzinfo=UTC),  # exactly midnight
        from_="Bob <bob+tag@x.org>",
        envelope_from="bob+tag@x.org",
        to=("alice@example.com",),
        cc=("Carol <carol@corp.example>",),
        subject="Grüße aus Köln",
        body="Viele Grüße, Bob",
    ),
    "kaigi": _msg(
        received_at=datetime(2024, 5, 2, 23, 59, 59, 999999, tzinfo=UTC),
        from_="山田太郎 <yamada@example.jp>",
        envelope_from="yamada@example.jp",
        to=("team@example.jp",),
        subject="会議のお知らせ",
        body="明日の会議は10時からです。",
        html="<p>明日の会議は10時からです。</p>",
    ),
    "newsletter": _msg(
        received_at=datetime(2024, 5, 3, 8, 0, tzinfo=UTC),
        from_="Newsletter <news@lists.example>",
        envelope_from="bounce-123@lists.example",
        to=("subscribers@lists.example",),
        envelope_to=("hidden@bcc.example",),  # a Bcc: only in the envelope
        subject="Weekly report",
        body="The weekly status report.",
        html="Status report with the zebra word only in HTML",
    ),
    "quoted": _msg(
        received_at=datetime(2024, 5, 4, 8, 0, tzinfo=UTC),
        from_="dave@example.com",
        envelope_from="dave@example.com",
        to=("erin@example.com",),
        subject='He said "hello" to me',
        body="There is some phrase here, and the word alice too.",
    ),
    "resume": _msg(
        received_at=datetime(2024, 5, 5, 8, 0, tzinfo=UTC),
        from_="Émile Zola <emile@example.fr>",
        envelope_from="emile@example.fr",
        to=("frank@example.com",),
        subject="C++ tips & tricks: résumé attached",
        body="See the attached résumé.",
        html="<b>See the attached résumé.</b>",
        attachment_names=("CV Émile.docx", "photo.png"),
    ),
}
ALL = frozenset(MAILBOX)


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory):
    """The hand-built mailbox in a real store, plus name -> id."""
    store = Store(tmp_path_factory.mktemp("search") / "mail.sqlite3")
    names = list(MAILBOX)
    summaries, _ = store.add([MAILBOX[n] for n in names])
    ids = {name: s.id for name, s in zip(names, summaries, strict=True)}
    store.set_read([ids["quoted"]], True)
    yield store, ids
    store.close()


def found(mailbox, query: str) -> set[str]:
    """Names of the messages ``query`` finds, checked to agree across list/count/ids."""
    store, ids = mailbox
    by_id = {v: k for k, v in ids.items()}
    via_ids = store.ids(query)
    via_list = [s.id for s in store.list(query=query, limit=1000)]
    assert via_list == via_ids  # both newest first
    assert store.count(query) == len(via_ids)
    return {by_id[i] for i in via_ids}


CASES = [
    # free words: prefix match, anywhere
    ("invo", {"invoice"}),
    ("invoice", {"invoice"}),
    ("INVOICE", {"invoice"}),
    ("friday", {"invoice"}),
    ("zebra", {"newsletter"}),  # only in the HTML text
    ("invoice-42.pdf", {"invoice"}),  # attachment name
    ("photo.png", {"resume"}),
    ("weekly report", {"newsletter"}),  # two words, both required
    ("weekly invoice", set()),
    ("alice", {"invoice", "gruesse", "quoted"}),  # from, to, and body
    # quoted phrases: exact, no prefix
    ('"pay the invoice"', {"invoice"}),
    ('"the invoice pay"', set()),
    ('"invo"', set()),
    ('"some phrase"', {"quoted"}),
    ('"said hello"', {"quoted"}),  # quotes inside the subject are just punctuation
    # from: header From or envelope sender
    ("from:alice", {"invoice"}),
    ("from:alice@example.com", {"invoice"}),
    ("from:ALICE@EXAMPLE.COM", {"invoice"}),
    ("FROM:alice", {"invoice"}),
    ("from:bob+tag@x.org", {"gruesse"}),
    ("from:bounce-123@lists.example", {"newsletter"}),  # envelope only
    ("from:lists.example", {"newsletter"}),
    ('from:"Alice Example"', {"invoice"}),
    ("from:emile", {"resume"}),
    ("from:Émile", {"resume"}),
    ("from:nobody@nowhere.example", set()),
    # to: header To or Cc, or envelope recipients
    ("to:bob+tag@x.org", {"invoice"}),
    ("to:bob", {"invoice"}),
    ("to:carol@corp.example", {"gruesse"}),  # Cc
    ("to:hidden@bcc.example", {"newsletter"}),  # envelope only (Bcc)
    ("to:alice@example.com", {"gruesse"}),
    # subject:
    ("subject:invoice", {"invoice"}),
    ("subject:report", {"newsletter"}),
    ("subject:status", set()),  # "status" is only in the body
    ("subject:Grüße", {"gruesse"}),
    ("subject:grüsse", set()),
    ("subject:koln", {"gruesse"}),  # accents are ignored
    ("subject:Köln", {"gruesse"}),
    ("resume", {"resume"}),
    ("subject:c++", {"resume"}),
    ('subject:"weekly report"', {"newsletter"}),
    ("subject:he", {"quoted"}),
    # CJK: a word matches wherever its characters appear in sequence
    ("会議", {"kaigi"}),
    ("subject:お知らせ", {"kaigi"}),
    ("subject:知らせ", {"kaigi"}),
    ("明日", {"kaigi"}),
    ("議の", {"kaigi"}),
    ("会知", set()),
    ("from:山田", {"kaigi"}),
    ("subject:明日", set()),
    # has: / is:
    ("has:attachment", {"invoice", "resume"}),
    ("has:attachments", {"invoice", "resume"}),
    ("HAS:Attachment", {"invoice", "resume"}),
    ("has:html", {"kaigi", "newsletter", "resume"}),
    ("has:text", ALL),
    ("is:read", {"quoted"}),
    ("is:unread", ALL - {"quoted"}),
    # dates, UTC days: after: inclusive, before: exclusive
    ("after:2024-05-02", ALL - {"invoice"}),  # midnight exactly is included
    ("before:2024-05-02", {"invoice"}),
    ("after:2024-05-02 before:2024-05-03", {"gruesse", "kaigi"}),
    ("after:2024-05-03 before:2024-05-03", set()),
    ("before:2024-05-01", set()),
    ("after:2024-05-06", set()),
    # negation of every kind of term
    ("-from:bob", ALL - {"gruesse"}),
    ("-to:bob", ALL - {"invoice"}),
    ("-subject:report", ALL - {"newsletter"}),
    ('-"some phrase"', ALL - {"quoted"}),
    ("-invo", ALL - {"invoice"}),
    ("-has:attachment", ALL - {"invoice", "resume"}),
    ("-is:read", ALL - {"quoted"}),
    ("-after:2024-05-02", {"invoice"}),
    ("-before:2024-05-05", {"resume"}),
    ("-会議", ALL - {"kaigi"}),
    ("-from:bob -from:alice", ALL - {"gruesse", "invoice"}),
    # combinations (all ANDed)
    ("invoice has:attachment", {"invoice"}),
    ("invoice -has:attachment", set()),
    ("alice -from:alice is:unread", {"gruesse"}),
    ("report -zebra", set()),
    ("attached has:html -photo", set()),
    ("résumé has:attachment after:2024-05-05", {"resume"}),
    # odd but legal
    ("10:30", set()),  # not an operator name: searched as words
    ("10", {"kaigi"}),
    ("  invoice   ", {"invoice"}),
    ("", ALL),
    ("   ", ALL),
    ("'); DROP TABLE messages; --", set()),
    ("invoice - bob", {"invoice"}),  # the lone "-" is skipped
    ("tips & tricks", {"resume"}),
    ("-!!! friday", {"invoice"}),
    ("OR", {"invoice", "gruesse"}),  # a word (prefix of "org"), not an FTS5 operator
    ('"OR"', set()),
    ("AND NOT", set()),
    ("NEAR(invoice", set()),
    ("invoice*", {"invoice"}),
    ("a", set()),  # a one-letter word is matched whole, not as a prefix
    ("c", {"resume"}),  # "C++" has the word "c"
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_query(mailbox, query: str, expected: set[str]) -> None:
    assert found(mailbox, query) == set(expected)


def test_none_query_matches_everything(mailbox) -> None:
    store, ids = mailbox
    assert set(store.ids(None)) == set(ids.values())
    assert store.count(None) == len(ids)


def test_sql_in_a_query_is_only_text(mailbox) -> None:
    store, _ = mailbox
    assert store.count("x' OR 1=1 --") == 0
    assert store.count('from:"; DELETE FROM messages; --"') == 0
    assert store.count() == len(MAILBOX)


ERRORS = [
    ("foo:bar", "Unknown search operator 'foo:'"),
    ("http://example.com", "Unknown search operator 'http:'"),
    ('subject:"unterminated', "Unterminated quote"),
    ('"', "Unterminated quote"),
    ("before:2024-13-01", "not a valid calendar date"),
    ("after:2024-02-30", "not a valid calendar date"),
    ("before:yesterday", "YYYY-MM-DD"),
    ("after:2024-5-1", "YYYY-MM-DD"),
    ("after:２０２４-０５-０１", "YYYY-MM-DD"),  # full-width digits
    ("from:", "'from:' needs a value"),
    ('to:""', "'to:' needs a value"),
    ("subject:", "'subject:' needs a value"),
    ("has:", "'has:' needs a value"),
    ("before:", "'before:' needs a value"),
    ("has:pdf", "has:attachment"),
    ("is:starred", "is:read or is:unread"),
    ("-", "no letters or digits"),
    ("- & --", "no letters or digits"),
    ('""', "Empty quotes"),
    ("!!!", "no letters or digits"),
    ('"!!!"', "no letters or digits"),
    ("subject:...", "no letters or digits"),
    ("from:@", "no letters or digits"),
    ("bad\ud800surrogate", "not valid Unicode"),
    (" ".join(["w"] * (MAX_TERMS + 1)), "too many terms"),
    ("x" * 5000, "too long"),
]


@pytest.mark.parametrize(("query", "message"), ERRORS, ids=[e[1] for e in ERRORS])
def test_bad_queries_raise_query_error(mailbox, query: str, message: str) -> None:
    store, _ = mailbox
    for call in (store.count, store.ids, lambda q: store.list(query=q)):
        with pytest.raises(QueryError) as info:
            call(query)
        assert message in str(info.value)
        assert isinstance(info.value, ValueError)


def test_parse_query_terms() -> None:
    assert parse_query('-from:"Alice Smith" invo subject:re:hi IS:Unread') == (
        Term("from", "Alice Smith", negated=True, phrase=True),
        Term("text", "invo"),
        Term("subject", "re:hi"),
        Term("is", "unread"),
    )
    assert parse_query(None) == () and parse_query(" \t\n") == ()
    assert parse_query('"from:bob"') == (Term("text", "from:bob", phrase=True),)


def test_compiled_sql_binds_every_value() -> None:
    compiled = compile_query("invo -from:bob has:attachment before:2024-01-02")
    assert "invo" not in compiled.where and "bob" not in compiled.where
    assert "2024" not in compiled.where and "?" in compiled.where
    assert compiled.params == (
        1704153600000000,  # 2024-01-02T00:00:00Z in microseconds
        '("invo" *)',
        '(from_addr : "bob" *)',
    )
    assert compile_query(None) == compile_query("  ")
    assert compile_query("").where == "1" and compile_query("").params == ()


def test_index_text_separates_cjk_characters() -> None:
    assert index_text("plain text") == "plain text"
    assert index_text("会議abc").split() == ["会", "議", "abc"]
    assert index_text("한국어").split() == ["한", "국", "어"]


def _random_query(rnd: random.Random) -> str:
    pieces = [
        "from:", "to:", "subject:", "has:", "is:", "before:", "after:", "foo:", "-", "--",
        '"', '""', "'", "*", "^", "(", ")", "{", "}", ":", "+", "NEAR", "AND", "OR", "NOT",
        "NEAR/2", "@", ".", ",", ";", "\\", "%", "_", "\x00", "\t", "\n", " ", " ", " ",
        "attachment", "read", "unread", "html", "2024-05-02", "2024-02-30", "alice",
        "invoice", "bob+tag@x.org", "Grüße", "会議", "é", "\u200b", "\ufeff", "🙂", "\ud83d",
        "\x7f", "\u0301", "0", "99999-99-99", "x" * 50,
        "tag:", "cc:", "bcc:", "reply-to:", "addressed:", "message-id:", "larger:", "smaller:",
        "!", "tagged", "inline", "2M", "1.5kb", "-to:",
    ]  # fmt: skip
    k = rnd.randint(0, 8)
    parts = []
    for _ in range(k):
        if rnd.random() < 0.8:
            parts.append(rnd.choice(pieces))
        else:
            parts.append("".join(chr(rnd.randint(1, 0x2FFFF)) for _ in range(rnd.randint(1, 4))))
    return "".join(parts)


def test_fuzz_never_leaks_sqlite_errors(mailbox) -> None:
    store, _ = mailbox
    rnd = random.Random(20240501)
    outcomes = {"ok": 0, "QueryError": 0}
    for _ in range(3000):
        query = _random_query(rnd)
        try:
            n = store.count(query)
            page = store.list(query=query, sort=rnd.choice(["subject", "id", "received_at"]))
        except QueryError as exc:
            assert str(exc)
            outcomes["QueryError"] += 1
        except (sqlite3.Error, StoreError) as exc:  # the failure this test hunts for
            pytest.fail(f"{query!r} leaked {exc!r}")
        else:
            assert 0 <= n <= len(MAILBOX) and len(page) == n
            outcomes["ok"] += 1
    # both paths were exercised in earnest
    assert outcomes["ok"] > 500 and outcomes["QueryError"] > 500, outcomes
