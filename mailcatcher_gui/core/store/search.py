"""The search box language, compiled to an SQL ``WHERE`` fragment.

Syntax (terms are separated by whitespace and all must match). The operators
are Mailpit's, so a search written for Mailpit means the same here:

=====================  ==========================================================
``invo``               a word anywhere (subject, addresses, text and HTML body,
                       attachment names), matched as a *prefix*: finds "invoice"
                       (a final one-letter word is matched whole, see below)
``"weekly report"``    an exact phrase (no prefix matching)
``from:alice``         header From or envelope sender (``from:alice@example.com``)
``to:bob+tag@x.org``   header To or Cc, or any envelope recipient
``subject:Grüße``      the subject
``cc:carol``           header Cc (part of the text, see below)
``bcc:dave``           a blind copy: an envelope recipient no To/Cc names
``reply-to:help``      header Reply-To
``addressed:erin``     any of From, To, Cc, Reply-To and the envelope
``message-id:abc@x``   the Message-ID header (part of the text)
``tag:urgent``         tagged ``urgent`` (any case); ``tag:"two words"``
``has:attachment``     at least one attachment (also ``has:attachments``);
                       ``has:inline`` an inline part (``cid:`` image);
                       ``has:html`` / ``has:text`` for the body kinds
``is:read``            read / ``is:unread``; ``is:tagged`` has any tag
``larger:2M``          bigger than 2 MiB as received; ``smaller:100K``. Units
                       B, K/KB, M/MB (powers of 1024), decimals allowed
``after:2024-05-01``   received on or after that day (00:00 UTC, inclusive)
``before:2024-05-02``  received before that day (00:00 UTC, exclusive)
``after:2024-05-01T00:00+12:00``  the same with an instant instead of a UTC day
                       (``Z`` or an offset required; the HTTP API's ``tz``
                       turns a day into such an instant)
``-term``, ``!term``   negates any term: ``-from:bob``, ``!tag:spam``,
                       ``-"some phrase"``, ``-has:attachment``
=====================  ==========================================================

``from:``, ``to:``, ``subject:`` and ``addressed:`` match words (below).
``cc:``, ``bcc:``, ``reply-to:`` and ``message-id:`` match any part of the
text, as Mailpit's do (``cc:ol@corp`` finds carol@corp.example;
case-insensitive for ASCII letters only). ``addressed:x`` is ``from:x`` or
``to:x`` (which already covers Cc and the whole envelope) or
``reply-to:x``. ``bcc:``, ``reply-to:`` and ``has:inline`` know only messages
stored since schema version 5 (see ``core.store.migrations``). A ``tag:``
value is cleaned like any tag (``core.tag_names``).

So ``after:D before:E`` covers the days D up to, not including, E (the Gmail
convention), and ``after:D before:D+1`` is exactly day D. Operator names and the
values of ``has:``/``is:`` are case-insensitive. ``from:``/``to:``/``subject:``
take a word (prefix-matched) or a quoted phrase: ``subject:"status report"``.

Bare words made only of punctuation ("-", "&", "...") are skipped, as the
index has no words for them; a search made only of such words, a quoted
phrase or operator value without a letter or digit, an unknown ``name:``, an
unterminated quote, an empty operator value, a bad date or size, or a tag
name with nothing left after cleaning raise ``QueryError``. (A hyphenated
``name:`` that is no operator, such as ``re-sent:``, is searched as words.)

Word matching is the FTS5 ``unicode61`` tokenizer's: case-insensitive, accents
ignored ("resume" finds "résumé"), and punctuation separates words, so
``alice@example.com`` is searched as the adjacent words alice, example, com
(it also matches "alice.example.com"; that looseness is what lets
``from:example.com`` find a whole domain). Unquoted values match their last
word as a prefix, except a one-character last word, which would match nearly
every message (slowly) and so is matched as a whole word.

Chinese, Japanese and Korean text has no spaces between words, so
``index_text`` puts every CJK character in its own token both when indexing
and when querying; a CJK word then matches wherever its characters appear
consecutively (Thai and other unspaced scripts are not split).

Every piece of user input reaches SQLite as a bound parameter, and text bound
for FTS5 ``MATCH`` is always inside a double-quoted FTS5 string (quotes
doubled), and text bound for ``LIKE`` has its ``%``, ``_`` and ``\\``
escaped, so no input can produce an SQL or FTS5 syntax error. What the
language cannot mean raises ``QueryError`` with a sentence for the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ..tag_names import clean_tag

__all__ = [
    "COMPLETIONS",
    "CompiledQuery",
    "QueryError",
    "Term",
    "compile_query",
    "index_text",
    "parse_query",
]

FTS_TABLE = "messages_fts"

# Which FTS5 columns a text operator searches; None = every column.
_TEXT_FIELDS: dict[str, str | None] = {
    "text": None,
    "from": "from_addr",
    "to": "to_addr",
    "subject": "subject",
}
# Operators matching any part of a column's text (LIKE), as Mailpit's do.
_LIKE_FIELDS: dict[str, str] = {
    "cc": "m.header_cc",
    "bcc": "m.bcc",
    "reply-to": "m.reply_to",
    "message-id": "m.message_id",
}
# addressed: = from: or to: (which covers Cc and the envelope) or reply-to:
_ADDRESSED_COLUMNS = "{from_addr to_addr}"
_TAGGED = "m.id IN (SELECT message_id FROM message_tags)"
_WITH_TAG = "m.id IN (SELECT message_id FROM message_tags WHERE tag = ?)"
_FLAG_SQL: dict[tuple[str, str], str] = {
    ("has", "attachment"): "m.attachments > 0",
    ("has", "attachments"): "m.attachments > 0",
    ("has", "html"): "m.has_html = 1",
    ("has", "text"): "m.has_text = 1",
    ("has", "inline"): "m.inline_parts > 0",
    ("has", "inlines"): "m.inline_parts > 0",
    ("is", "read"): "m.read = 1",
    ("is", "unread"): "m.read = 0",
    ("is", "tagged"): _TAGGED,
}
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2}
_OPERATORS = (
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "addressed",
    "subject",
    "message-id",
    "tag",
    "has",
    "is",
    "larger",
    "smaller",
    "before",
    "after",
)
#: What the search field offers to complete (the operators and their fixed values).
COMPLETIONS: tuple[str, ...] = (
    *(f"{op}:" for op in _OPERATORS if op not in ("has", "is")),
    *(f"{field}:{value}" for field, value in _FLAG_SQL if value not in ("attachments", "inlines")),
)

# Caps that keep a pasted novel from building an expression SQLite refuses
# (its expression depth limit is 1000) or a MATCH that takes seconds.
MAX_QUERY_LENGTH = 4000
MAX_TERMS = 64

_OPERATOR_RE = re.compile(r"([A-Za-z]+(?:-[A-Za-z]+)*):(.*)", re.DOTALL)
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)([a-z]*)", re.ASCII)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_INSTANT_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})",
    re.ASCII | re.IGNORECASE,
)
_WORD_RE = re.compile(r"[^\W_]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Scripts written without spaces between words: Han (incl. extensions and
# compatibility ideographs), Hiragana, Katakana (+ half-width), Bopomofo, Hangul.
_CJK_RE = re.compile(
    "(["
    "\u2e80-\u2fdf"
    "\u3040-\u30ff"
    "\u3100-\u312f"
    "\u3190-\u31ff"
    "\u3400-\u4dbf"
    "\u4e00-\u9fff"
    "\uac00-\ud7af"
    "\uf900-\ufaff"
    "\uff66-\uff9f"
    "\U00020000-\U0003134f"
    "])"
)


class QueryError(ValueError):
    """The search text cannot be understood; ``str(e)`` is meant for the user."""


@dataclass(frozen=True, slots=True)
class Term:
    """One parsed search term.

    ``field`` is ``"text"`` for a bare word or phrase, otherwise the operator
    name. ``phrase`` is True when the value was quoted (exact, no prefix match).
    """

    field: str
    value: str
    negated: bool = False
    phrase: bool = False


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """An SQL boolean expression over ``messages AS m`` and its parameters.

    ``where`` and ``probe_where`` mean the same and take the same ``params``;
    they differ only in the plan they steer SQLite to. ``where`` lets the
    full-text matches drive the query (one row lookup per match: best for
    ``count`` and for rare words). ``probe_where`` makes SQLite walk the
    ``ORDER BY`` index and only *probe* the set of matches, so a page of a
    common word costs a few hundred index steps instead of a lookup per
    match; use it for ``ORDER BY ... LIMIT`` pages. ``match_only`` is the FTS5
    expression when the query is nothing but positive text terms: then the
    count can be taken from the FTS table alone.
    """

    where: str
    params: tuple[object, ...]
    probe_where: str = ""
    match_only: str | None = None


def index_text(text: str) -> str:
    """``text`` as handed to the FTS5 tokenizer: CJK characters become separate tokens.

    The store applies this to everything it indexes and the compiler to every
    searched value, so both sides agree on the tokens.
    """
    if text.isascii() or _CJK_RE.search(text) is None:  # isascii() is O(1)
        return text
    return _CJK_RE.sub(r" \1 ", text)


def parse_query(text: str | None) -> tuple[Term, ...]:
    """Split ``text`` into terms. Raises ``QueryError`` for anything malformed."""
    if text is None:
        return ()
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"The search is too long (over {MAX_QUERY_LENGTH} characters).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QueryError("The search contains characters that are not valid Unicode.") from None
    # NUL ends a string for FTS5's parser; it is no word character anyway.
    text = text.replace("\x00", " ")
    raw_terms = _split_terms(text)
    if len(raw_terms) > MAX_TERMS:
        raise QueryError(f"The search has too many terms (more than {MAX_TERMS}).")
    terms = [t for t in map(_parse_term, raw_terms) if t is not None]
    if raw_terms and not terms:
        raise QueryError(f"{text.strip()!r} has no letters or digits to search for.")
    return tuple(terms)


def compile_query(text: str | None) -> CompiledQuery:
    """Compile search text to ``CompiledQuery``; an empty search matches everything."""
    clauses: list[str] = []
    params: list[object] = []
    match_all: list[str] = []  # FTS expressions that must match
    match_none: list[str] = []  # FTS expressions that must not match
    probes: list[str] = []
    for term in parse_query(text):
        if term.field in _TEXT_FIELDS:
            (match_none if term.negated else match_all).append(
                _fts_expression(term, _TEXT_FIELDS[term.field])
            )
            continue
        sql, values = _clause(term)
        params.extend(values)
        # In a probe the ORDER BY index drives: no index on id for an "m.id IN" term.
        probe = "+" + sql if sql.startswith("m.id IN") else sql
        clauses.append(f"NOT ({sql})" if term.negated else f"({sql})")
        probes.append(f"NOT ({probe})" if term.negated else f"({probe})")
    match_only = None
    if match_all:
        expression = " AND ".join(match_all)
        subquery = f"(SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)"
        clauses.append(f"m.id IN {subquery}")
        probes.append(f"+m.id IN {subquery}")  # unary + : no index on id for this term
        params.append(expression)
        if not clauses[:-1] and not match_none:
            match_only = expression
    if match_none:
        clause = f"m.id NOT IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)"
        clauses.append(clause)
        probes.append(clause)
        params.append(" OR ".join(match_none))
    return CompiledQuery(
        where=" AND ".join(clauses) or "1",
        params=tuple(params),
        probe_where=" AND ".join(probes) or "1",
        match_only=match_only,
    )


# ---- parsing ------------------------------------------------------------


def _split_terms(text: str) -> list[str]:
    """Whitespace-separated terms; whitespace inside double quotes does not split."""
    terms: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch.isspace() and not quoted:
            if current:
                terms.append("".join(current))
                current = []
        else:
            current.append(ch)
    if quoted:
        raise QueryError(f'Unterminated quote in {"".join(current)!r}: add the closing ".')
    if current:
        terms.append("".join(current))
    return terms


def _parse_term(raw: str) -> Term | None:
    """One term, or None for a bare word that is only punctuation ("-", "&")."""
    negated = raw.startswith(("-", "!"))
    body = raw[1:] if negated else raw
    if not body:
        return None  # a lone "-", as in "invoice - bob"
    field = "text"
    value = body
    m = _OPERATOR_RE.fullmatch(body)
    if m is not None and (m.group(1).lower() in _OPERATORS or "-" not in m.group(1)):
        name = m.group(1).lower()
        if name not in _OPERATORS:
            raise QueryError(
                f"Unknown search operator '{m.group(1)}:'. Known: "
                + ", ".join(f"{op}:" for op in _OPERATORS)
                + f'. To search for the text itself, quote it: "{body}"'
            )
        field, value = name, m.group(2)
    phrase = '"' in value
    value = value.replace('"', "")
    if field in _TEXT_FIELDS or field == "addressed":
        if not value.strip():
            if field == "text":
                raise QueryError("Empty quotes: put the phrase to search for between them.")
            raise QueryError(f"'{field}:' needs a value, e.g. {field}:alice.")
        if not _has_word_characters(value):
            if field == "text" and not phrase:
                return None  # "Tom & Jerry": the "&" cannot be searched for anyway
            raise QueryError(f"{value!r} has no letters or digits to search for.")
        return Term(field, value, negated, phrase)
    value = value.strip()
    if not value:
        raise QueryError(f"'{field}:' needs a value, e.g. {_EXAMPLES[field]}.")
    if field in _LIKE_FIELDS:
        return Term(field, value, negated, phrase)
    if field == "tag":
        tag = clean_tag(value)
        if not tag:
            raise QueryError(
                f"'tag:{value}' names no tag: tags are letters, digits, spaces, '-', '_' and '.'."
            )
        return Term(field, tag, negated, phrase)
    if field in ("larger", "smaller"):
        _size_bytes(field, value)  # raises for a bad size
        return Term(field, value, negated, phrase)
    if field in ("has", "is"):
        value = value.lower()
        if (field, value) not in _FLAG_SQL:
            allowed = " or ".join(f"{f}:{v}" for f, v in _FLAG_SQL if f == field)
            raise QueryError(f"Unknown value '{field}:{value}'; use {allowed}.")
        return Term(field, value, negated, phrase)
    if _INSTANT_RE.fullmatch(value) is not None:
        try:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            raise QueryError(f"'{field}:{value}' is not a valid date and time.") from None
        return Term(field, value.upper(), negated, phrase)
    if _DATE_RE.fullmatch(value) is None:
        raise QueryError(f"'{field}:{value}' is not a date; write it as YYYY-MM-DD.")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"'{field}:{value}' is not a valid calendar date.") from None
    return Term(field, value, negated, phrase)


_EXAMPLES = {
    "cc": "cc:carol",
    "bcc": "bcc:dave",
    "reply-to": "reply-to:help",
    "message-id": "message-id:1234@example.com",
    "tag": "tag:urgent",
    "larger": "larger:2M",
    "smaller": "smaller:100K",
    "has": "has:attachment",
    "is": "is:unread",
    "before": "before:2024-05-01",
    "after": "after:2024-05-01",
}


def _has_word_characters(value: str) -> bool:
    """Whether the tokenizer can find a word in ``value``.

    In ASCII only letters and digits are word characters; beyond ASCII we
    assume yes and let FTS5 decide (a punctuation-only phrase simply matches
    nothing there).
    """
    return any(ch.isalnum() or ord(ch) > 127 for ch in value)


# ---- compiling ----------------------------------------------------------


def _clause(term: Term) -> tuple[str, list[object]]:
    """A term other than a plain text one as (SQL over ``m``, its parameters), not negated."""
    field = term.field
    if field in ("before", "after"):
        op = "<" if field == "before" else ">="
        return f"m.received_at {op} ?", [_day_start_micros(term)]
    if field in ("larger", "smaller"):
        op = ">" if field == "larger" else "<"
        return f"m.size {op} ?", [_size_bytes(field, term.value)]
    if field in _LIKE_FIELDS:
        return f"{_LIKE_FIELDS[field]} LIKE ? ESCAPE '\\'", [_like_pattern(term.value)]
    if field == "tag":
        return _WITH_TAG, [term.value]
    if field == "addressed":
        match = f"m.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)"
        reply_to = "m.reply_to LIKE ? ESCAPE '\\'"
        words = _fts_expression(term, _ADDRESSED_COLUMNS)
        return f"{match} OR {reply_to}", [words, _like_pattern(term.value)]
    return _FLAG_SQL[(field, term.value)], []


def _like_pattern(value: str) -> str:
    """``%value%`` with LIKE's wildcards (and the escape character) taken literally."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _size_bytes(field: str, value: str) -> int:
    """``2M`` -> 2097152 (Mailpit's units, powers of 1024). Raises ``QueryError``."""
    m = _SIZE_RE.fullmatch(value.lower())
    if m is None or m.group(2) not in _SIZE_UNITS:
        raise QueryError(
            f"'{field}:{value}' is not a size; write it like {_EXAMPLES[field]} "
            "(units B, K, KB, M, MB)."
        )
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])


def _fts_expression(term: Term, column: str | None) -> str:
    """One term as an FTS5 expression: an optional column filter and a quoted string."""
    text = index_text(term.value)
    quoted = '"' + text.replace('"', '""') + '"'
    if not term.phrase and _prefix_worthy(text):
        quoted += " *"  # the last word is a prefix: "invo" finds invoice
    return f"({column} : {quoted})" if column else f"({quoted})"


def _prefix_worthy(text: str) -> bool:
    """Whether the last word is long enough to be matched as a prefix.

    A one-character prefix ("i*") matches nearly every message and costs
    hundreds of milliseconds at 100,000 messages, so a final one-character word
    is matched as a whole word; the next keystroke turns prefix matching on.
    """
    words = _WORD_RE.findall(text)
    return bool(words) and len(words[-1]) > 1


def _day_start_micros(term: Term) -> int:
    if "T" in term.value:  # an instant with its offset (see _INSTANT_RE)
        instant = datetime.fromisoformat(term.value.replace("Z", "+00:00"))
        return (instant - _EPOCH) // timedelta(microseconds=1)
    day = date.fromisoformat(term.value)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return (start - _EPOCH) // timedelta(microseconds=1)
