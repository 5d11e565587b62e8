"""``mailcatcher-gui messages ...``: list, show, save, flag, delete, import, export.

The JSON printed by ``messages list --json`` and ``messages show --json`` is
a public contract (see ``MessageSummary.to_json`` and ``message_to_json``):
names are only ever added, never renamed.

Import and export are ``core.mailio.import_sources`` and
``core.mailio.export_messages``, the same code the window runs, so both
front ends skip empty messages and refuse to replace an existing mbox file
unless told to (``--force`` here, the save dialog's confirmation there).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailcatcher_gui.core.options import open_mailbox, open_store
from mailcatcher_gui.core.units import format_size

from .check import add_check_parser
from .common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_db,
    arg_count,
    arg_id,
    error,
    out,
    out_bytes,
    out_json,
)

if TYPE_CHECKING:
    from mailcatcher_gui.core.models import MessageSummary, OpenedMessage
    from mailcatcher_gui.core.store import Store

#: What ``messages show`` can print; "summary" is the default human view.
SHOW_MODES = ("summary", "json", "raw", "text", "html", "headers")


def add_messages_parser(sub: Any, db: str) -> None:
    messages = sub.add_parser("messages", help="list, show, import and export stored messages")
    msub = messages.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = msub.add_parser("list", help="list messages, newest first")
    p.add_argument("--search", "-s", metavar="QUERY", help="search query (as in the window)")
    p.add_argument(
        "--limit", type=arg_count, default=100, help="at most N (0 = all; default: %(default)s)"
    )
    p.add_argument("--offset", type=arg_count, default=0, help="skip the first N")
    p.add_argument("--json", action="store_true", help="JSON array (stable field names)")
    add_db(p, db)
    p.set_defaults(handler=_cmd_list)

    p = msub.add_parser("show", help="show one message (does not mark it read)")
    p.add_argument("id", type=arg_id)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--json", dest="mode", action="store_const", const="json")
    mode.add_argument(
        "--raw", dest="mode", action="store_const", const="raw", help="the exact stored bytes"
    )
    mode.add_argument("--text", dest="mode", action="store_const", const="text")
    mode.add_argument("--html", dest="mode", action="store_const", const="html")
    mode.add_argument("--headers", dest="mode", action="store_const", const="headers")
    add_db(p, db)
    p.set_defaults(handler=_cmd_show, mode="summary")

    p = msub.add_parser("attachment", help="save an attachment (INDEX from 'show')")
    p.add_argument("id", type=arg_id)
    p.add_argument("index", type=arg_count)
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file or folder to save to (a trailing '/' means a folder, created if "
        "missing), '-' for stdout "
        "(default: the attachment's sanitised name in the current folder)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing -o FILE")
    add_db(p, db)
    p.set_defaults(handler=_cmd_attachment)

    p = msub.add_parser("delete", help="delete messages")
    p.add_argument("ids", nargs="+", type=arg_id, metavar="ID")
    add_db(p, db)
    p.set_defaults(handler=_cmd_delete)

    p = msub.add_parser("clear", help="delete every message")
    add_db(p, db)
    p.set_defaults(handler=_cmd_clear)

    for name, read in (("read", True), ("unread", False)):
        p = msub.add_parser(name, help=f"mark messages as {name}")
        p.add_argument("ids", nargs="+", type=arg_id, metavar="ID")
        add_db(p, db)
        p.set_defaults(handler=_cmd_mark, read=read)

    p = msub.add_parser(
        "import",
        help="import .eml files, mbox files, Maildir folders or folders of .eml files",
        description="Import messages. Each PATH may be an .eml file, an mbox file (starts "
        "with 'From '), a Maildir (has cur/ and new/) or a folder (every *.eml below it); "
        "'-' reads one message (or an mbox) from stdin. Bytes are stored as they are.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--format", choices=("eml", "mbox", "maildir", "directory"), help="skip auto-detection"
    )
    p.add_argument("--json", action="store_true", help="print the new ids as JSON")
    add_db(p, db)
    p.set_defaults(handler=_cmd_import)

    p = msub.add_parser("export", help="export messages to .eml files, an mbox or a Maildir")
    p.add_argument("--search", "-s", metavar="QUERY", help="only messages matching QUERY")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--dir", metavar="DIR", help="one NNNN-subject.eml file per message")
    target.add_argument("--mbox", metavar="FILE", help="one mboxrd file ('-' for stdout)")
    target.add_argument("--maildir", metavar="DIR", help="a Maildir (messages go to new/)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true", help="append to an existing --mbox FILE")
    mode.add_argument("--force", action="store_true", help="replace an existing --mbox FILE")
    add_db(p, db)
    p.set_defaults(handler=_cmd_export)

    add_check_parser(msub, db)  # ``messages check``: in cli/check.py


def _cmd_list(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        limit = args.limit or max(store.count(args.search), 1)
        summaries = store.list(query=args.search, offset=args.offset, limit=limit)
        if args.json:
            out_json([s.to_json() for s in summaries])
            return EXIT_OK
        if not summaries:
            out("no messages" + (" match" if args.search else ""))
            return EXIT_OK
        out(f"  {'ID':>5}  {'RECEIVED (UTC)':<19}  {'FROM':<28}  {'TO':<28}  SUBJECT")
        for s in summaries:
            unread = "*" if not s.read else " "
            to = ", ".join(s.to or s.envelope_to)
            attach = f" [{s.attachments} att]" if s.attachments else ""
            out(
                f"{unread} {s.id:>5}  {_when(s)}  {_fit(s.from_ or s.envelope_from, 28)}  "
                f"{_fit(to, 28)}  {' '.join(s.subject.split()) or '(no subject)'}"
                f"  ({format_size(s.size)}{attach})"
            )
        total = store.count(args.search)
        if total > len(summaries) + args.offset:
            out(f"({len(summaries)} of {total} shown; use --limit 0 for all)")
    return EXIT_OK


def _open_message(store: Store, message_id: int) -> OpenedMessage:
    from mailcatcher_gui.core.mime.parse import parse_message
    from mailcatcher_gui.core.models import OpenedMessage

    stored = store.get(message_id)
    return OpenedMessage(stored=stored, parsed=parse_message(stored.raw))


def _cmd_show(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        show_message(store, args.id, args.mode)
    return EXIT_OK


def show_message(store: Store, message_id: int, mode: str = "summary") -> None:
    """Print one message to stdout in ``mode`` (one of ``SHOW_MODES``).

    Has no side effects on the store (showing does not mark read). Raises
    ``MessageNotFound``, or ``CliError`` when the asked-for body does not exist.
    """
    if mode not in SHOW_MODES:
        raise ValueError(f"unknown show mode {mode!r}")
    if mode == "raw":
        out_bytes(store.get_raw(message_id))
        return
    opened = _open_message(store, message_id)
    parsed = opened.parsed
    if mode == "json":
        out_json(message_to_json(opened))
    elif mode == "text":
        if parsed.text is None:
            raise CliError(f"message {message_id} has no text part (try --html or --raw)")
        out(_body(parsed.text), end="")
    elif mode == "html":
        if parsed.html is None:
            raise CliError(f"message {message_id} has no HTML part (try --text or --raw)")
        out(_body(parsed.html), end="")
    elif mode == "headers":
        for h in parsed.headers:
            out(f"{h.name}: {h.value}")
    else:
        _show_summary(opened)


def _show_summary(opened: OpenedMessage) -> None:
    stored, parsed = opened.stored, opened.parsed
    s = stored.summary
    out(f"Message {s.id} ({'read' if s.read else 'unread'}, {format_size(s.size)})")
    origin = f" from {stored.peer}" if stored.peer else ""
    if stored.helo:
        origin += f" (HELO {stored.helo})"
    if stored.tls:
        origin += f" over {stored.tls.version}"
    if stored.auth_user:
        origin += f" as {stored.auth_user}"
    out(f"Received:   {_when(s)} UTC via {stored.source}{origin}")
    out(f"Envelope:   <{s.envelope_from}> -> {', '.join(s.envelope_to) or '-'}")
    for label, name in (("From", "from"), ("To", "to"), ("Cc", "cc"), ("Subject", "subject")):
        value = parsed.header(name)
        if value is not None:
            out(f"{label + ':':<11} {' '.join(value.split())}")
    date = parsed.header("date")
    if date is not None:
        out(f"{'Date:':<11} {date}")
    if parsed.attachments:
        out("Attachments:")
        for a in parsed.attachments:
            flag = " inline" if a.inline else ""
            out(f"  [{a.index}] {a.filename} ({a.content_type}, {format_size(a.size)}{flag})")
    if parsed.defects:
        out(f"Defects:    {len(parsed.defects)} (see --json)")
    out()
    if parsed.text is not None:
        out(_body(parsed.text), end="")
    elif parsed.html is not None:
        out("(HTML only; use --html to print it, or open it in the window)")
    else:
        out("(no text body)")


def _cmd_attachment(args: argparse.Namespace) -> int:
    from mailcatcher_gui.core.mailio import safe_filename, write_new_file

    with open_store(args, readonly=True) as store:
        opened = _open_message(store, args.id)
    attachments = opened.parsed.attachments
    match = [a for a in attachments if a.index == args.index]
    if not match:
        raise CliError(
            f"message {args.id} has no attachment {args.index} "
            f"(it has {len(attachments)}; see 'messages show {args.id}')"
        )
    att = match[0]
    fallback = f"message-{args.id}-attachment-{args.index}"
    if args.output == "-":
        out_bytes(att.data)
        return EXIT_OK
    if args.output is None or _means_folder(args.output) or Path(args.output).is_dir():
        folder = Path(args.output) if args.output else Path.cwd()
        folder.mkdir(parents=True, exist_ok=True)
        path = write_new_file(folder, safe_filename(att.filename, fallback), att.data)
    else:
        path = Path(args.output)
        if path.exists() and not args.force:
            raise CliError(f"{path} already exists; pass --force to overwrite it")
        with open(path, "wb" if args.force else "xb") as fh:
            fh.write(att.data)
    out(str(path))
    return EXIT_OK


def _means_folder(output: str) -> bool:
    """``-o DIR/``: a trailing separator names a folder (created if missing), never a file."""
    return output.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep))


def _cmd_delete(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        deleted = set(store.delete(args.ids))
    missing = [i for i in dict.fromkeys(args.ids) if i not in deleted]
    out(f"deleted {len(deleted)} message(s)")
    if missing:
        raise CliError("no message with id " + ", ".join(str(i) for i in missing))
    return EXIT_OK


def _cmd_clear(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        n = store.clear()
    out(f"deleted {n} message(s)")
    return EXIT_OK


def _cmd_mark(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        for message_id in args.ids:
            store.get_summary(message_id)  # MessageNotFound before changing anything
        changed = store.set_read(args.ids, args.read)
    out(f"marked {len(changed)} message(s) {'read' if args.read else 'unread'}")
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from mailcatcher_gui.core.mailio import ImportSource, bytes_source, import_sources

    sources: list[str | ImportSource] = [
        bytes_source(sys.stdin.buffer.read(), "stdin", args.format) if p == "-" else p
        for p in args.paths
    ]
    mailbox = open_mailbox(args)
    try:
        report = import_sources(mailbox, sources, fmt=args.format)
    finally:
        mailbox.close()
    failures = 0
    for r in report.results:
        if r.error is not None:
            failures += 1
            error(f"cannot import {r.path}: {r.error}")
        if not args.json and (r.error is None or r.ids or r.skipped):
            note = f", {r.skipped} empty skipped" if r.skipped else ""
            out(f"{r.path}: imported {len(r.ids)} message(s) ({r.kind}{note})")
    if args.json:
        out_json(
            {
                "imported": report.imported,
                "ids": report.ids,
                "failed": failures,
                "skipped": report.skipped,
            }
        )
    elif len(args.paths) > 1:
        out(f"imported {report.imported} message(s) in total")
    return EXIT_ERROR if failures else EXIT_OK


class _StoreSource:
    """A ``Store`` seen as the ``MessageSource`` an export reads."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def summary(self, message_id: int) -> MessageSummary:
        return self._store.get_summary(message_id)

    def raw(self, message_id: int) -> bytes:
        return self._store.get_raw(message_id)


def _cmd_export(args: argparse.Namespace) -> int:
    from mailcatcher_gui.core.mailio import (
        ExportMode,
        TargetExists,
        export_mbox_stream,
        export_messages,
    )

    if (args.append or args.force) and (args.mbox is None or args.mbox == "-"):
        flag = "--append" if args.append else "--force"
        raise CliError(f"{flag} applies to --mbox FILE only", EXIT_USAGE)
    with open_store(args, readonly=True) as store:
        ids: list[int] = list(reversed(store.ids(args.search)))  # oldest first
        source = _StoreSource(store)
        if args.mbox == "-":
            sys.stdout.flush()
            report = export_mbox_stream(source, ids, sys.stdout.buffer, label="stdout")
            sys.stdout.buffer.flush()
            print(f"exported {report.exported} message(s) to stdout", file=sys.stderr)
            return EXIT_OK
        if args.dir is not None:
            kind, target = "eml", args.dir
        elif args.maildir is not None:
            kind, target = "maildir", args.maildir
        else:
            kind, target = "mbox", args.mbox
        mode = (
            ExportMode.APPEND
            if args.append
            else ExportMode.OVERWRITE
            if args.force
            else ExportMode.NEW
        )
        try:
            report = export_messages(source, ids, kind, target, mode=mode)
        except TargetExists as exc:
            raise CliError(
                f"{exc.path} already exists; pass --append to add to it or --force to replace it"
            ) from None
    out(f"exported {report.exported} message(s) to {report.target}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def message_to_json(opened: OpenedMessage) -> dict[str, Any]:
    """The ``messages show --json`` object: the list fields plus the full parse."""
    stored, parsed = opened.stored, opened.parsed
    data = stored.summary.to_json()
    data.update(
        headers=[[h.name, h.value] for h in parsed.headers],
        text=parsed.text,
        html=parsed.html,
        attachments=[a.to_json() for a in parsed.attachments],
        parts=[p.to_json() for p in parsed.parts],
        defects=list(parsed.defects),
        peer=stored.peer,
        helo=stored.helo,
        tls=stored.tls.to_json() if stored.tls else None,
        auth_user=stored.auth_user,
        transcript=list(stored.transcript),
        source=stored.source,
    )
    return data


def _body(text: str) -> str:
    """A body for the terminal: CRLF as plain newlines, ending with exactly one newline
    (``--raw`` is the way to get the bytes as they are)."""
    text = text.replace("\r\n", "\n")
    return text if text.endswith("\n") else text + "\n"


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text.ljust(width)
    return text[: width - 1] + "…"


def _when(summary: MessageSummary) -> str:
    return summary.received_at.strftime("%Y-%m-%d %H:%M:%S")
