"""Mailpit's JSON shapes for our value objects (PascalCase field names, string IDs).

Minimal version written for the events WebSocket (branch ``api-server``);
the full module (messages, headers, attachments ...) comes from branch
``api-messages``, whose ``summary_json`` replaces this one on merge.
"""

from __future__ import annotations

from typing import Any

from ..models import Address, MessageSummary

__all__ = ["address_json", "summary_json"]


def address_json(address: Address) -> dict[str, str]:
    """Mailpit's ``Address``: ``{"Name": ..., "Address": ...}``."""
    return {"Name": address.name, "Address": address.addr}


def summary_json(summary: MessageSummary) -> dict[str, Any]:
    """Mailpit's ``MessageSummary`` (the list row and the ``new`` event's data)."""
    created = summary.received_at.isoformat(timespec="milliseconds")
    return {
        "ID": str(summary.id),
        "MessageID": summary.message_id.strip().strip("<>"),
        "Read": summary.read,
        "From": address_json(summary.from_addrs[0]) if summary.from_addrs else _NO_ADDRESS,
        "To": [address_json(a) for a in summary.to_addrs],
        "Cc": [address_json(a) for a in summary.cc_addrs],
        "Bcc": [],
        "ReplyTo": [],
        "Subject": summary.subject,
        "Created": created.replace("+00:00", "Z"),
        "Tags": list(getattr(summary, "tags", ())),
        "Size": summary.size,
        "Attachments": summary.attachments,
        "Snippet": summary.snippet,
    }


_NO_ADDRESS = {"Name": "", "Address": ""}
