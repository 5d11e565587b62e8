"""The SQL the store runs for every message: the summary columns, the inserts, the counters.

Kept out of ``database`` so the ``Store`` class reads as what it does, not
as SQL text. The table layout is in ``migrations``.
"""

from __future__ import annotations

from .search import FTS_TABLE

__all__ = [
    "COUNT_ADDED",
    "COUNT_REMOVED",
    "IDS_PARAM",
    "INSERT_FTS",
    "INSERT_MESSAGE",
    "INSERT_RAW",
    "NEXT_ID",
    "SUMMARY_COLUMNS",
    "SUMMARY_WIDTH",
    "TAGS_COLUMN",
]

# A row's tags joined with "," (a cleaned tag has no comma), or NULL: one probe of
# message_tags' primary key per listed row (see core.store.tags).
TAGS_COLUMN = "(SELECT group_concat(t.tag, ',') FROM message_tags AS t WHERE t.message_id = m.id)"
SUMMARY_COLUMNS = (
    "m.id, m.received_at, m.envelope_from, m.envelope_to, m.header_from, m.header_to, "
    "m.header_cc, m.subject, m.message_id, m.size, m.has_html, m.has_text, m.attachments, "
    f"m.read, m.snippet, {TAGS_COLUMN}"
)
SUMMARY_WIDTH = 16  # how many values SUMMARY_COLUMNS gives (rows.summary_from_row)
INSERT_MESSAGE = """
INSERT INTO messages (
    id, received_at, envelope_from, envelope_to, header_from, header_to, header_cc, subject, date,
    message_id, size, has_html, has_text, attachments, read, snippet, peer, helo, tls,
    auth_user, transcript, source, from_sort, to_sort, subject_sort, reply_to, bcc, inline_parts
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# AUTOINCREMENT keeps sqlite_sequence >= every id ever used, so ids are never reused.
NEXT_ID = """
SELECT max(
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0),
    coalesce((SELECT max(id) FROM messages), 0)
) + 1
"""
INSERT_RAW = "INSERT INTO raw (id, data) VALUES (?, ?)"
INSERT_FTS = (
    f"INSERT INTO {FTS_TABLE} (rowid, subject, from_addr, to_addr, body, html, attachments) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
IDS_PARAM = "SELECT value FROM json_each(?)"  # a list of ids as one bound JSON array
# The counters row is kept by the store, once per transaction (migration 3).
COUNT_ADDED = "UPDATE counters SET total = total + ?, unread = unread + ? WHERE id = 1"
COUNT_REMOVED = "UPDATE counters SET total = total - ?, unread = unread - ? WHERE id = 1"
