"""mailio: safe file names, and .eml / mbox / Maildir reading and writing on real files.

Interoperability is checked against Python's own ``mailbox`` module (a
second, independent implementation of the formats), and fidelity against
the 397-message corpus.
"""

from __future__ import annotations

import mailbox as pymailbox
import os
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailcatcher_gui.core import mailio, paths
from mailcatcher_gui.core.mailio import (
    MAX_FILENAME_BYTES,
    capture_for_import,
    detect_format,
    envelope_from_headers,
    export_filename,
    iter_mbox,
    iter_messages,
    safe_filename,
    unique_path,
    write_mbox,
    write_new_file,
)
from mailcatcher_gui.core.models import MessageSummary, StoredMessage

HOSTILE_NAMES = [
    "../../.bashrc",
    "..\\..\\..\\Windows\\System32\\evil.dll",
    "/etc/passwd",
    "..",
    ".",
    "...",
    "",
    "   ",
    ".hidden",
    "-rf",
    "--help.txt",
    "CON",
    "con.txt",
    "Nul.tar.gz",
    "LPT1.doc",
    "COM9",
    "aux .txt",
    "invoice\u202efdp.exe",  # right-to-left override disguising .exe
    "bell\x07\x00null.txt",
    "new\nline\r\ttab.txt",
    'a<b>c:d"e|f?g*h.txt',
    "trailing dots...",
    "trailing space .pdf ",
    "x" * 400 + ".pdf",
    "ü" * 300 + ".tar.gz",
    "名前" * 200,
    "\udcff\udc80broken-surrogates.bin",
    "foo/../../bar.txt",
    "C:relative.txt",
    "a..b..c.txt",
]


def _is_safe(name: str) -> bool:
    return (
        bool(name)
        and "/" not in name
        and "\\" not in name
        and ".." not in name
        and not name.startswith((".", "-", " "))
        and not name.endswith((".", " "))
        and all(unicodedata.category(c) not in {"Cc", "Cf", "Cs"} for c in name)
        and not any(c in name for c in '<>:"|?*')
        and len(name.encode("utf-8")) <= MAX_FILENAME_BYTES
        and name.split(".")[0].strip().upper()
        not in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), "LPT1"}
    )


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_safe_filename_is_one_harmless_component(name, tmp_path):
    safe = safe_filename(name, fallback="attachment.bin")
    assert _is_safe(safe), safe
    # And the file system agrees: it is created directly inside tmp_path.
    path = write_new_file(tmp_path, safe, b"x")
    assert path.parent == tmp_path
    assert path.resolve().parent == tmp_path.resolve()
    assert path.read_bytes() == b"x"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../.bashrc", "bashrc"),
        ("report.pdf", "report.pdf"),
        ("Rechnung März 2024.pdf", "Rechnung März 2024.pdf"),
        ("dir/sub/file.txt", "file.txt"),
        ("..\\evil.exe", "evil.exe"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("a<b>.txt", "a_b_.txt"),
        ("..", "fallback.bin"),
        ("", "fallback.bin"),
        ("new\nline.txt", "new line.txt"),
    ],
)
def test_safe_filename_examples(name, expected):
    assert safe_filename(name, "fallback.bin") == expected


def test_safe_filename_keeps_the_extension_when_truncating():
    long = safe_filename("x" * 1000 + ".pdf", "f")
    assert long.endswith(".pdf") and len(long.encode()) <= MAX_FILENAME_BYTES
    multibyte = safe_filename("ü" * 500 + ".tar.gz", "f")
    assert multibyte.endswith(".tar.gz") and len(multibyte.encode()) <= MAX_FILENAME_BYTES
    multibyte.encode("utf-8")  # no half characters left behind


def test_safe_filename_falls_back_to_a_safe_fallback():
    assert safe_filename("../..", "../../x.eml") == "x.eml"
    assert safe_filename("..", "..") == "file"


def test_unique_path_never_reuses_a_name(tmp_path):
    first = unique_path(tmp_path, "a.txt")
    assert first == tmp_path / "a.txt"
    first.write_bytes(b"1")
    second = unique_path(tmp_path, "a.txt")
    assert second.name == "a (1).txt"
    second.write_bytes(b"2")
    assert unique_path(tmp_path, "a.txt").name == "a (2).txt"
    (tmp_path / "b.tar.gz").write_bytes(b"")
    assert unique_path(tmp_path, "b.tar.gz").name == "b (1).tar.gz"
    (tmp_path / "README").write_bytes(b"")
    assert unique_path(tmp_path, "README").name == "README (1)"


def test_unique_path_counts_a_dangling_symlink_as_taken(tmp_path):
    target = tmp_path / "elsewhere" / "victim"
    (tmp_path / "evil.txt").symlink_to(target)
    chosen = unique_path(tmp_path, "evil.txt")
    assert chosen.name == "evil (1).txt"
    path = write_new_file(tmp_path, "evil.txt", b"data")
    assert path.name == "evil (1).txt"
    assert not target.exists()


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "..\\x", "a\0b"])
def test_unique_path_rejects_non_names(tmp_path, bad):
    with pytest.raises(ValueError):
        unique_path(tmp_path, bad)


def test_write_new_file_does_not_overwrite(tmp_path):
    existing = tmp_path / "data.bin"
    existing.write_bytes(b"original")
    written = write_new_file(tmp_path, "data.bin", b"new")
    assert existing.read_bytes() == b"original"
    assert written.name == "data (1).bin" and written.read_bytes() == b"new"


def test_export_filename():
    assert export_filename(42, "Re: Your Invoice #42!") == "0042-re-your-invoice-42.eml"
    assert export_filename(7, "") == "0007.eml"
    assert export_filename(123456, "x") == "123456-x.eml"
    hostile = export_filename(3, "../../etc/passwd\x00\u202e")
    assert hostile == "0003-etc-passwd.eml"
    assert len(export_filename(1, "word " * 200)) < 80


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------


def _stored(i: int, raw: bytes, sender: str = "sender@example.com") -> StoredMessage:
    summary = MessageSummary(
        id=i,
        received_at=datetime(2024, 5, 1, 12, 0, i % 60, tzinfo=UTC),
        envelope_from=sender,
        envelope_to=("rcpt@example.com",),
        from_="",
        to=(),
        cc=(),
        subject=f"message {i}",
        message_id="",
        size=len(raw),
        has_html=False,
        has_text=True,
        attachments=0,
        read=False,
    )
    return StoredMessage(summary, raw, "", "", None, None, (), "smtp")


TRICKY = [
    b"Subject: plain\n\nbody\n",
    b"Subject: crlf\r\n\r\nline one\r\nFrom the start of a line\r\n",
    b"Subject: escaped\n\n>From already quoted\n>>From twice\nFrom  two spaces\n",
    b"From someone@example.com Sat Jan  1 00:00:00 2000\nSubject: has a From_ line\n\nx\n",
    b"Subject: blank lines at the end\n\nbody\n\n\n",
    b"Subject: no body\n\n",
    b"Subject: trailing From\n\nbody\n\nFrom here on\n",
    b"Subject: 8bit \xff\xfe\n\n\x00nul and \r lone cr\n",
]


def test_mbox_round_trip_is_exact(tmp_path):
    path = tmp_path / "out.mbox"
    with open(path, "xb") as fh:
        assert write_mbox(fh, [_stored(i, raw) for i, raw in enumerate(TRICKY, 1)]) == len(TRICKY)
    back = list(iter_messages(path))
    assert [m.raw for m in back] == TRICKY
    assert [m.envelope_from for m in back] == ["sender@example.com"] * len(TRICKY)
    assert detect_format(path) == "mbox"


def test_mbox_without_trailing_newline_gains_one(tmp_path):
    path = tmp_path / "out.mbox"
    with open(path, "xb") as fh:
        write_mbox(fh, [_stored(1, b"Subject: a\n\nno newline"), _stored(2, b"S: b\r\n\r\nx")])
    assert [m.raw for m in iter_messages(path)] == [
        b"Subject: a\n\nno newline\n",
        b"S: b\r\n\r\nx\r\n",
    ]


def test_our_mbox_reads_in_python_mailbox(tmp_path):
    path = tmp_path / "out.mbox"
    with open(path, "xb") as fh:
        write_mbox(fh, [_stored(i, raw) for i, raw in enumerate(TRICKY, 1)])
    box = pymailbox.mbox(path, create=False)
    try:
        assert len(box) == len(TRICKY)
        subjects = [m["subject"] for m in box]
    finally:
        box.close()
    assert subjects[0] == "plain" and subjects[4] == "blank lines at the end"


def test_python_written_mbox_reads_back(tmp_path):
    """Python's writer (mboxo ``>From`` quoting) -> our reader: same bytes back."""
    originals = [
        b"Subject: one\n\nFrom the body\nplain\n",
        b"Subject: two\n\nsecond\n",
        b"Subject: three\n\n\n",
    ]
    path = tmp_path / "py.mbox"
    box = pymailbox.mbox(path)
    try:
        for raw in originals:
            box.add(raw)
        box.flush()
    finally:
        box.close()
    back = [m.raw for m in iter_messages(path)]
    assert back == originals


def test_mbox_separator_rules():
    data = (
        b"From a@x Mon Jan  1 00:00:00 2024\n"
        b"Subject: 1\n\nbody mentions\nFrom the team, not a separator\n\n"
        b"From b@x Tue Jan  2 00:00:00 2024\n"
        b"Subject: 2\n\nx\n"
        b"From MAILER-DAEMON Wed Jan  3 00:00:00 2024\n"  # a real From_ line without blank line
        b"Subject: 3\n\ny\n"
    )
    msgs = list(iter_mbox(data.splitlines(keepends=True)))
    assert [m.raw for m in msgs] == [
        b"Subject: 1\n\nbody mentions\nFrom the team, not a separator\n",
        b"Subject: 2\n\nx\n",
        b"Subject: 3\n\ny\n",
    ]
    assert [m.envelope_from for m in msgs] == ["a@x", "b@x", ""]


def test_corpus_mbox_round_trip(corpus, tmp_path):
    path = tmp_path / "corpus.mbox"
    originals = [p.read_bytes() for p in corpus]
    with open(path, "xb") as fh:
        write_mbox(fh, [_stored(i, raw) for i, raw in enumerate(originals, 1)])
    back = [m.raw for m in iter_messages(path)]
    assert len(back) == len(originals)
    exact = 0
    for raw, got in zip(originals, back, strict=True):
        if raw.endswith(b"\n"):
            assert got == raw
            exact += 1
        else:  # mbox cannot say "no final newline"; one is added, nothing else changes
            assert got in (raw + b"\n", raw + b"\r\n")
    assert exact >= 350


def test_maildir_written_by_python_is_read_exactly(tmp_path):
    root = tmp_path / "Maildir"
    originals = [b"Subject: a\r\n\r\nA\r\n", b"Subject: b\n\nFrom B\n", b"Subject: c\n\n\xff"]
    box = pymailbox.Maildir(root, create=True)
    try:
        keys = [box.add(raw) for raw in originals]
        box.get_message(keys[0])  # touch it so it is a real Maildir
    finally:
        box.close()
    # Move one to cur/ with flags, as a mail client would after reading it.
    new = sorted((root / "new").iterdir())
    os.rename(new[0], root / "cur" / (new[0].name + ":2,S"))
    assert detect_format(root) == "maildir"
    got = sorted(m.raw for m in iter_messages(root))
    assert got == sorted(originals)


def test_maildir_export_reads_in_python_mailbox(tmp_path):
    root = tmp_path / "out"
    for i, raw in enumerate(TRICKY, 1):
        path = mailio.export_maildir_message(root, _stored(i, raw))
        assert path.parent == root / "new"
    assert not list((root / "tmp").iterdir())
    box = pymailbox.Maildir(root, create=False)
    try:
        assert sorted(box.get_bytes(k) for k in box.iterkeys()) == sorted(TRICKY)
    finally:
        box.close()
    assert sorted(m.raw for m in iter_messages(root)) == sorted(TRICKY)


def test_detect_format(tmp_path):
    eml = tmp_path / "one.eml"
    eml.write_bytes(b"From x@y Sat Jan  1 00:00:00 2000\nSubject: s\n\nb\n")
    assert detect_format(eml) == "eml"  # .eml is one message even with a From_ line
    assert [m.raw for m in iter_messages(eml)] == [eml.read_bytes()]
    mbox = tmp_path / "archive"
    mbox.write_bytes(eml.read_bytes())
    assert detect_format(mbox) == "mbox"
    plain = tmp_path / "message"
    plain.write_bytes(b"Subject: s\n\nb\n")
    assert detect_format(plain) == "eml"
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "x.eml").write_bytes(b"Subject: x\n\n")
    (folder / "notes.txt").write_bytes(b"not mail")
    assert detect_format(folder) == "directory"
    assert [m.raw for m in iter_messages(folder)] == [b"Subject: x\n\n"]
    with pytest.raises(FileNotFoundError):
        detect_format(tmp_path / "missing.eml")


# ---------------------------------------------------------------------------
# envelopes for imports
# ---------------------------------------------------------------------------


def test_envelope_from_headers():
    raw = (
        b"Return-Path: <bounce@example.com>\r\n"
        b"From: Alice <alice@example.com>\r\n"
        b"To: Bob <bob@example.com>, carol@example.com\r\n"
        b"Cc: BOB@example.com,\r\n dave@example.com\r\n"
        b"Bcc: eve@example.com\r\n"
        b"Subject: hi\r\n\r\nTo: not@header.example\r\n"
    )
    sender, rcpts = envelope_from_headers(raw)
    assert sender == "bounce@example.com"
    assert rcpts == ["bob@example.com", "carol@example.com", "dave@example.com", "eve@example.com"]
    sender, rcpts = envelope_from_headers(b"From: Zed <z@example.org>\nTo: \xff\xfe <y@x.org>\n\n")
    assert sender == "z@example.org" and rcpts == ["y@x.org"]
    assert envelope_from_headers(b"Return-Path: <>\nFrom: a@b.c\n\n")[0] == ""
    assert envelope_from_headers(b"no headers at all") == ("", [])
    assert envelope_from_headers(b"") == ("", [])


def test_capture_for_import_uses_the_mbox_sender():
    source = mailio.SourceMessage(b"From: a@example.com\nTo: b@example.com\n\n", "x", "env@x.org")
    capture = capture_for_import(source)
    assert capture.envelope_from == "env@x.org"
    assert capture.envelope_to == ("b@example.com",)
    assert capture.source == "import" and capture.raw == source.raw
    assert capture.received_at.tzinfo is not None


def test_capture_for_import_never_raises_on_the_corpus(corpus):
    with_sender = 0
    for path in corpus:
        capture = capture_for_import(mailio.SourceMessage(path.read_bytes(), str(path)))
        assert capture.raw == path.read_bytes()
        # Storable text: no lone surrogates anywhere in the envelope.
        for text in (capture.envelope_from, *capture.envelope_to):
            text.encode("utf-8")
        with_sender += bool(capture.envelope_from)
    assert with_sender > 300


# ---------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------


def test_paths_honour_the_home_override(tmp_path):
    env = {paths.HOME_ENV: str(tmp_path)}
    assert paths.data_dir(env) == tmp_path
    assert paths.default_db_path(env) == tmp_path / "mail.sqlite3"
    assert paths.cert_dir(env) == tmp_path / "certs"
    assert paths.config_dir(env) == tmp_path / "config"
    assert not (tmp_path / "certs").exists()  # asking never creates anything


def test_paths_default_to_platform_dirs():
    env: dict[str, str] = {paths.HOME_ENV: "  "}
    assert paths.home_override(env) is None
    assert "mailcatcher-gui" in paths.default_db_path(env).parts
    assert "mailcatcher-gui" in paths.config_dir(env).parts
    assert paths.default_db_path(env).name == "mail.sqlite3"


def test_ensure_parent(tmp_path):
    target = tmp_path / "a" / "b" / "mail.sqlite3"
    assert paths.ensure_parent(target) == target
    assert target.parent.is_dir() and not target.exists()


def test_iter_eml_directory_is_sorted(tmp_path):
    for name in ("b.eml", "a.EML", "c.eml"):
        (tmp_path / name).write_bytes(name.encode())
    assert [Path(m.origin).name for m in iter_messages(tmp_path)] == ["a.EML", "b.eml", "c.eml"]
