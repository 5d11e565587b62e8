"""Mailpit's search operators (tag:, is:tagged, addressed:, cc:, bcc:, reply-to:,
message-id:, has:inline, larger:/smaller:, ! negation) against a real store on a
tmp file, with messages summarized from real raw bytes, each operator matching
and not matching."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailcatcher_gui.core.mime.summary import summarize
from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.core.store.database import Store
from mailcatcher_gui.core.store.search import COMPLETIONS, QueryError, compile_query


def _raw(*headers: str, body: str = "hello\r\n") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


_RELATED = (
    '--rel\r\nContent-Type: text/html\r\n\r\n<p>logo <img src="cid:logo@x"></p>\r\n'
    "--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--rel--\r\n"
)
_ATTACHED = (
    "--mix\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    "--mix\r\nContent-Type: application/pdf\r\n"
    'Content-Disposition: attachment; filename="a.pdf"\r\n\r\n%PDF-1.4\r\n--mix--\r\n'
)

MESSAGES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "alpha": (
        _raw(
            "From: Alice <alice@example.com>",
            "To: Bob <bob@example.com>",
            "Cc: Carol <carol@corp.example>",
            "Reply-To: Helpdesk <help@support.example>",
            "Message-ID: <alpha-1@mail.example>",
            "X-Tags: Urgent, Project X",
            "Subject: quarterly invoice",
        ),
        ("bob@example.com", "carol@corp.example", "dave@hidden.example"),
    ),
    "beta": (
        _raw(
            "From: erin@example.org",
            "To: frank@example.org",
            "Message-ID: <beta-2@other.example>",
            "Subject: newsletter with a logo",
            "MIME-Version: 1.0",
            'Content-Type: multipart/related; boundary="rel"',
            body=_RELATED + "x" * (1024 * 1024 + 10),  # just over 1 MiB
        ),
        ("frank@example.org",),
    ),
    "gamma": (
        _raw(
            "From: grace@example.net",
            "To: henry@example.net",
            "Message-ID: <gamma-3@mail.example>",
            "Subject: report attached",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="mix"',
            body=_ATTACHED,
        ),
        ("HENRY@example.net",),  # the envelope in another case is no blind copy
    ),
    "delta": (
        _raw("From: ivan@example.com", "To: judy@example.com", "Subject: plain note"),
        ("judy@example.com",),
    ),
}
ALL = frozenset(MESSAGES)


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("search-mailpit") / "mail.sqlite3")
    names = list(MESSAGES)
    rows = []
    for i, name in enumerate(names):
        raw, envelope_to = MESSAGES[name]
        capture = Capture(
            raw=raw,
            envelope_from="bounce@example.com",
            envelope_to=envelope_to,
            received_at=datetime(2024, 6, 1, i, tzinfo=UTC),
        )
        rows.append((capture, summarize(raw)))
    summaries, _ = store.add(rows)
    ids = {name: s.id for name, s in zip(names, summaries, strict=True)}
    store.add_tags([ids["delta"]], ["project x", "spam"])
    yield store, ids
    store.close()


def found(mailbox, query: str) -> set[str]:
    store, ids = mailbox
    by_id = {v: k for k, v in ids.items()}
    via_ids = store.ids(query)
    assert [s.id for s in store.list(query=query, limit=100)] == via_ids
    assert store.count(query) == len(via_ids)
    return {by_id[i] for i in via_ids}


CASES = [
    # tag: (any case, quoted names with spaces) and is:tagged
    ("tag:urgent", {"alpha"}),
    ("tag:URGENT", {"alpha"}),
    ('tag:"project x"', {"alpha", "delta"}),
    ("tag:project", set()),  # a tag is matched whole, not as a word
    ("tag:spam", {"delta"}),
    ("tag:nothing", set()),
    ("-tag:urgent", ALL - {"alpha"}),
    ("!tag:urgent", ALL - {"alpha"}),
    ("is:tagged", {"alpha", "delta"}),
    ("!is:tagged", {"beta", "gamma"}),
    ("-is:tagged", {"beta", "gamma"}),
    ("tag:spam tag:urgent", set()),
    # addressed: From, To, Cc, Reply-To, the envelope
    ("addressed:alice", {"alpha"}),  # From
    ("addressed:frank", {"beta"}),  # To
    ("addressed:carol", {"alpha"}),  # Cc
    ("addressed:help@support.example", {"alpha"}),  # Reply-To only
    ("addressed:dave", {"alpha"}),  # envelope only (Bcc)
    ("addressed:nobody", set()),
    ("!addressed:example.org", ALL - {"beta"}),
    # cc: header Cc only, any part of the text
    ("cc:carol", {"alpha"}),
    ("cc:corp.example", {"alpha"}),
    ("cc:rol@corp", {"alpha"}),
    ("cc:CAROL", {"alpha"}),
    ("cc:bob", set()),  # To, not Cc
    ("-cc:carol", ALL - {"alpha"}),
    # bcc: envelope recipients no To/Cc names
    ("bcc:dave", {"alpha"}),
    ("bcc:hidden.example", {"alpha"}),
    ("bcc:bob", set()),  # named in To
    ("bcc:carol", set()),  # named in Cc
    ("bcc:henry", set()),  # the same address in another case
    ("!bcc:dave", ALL - {"alpha"}),
    # reply-to:
    ("reply-to:help", {"alpha"}),
    ("reply-to:Helpdesk", {"alpha"}),
    ("reply-to:alice", set()),
    ("-reply-to:help", ALL - {"alpha"}),
    # message-id:
    ("message-id:alpha-1", {"alpha"}),
    ("message-id:<alpha-1@mail.example>", {"alpha"}),
    ("message-id:mail.example", {"alpha", "gamma"}),
    ("message-id:zzz", set()),
    ("message-id:a_pha", set()),  # "_" is no wildcard
    ("message-id:%", set()),  # nor "%"
    ("-message-id:mail.example", {"beta", "delta"}),
    # has:inline
    ("has:inline", {"beta"}),
    ("has:inlines", {"beta"}),
    ("!has:inline", ALL - {"beta"}),
    ("has:attachment", {"beta", "gamma"}),  # an inline part is an attachment too
    # larger: / smaller: (strictly; powers of 1024)
    ("larger:1M", {"beta"}),
    ("larger:1mb", {"beta"}),
    ("larger:2M", set()),
    ("smaller:1M", ALL - {"beta"}),
    ("larger:0", ALL),
    ("smaller:10B", set()),
    ("smaller:10", set()),
    ("larger:1.5K smaller:1M", set()),
    ("larger:0.05k smaller:1024KB", ALL - {"beta"}),  # 51 bytes: every small one
    ("-larger:1M", ALL - {"beta"}),
    # ! negates plain text too; a lone ! is skipped
    ("!invoice", ALL - {"alpha"}),
    ("invoice ! tag:urgent", {"alpha"}),
    # a hyphenated name that is no operator is text, as before
    ("re-sent:x", set()),
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0] for c in CASES])
def test_query(mailbox, query: str, expected: set[str]) -> None:
    assert found(mailbox, query) == set(expected)


ERRORS = [
    ("larger:abc", "'larger:abc' is not a size"),
    ("larger:2X", "units B, K, KB, M, MB"),
    ("smaller:1.M", "not a size"),
    ("smaller:", "'smaller:' needs a value"),
    ("tag:", "'tag:' needs a value"),
    ("tag:!!!", "names no tag"),
    ('tag:""', "'tag:' needs a value"),
    ("cc:", "'cc:' needs a value"),
    ('message-id:""', "'message-id:' needs a value"),
    ("addressed:", "'addressed:' needs a value"),
    ("addressed:@", "no letters or digits"),
    ("is:flagged", "is:tagged"),
    ("has:pdf", "has:inline"),
]


@pytest.mark.parametrize(("query", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_queries_raise_query_error(mailbox, query: str, message: str) -> None:
    store, _ = mailbox
    with pytest.raises(QueryError) as info:
        store.count(query)
    assert message in str(info.value)


def test_unknown_plain_operator_still_raises() -> None:
    with pytest.raises(QueryError, match="Unknown search operator 'flag:'"):
        compile_query("flag:x")


def test_new_operators_bind_every_value() -> None:
    compiled = compile_query("tag:urgent cc:bob_1 larger:2M !reply-to:x%y addressed:erin")
    for text in ("urgent", "bob", "2097152", "erin"):
        assert text not in compiled.where and text not in compiled.probe_where
    assert compiled.params == (
        "urgent",
        "%bob\\_1%",
        2 * 1024 * 1024,
        "%x\\%y%",
        '({from_addr to_addr} : "erin" *)',
        "%erin%",
    )


def test_sql_in_the_new_operators_is_only_text(mailbox) -> None:
    store, _ = mailbox
    assert store.count('cc:"\'; DROP TABLE messages; --"') == 0
    assert store.count('tag:"x\' OR 1=1 --"') == 0
    assert store.count() == len(MESSAGES)


def test_the_completions_name_the_new_operators() -> None:
    for word in ("tag:", "is:tagged", "has:inline", "addressed:", "larger:", "reply-to:"):
        assert word in COMPLETIONS
    assert "has:inlines" not in COMPLETIONS  # synonyms are not offered twice
