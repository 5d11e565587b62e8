"""``send``'s message: a ``Draft`` from the options, or ``--eml`` bytes unchanged.

Split from ``send.py`` so the command's flow (where and how to connect) and
the message it carries read separately. Every problem is a ``UsageError``
(exit 2): an unreadable file, a body that is not UTF-8, header injection.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mailcatcher_gui.core.sending import (
    Draft,
    DraftAttachment,
    DraftError,
    RawMessage,
    parse_header_line,
)

DEFAULT_BODY = "This is a test message sent by mailcatcher-gui.\n"


class UsageError(Exception):
    """Bad command line or input file: exit 2 with this message."""


def read_file(path: str, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{option} {path!r}: {exc.strerror or exc}") from None


def read_text(path: str, option: str) -> str:
    try:
        return read_file(path, option).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{option} {path!r}: not UTF-8 text") from None


def build_message(args: argparse.Namespace) -> Draft | RawMessage:
    if args.send_eml:
        mixed = [
            opt
            for opt, value in (
                ("--subject", args.send_subject),
                ("--text", args.send_text),
                ("--text-file", args.send_text_file),
                ("--html-file", args.send_html_file),
                ("--attach", args.send_attach),
                ("--inline", args.send_inline),
                ("--header", args.send_header),
            )
            if value
        ]
        if mixed:
            raise UsageError(
                f"--eml sends the file unchanged; it cannot be combined with {', '.join(mixed)}"
            )
        return RawMessage(
            data=read_file(args.send_eml, "--eml"),
            envelope_from=args.send_from,
            envelope_to=(*args.send_to, *args.send_cc, *args.send_bcc),
        )

    text: str | None
    if args.send_text is not None:
        text = args.send_text.replace("\\n", "\n")
    elif args.send_text_file:
        text = read_text(args.send_text_file, "--text-file")
    else:
        text = None
    html = read_text(args.send_html_file, "--html-file") if args.send_html_file else None
    if text is None and html is None:
        text = DEFAULT_BODY
    try:
        headers = tuple(parse_header_line(h) for h in args.send_header)
    except DraftError as exc:
        raise UsageError(str(exc)) from None
    attachments = tuple(
        DraftAttachment(Path(f).name, read_file(f, "--attach")) for f in args.send_attach
    )
    inline = tuple(
        DraftAttachment(Path(f).name, read_file(f, "--inline"), content_id=Path(f).name)
        for f in args.send_inline
    )
    return Draft(
        from_=args.send_from,
        to=tuple(args.send_to),
        cc=tuple(args.send_cc),
        bcc=tuple(args.send_bcc),
        subject=args.send_subject if args.send_subject is not None else "test",
        text=text,
        html=html,
        attachments=attachments,
        inline=inline,
        headers=headers,
    )
