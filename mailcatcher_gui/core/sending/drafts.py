"""Unsent messages kept on disk: what "Save Draft" writes and "Drafts" reopens.

A compose window closed with typed content asks Discard / Save Draft /
Cancel. A saved draft is one JSON file in ``<config dir>/drafts/`` (the
folder that holds the settings and relay profiles; the caller passes it in),
so it survives quitting the app and a crash after saving. Attachments are
kept in the file (base64): a draft reopens exactly as it was, even if the
original files moved. The folder is created 0700 and files 0600, like the
captured mail itself: a draft may hold tokens and addresses.

Reopening a draft (``take``) removes its file; the reopened window is
"dirty" again, so closing it asks once more.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .draft import DraftAttachment
from .drafting import ComposeFields

_TEXT_FIELDS = ("from_name", "from_addr", "to", "cc", "bcc", "reply_to", "subject", "text", "html")


class DraftStoreError(OSError):
    """A draft file cannot be read or written (the message names it)."""


@dataclass(frozen=True)
class SavedDraft:
    """One saved draft: its id (the file stem), when, and a label for a menu."""

    id: str
    saved_at: datetime
    subject: str
    to: str

    @property
    def label(self) -> str:
        when = self.saved_at.astimezone().strftime("%Y-%m-%d %H:%M")
        return f"{self.subject or '(no subject)'} — {self.to or 'no recipient'} · {when}"


def _part_json(a: DraftAttachment) -> dict[str, Any]:
    return {
        "filename": a.filename,
        "content_type": a.content_type,
        "content_id": a.content_id,
        "data": base64.b64encode(a.data).decode("ascii"),
    }


def _part(data: dict[str, Any]) -> DraftAttachment:
    return DraftAttachment(
        filename=str(data["filename"]),
        data=base64.b64decode(data["data"]),
        content_type=data.get("content_type"),
        content_id=data.get("content_id"),
    )


def fields_to_json(f: ComposeFields) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in asdict(f).items() if k in _TEXT_FIELDS}
    out["attachments"] = [_part_json(a) for a in f.attachments]
    out["inline"] = [_part_json(a) for a in f.inline]
    out["headers"] = [[n, v] for n, v in f.headers]
    return out


def fields_from_json(data: dict[str, Any]) -> ComposeFields:
    return ComposeFields(
        **{k: str(data.get(k, "")) for k in _TEXT_FIELDS},
        attachments=[_part(a) for a in data.get("attachments", [])],
        inline=[_part(a) for a in data.get("inline", [])],
        headers=[(str(n), str(v)) for n, v in data.get("headers", [])],
    )


class DraftStore:
    """Drafts as ``<folder>/<id>.json``; see the module docstring."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def save(self, fields: ComposeFields) -> SavedDraft:
        """Write a new draft file; ``DraftStoreError`` if the disk refuses."""
        now = datetime.now(UTC)
        draft_id = now.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        payload = {"version": 1, "saved_at": now.isoformat(), "fields": fields_to_json(fields)}
        path = self.folder / f"{draft_id}.json"
        tmp = path.with_suffix(".tmp")
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh)
            os.replace(tmp, path)
        except OSError as exc:
            raise DraftStoreError(f"cannot save the draft in {self.folder}: {exc}") from exc
        return SavedDraft(draft_id, now, fields.subject, fields.to)

    def list(self) -> list[SavedDraft]:
        """Saved drafts, newest first. Unreadable files are skipped, never deleted."""
        out: list[SavedDraft] = []
        try:
            paths = sorted(self.folder.glob("*.json"), reverse=True)
        except OSError:
            return []
        for path in paths:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                fields = data["fields"]
                saved_at = datetime.fromisoformat(data["saved_at"])
                out.append(
                    SavedDraft(path.stem, saved_at, str(fields["subject"]), str(fields["to"]))
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return out

    def load(self, draft_id: str) -> ComposeFields:
        path = self._path(draft_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return fields_from_json(data["fields"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DraftStoreError(f"cannot read the draft {path}: {exc}") from exc

    def delete(self, draft_id: str) -> None:
        try:
            self._path(draft_id).unlink(missing_ok=True)
        except OSError as exc:
            raise DraftStoreError(f"cannot delete the draft {draft_id}: {exc}") from exc

    def take(self, draft_id: str) -> ComposeFields:
        """Load a draft and remove its file (it is in a window again)."""
        fields = self.load(draft_id)
        self.delete(draft_id)
        return fields

    def _path(self, draft_id: str) -> Path:
        if not draft_id or "/" in draft_id or "\\" in draft_id or draft_id.startswith("."):
            raise DraftStoreError(f"not a draft id: {draft_id!r}")
        return self.folder / f"{draft_id}.json"
