"""The non-HTML tabs of the message view, on hand-built messages."""

from __future__ import annotations

import os
import time

import pytest

from mailcatcher_gui.core.models import Part, TlsInfo
from mailcatcher_gui.core.units import format_size
from mailcatcher_gui.ui.viewer.tabs.attachments_tab import AttachmentsTab
from mailcatcher_gui.ui.viewer.tabs.dialogs import Conflict
from mailcatcher_gui.ui.viewer.tabs.header_strip import HeaderStrip
from mailcatcher_gui.ui.viewer.tabs.headers_tab import HeadersTab, raw_header_block
from mailcatcher_gui.ui.viewer.tabs.session_tab import SessionTab
from mailcatcher_gui.ui.viewer.tabs.source_tab import PREVIEW_BYTES, SourceTab
from mailcatcher_gui.ui.viewer.tabs.structure_tab import StructureTab
from tests.viewer_support import (
    WEB_ENV_LOG_IGNORE,
    RecordingDialogs,
    attachment,
    make_opened,
    png_bytes,
)

pytestmark = [pytest.mark.gui, WEB_ENV_LOG_IGNORE]


def widget(qtbot, w):
    qtbot.addWidget(w)
    w.resize(800, 600)
    w.show()
    return w


# ---- headers ---------------------------------------------------------------------


def test_headers_table_and_raw_toggle(qtbot):
    raw = (
        b"From: =?utf-8?q?J=C3=B6rg?= <j@example.com>\r\n"
        b"Subject: folded\r\n  continuation\r\n\r\nbody\r\nFrom: not a header\r\n"
    )
    opened = make_opened(
        headers=(("From", "Jörg <j@example.com>"), ("Subject", "folded continuation")), raw=raw
    )
    tab = widget(qtbot, HeadersTab())
    tab.show_headers(opened.parsed.headers, raw)
    model = tab.table.model()
    assert model.rowCount() == 2
    assert model.index(0, 0).data() == "From"
    assert model.index(0, 1).data() == "Jörg <j@example.com>"
    assert tab.count_label.text() == "2 header fields"
    assert tab.stack.currentWidget() is tab.table
    tab.raw_toggle.setChecked(True)
    assert tab.stack.currentWidget() is tab.raw_view
    assert tab.raw_view.toPlainText() == (
        "From: =?utf-8?q?J=C3=B6rg?= <j@example.com>\nSubject: folded\n  continuation"
    )
    tab.clear()
    assert model.rowCount() == 0


def test_raw_header_block_edge_cases():
    assert raw_header_block(b"A: 1\nB: 2\n\nbody") == "A: 1\nB: 2"
    assert raw_header_block(b"A: 1\r\n\r\nbody\n\nmore") == "A: 1"
    assert raw_header_block(b"no separator at all") == "no separator at all"
    assert raw_header_block(b"X: \xff\x00") == "X: \ufffd\u2400"


# ---- source ----------------------------------------------------------------------


def test_source_small_message_shown_whole(qtbot):
    tab = widget(qtbot, SourceTab())
    tab.show_raw(b"Subject: x\r\n\r\nbad byte \xff and NUL \x00 here")
    assert not tab.truncated
    assert not tab.show_all_button.isVisible()
    text = tab.editor.toPlainText()
    assert "bad byte \ufffd and NUL \u2400 here" in text


def _cpu_to_show(qtbot, tab, raw: bytes, rounds: int = 3) -> float:
    """Least CPU time (all threads) over ROUNDS to show RAW and paint once.

    CPU time, not wall time: other processes on a busy machine do not count.
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        tab.show_raw(raw)
        qtbot.wait(1)  # let the editor lay out and paint what it shows
        best = min(best, time.process_time() - started)
    return best


def test_source_25mb_opens_fast_and_can_show_all(qtbot):
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n"
    raw = b"Subject: big\r\n\r\n" + line * (25 * 1024 * 1024 // len(line) + 1)
    assert len(raw) >= 25 * 1024 * 1024
    # The reference: a message just the size of the preview, shown whole.
    reference = raw[:PREVIEW_BYTES]
    tab = widget(qtbot, SourceTab())
    reference_cpu = _cpu_to_show(qtbot, tab, reference)
    assert not tab.truncated
    preview_cpu = _cpu_to_show(qtbot, tab, raw)
    # Opening 25 MB costs about what opening its first 256 KB costs: the
    # preview does not touch the rest (decoding all of it would be ~100x).
    assert preview_cpu < 4 * reference_cpu + 0.02, (
        f"showing a 25 MB source took {preview_cpu:.3f}s CPU, "
        f"a {format_size(PREVIEW_BYTES)} one {reference_cpu:.3f}s"
    )
    assert tab.truncated
    assert tab.show_all_button.isVisible()
    assert tab.show_all_button.text() == f"Show all ({format_size(len(raw))})"
    assert format_size(len(raw)) == "25.0 MB"
    assert len(tab.editor.toPlainText()) <= PREVIEW_BYTES
    started = time.process_time()
    tab.show_all()
    full_cpu = time.process_time() - started
    assert not tab.truncated and not tab.show_all_button.isVisible()
    assert tab.editor.document().blockCount() >= raw.count(b"\n")
    # Positive control for the ratio: showing all 25 MB does cost far more,
    # so the measurement above can tell the preview from the whole.
    assert full_cpu > 10 * reference_cpu, (full_cpu, reference_cpu)
    print(
        f"25 MB source CPU: preview {preview_cpu * 1000:.0f} ms, "
        f"256 KB reference {reference_cpu * 1000:.0f} ms, show all {full_cpu:.2f}s"
    )


# ---- structure -------------------------------------------------------------------


STRUCTURED = (
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: tree\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="OUT"\r\n\r\n'
    b'--OUT\r\nContent-Type: multipart/alternative; boundary="ALT"\r\n\r\n'
    b"--ALT\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n"
    b"--ALT\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hi</p>\r\n--ALT--\r\n"
    b"--OUT\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="../../report.pdf"\r\n\r\n'
    b"JVBERi0xLjQgZmFrZQ==\r\n--OUT--\r\n"
)


def test_structure_tree_and_save_part(qtbot, tmp_path):
    from mailcatcher_gui.core.mime.parse import parse_message

    dialogs = RecordingDialogs()
    parsed = parse_message(STRUCTURED)
    opened = make_opened(attachments=parsed.attachments, parts=parsed.parts, raw=STRUCTURED)
    attachments_tab = AttachmentsTab(dialogs)
    attachments_tab.last_directory = tmp_path
    tab = widget(qtbot, StructureTab(attachments_tab.save_bytes))
    tab.show_parsed(opened.parsed, STRUCTURED)
    tree = tab.tree
    assert tree.topLevelItemCount() == 1
    root = tree.topLevelItem(0)
    assert root.text(1) == "multipart/mixed"
    assert [root.child(i).text(1) for i in range(root.childCount())] == [
        "multipart/alternative",
        "application/pdf",
    ]
    alt = root.child(0)
    assert [alt.child(i).text(1) for i in range(alt.childCount())] == ["text/plain", "text/html"]
    plain = alt.child(0)
    assert plain.text(2) == "utf-8" and plain.text(3) == "quoted-printable"
    pdf_item = root.child(1)
    assert pdf_item.text(5) == "../../report.pdf"
    assert pdf_item.text(4) == format_size(len(b"%PDF-1.4 fake"))

    tree.setCurrentItem(root)
    assert not tab.save_button.isEnabled()  # a multipart has no content of its own

    tree.setCurrentItem(pdf_item)
    assert tab.save_button.isEnabled()
    dialogs.save_path = tmp_path / "chosen.pdf"
    assert tab.save_current_part() == tmp_path / "chosen.pdf"
    assert dialogs.save_suggestions == [tmp_path / "report.pdf"]  # sanitised suggestion
    assert (tmp_path / "chosen.pdf").read_bytes() == b"%PDF-1.4 fake"

    # A body part is decoded from the raw bytes on demand.
    tree.setCurrentItem(plain)
    dialogs.save_path = tmp_path / "body.txt"
    tab.save_current_part()
    assert (tmp_path / "body.txt").read_bytes() == "Grüße".encode()
    assert dialogs.save_suggestions[-1].name == f"part-{plain.text(0)}.txt"


def test_structure_tolerates_depth_jumps(qtbot):
    tab = widget(qtbot, StructureTab(lambda name, data: None))
    parts = (
        Part("0", 0, "multipart/mixed", None, None, 0),
        Part("1.1.1", 3, "text/plain", None, None, 1),  # skips two levels
        Part("2", 1, "text/plain", None, None, 1),
    )
    tab.show_parsed(make_opened(parts=parts).parsed, b"")
    root = tab.tree.topLevelItem(0)
    assert root.childCount() == 2


# ---- attachments -----------------------------------------------------------------


def _hostile_attachments():
    return (
        attachment(0, "../../.bashrc", b"rm -rf ~\n", "text/plain"),
        attachment(1, "photo.png", png_bytes((0, 200, 0), 300, 200), "image/png"),
        attachment(2, "/etc/passwd", b"root:x:0:0\n", "text/plain"),
        attachment(3, "photo.png", b"second photo with the same name", "image/png"),
    )


@pytest.fixture
def attachments_tab(qtbot, tmp_path):
    dialogs = RecordingDialogs()
    tab = widget(qtbot, AttachmentsTab(dialogs))
    tab.last_directory = tmp_path
    tab.show_attachments(_hostile_attachments())
    yield tab
    tab.shutdown()


def test_attachment_list_and_image_preview(attachments_tab):
    tab = attachments_tab
    assert tab.list.topLevelItemCount() == 4
    assert tab.list.topLevelItem(0).text(0) == "../../.bashrc"  # shown as sent
    assert tab.summary.text().startswith("4 attachments")
    assert not tab.preview.has_image()
    tab.select(1)
    assert tab.preview.has_image()
    assert tab.preview.pixmap().width() <= tab.preview.width()
    tab.select(3)  # image/png that is not an image
    assert not tab.preview.has_image()
    assert tab.preview.text() == "Cannot preview this image"


def test_save_single_suggests_a_safe_name(attachments_tab, tmp_path):
    tab = attachments_tab
    tab.select(0)
    tab.dialogs.save_path = None  # cancelled
    assert tab.save_current() is None
    assert tab.dialogs.save_suggestions == [tmp_path / "bashrc"]
    assert list(tmp_path.iterdir()) == []


def test_save_all_stays_inside_the_directory(attachments_tab, tmp_path):
    tab = attachments_tab
    target = tmp_path / "out"
    target.mkdir()
    tab.dialogs.directory = target
    written = tab.save_all()
    assert sorted(p.name for p in written) == ["bashrc", "passwd", "photo (1).png", "photo.png"]
    for p in written:
        assert p.parent == target
        assert p.resolve().is_relative_to(target.resolve())
    assert (target / "bashrc").read_bytes() == b"rm -rf ~\n"
    assert (target / "photo (1).png").read_bytes() == b"second photo with the same name"
    assert sorted(os.listdir(tmp_path)) == ["out"]  # nothing escaped
    assert tab.dialogs.conflict_questions == []


def test_save_all_asks_before_replacing(attachments_tab, tmp_path):
    tab = attachments_tab
    (tmp_path / "bashrc").write_bytes(b"precious")
    tab.dialogs.directory = tmp_path

    tab.dialogs.conflict = Conflict.CANCEL
    assert tab.save_all() == []
    assert tab.dialogs.conflict_questions == [[tmp_path / "bashrc"]]
    assert sorted(os.listdir(tmp_path)) == ["bashrc"]

    tab.dialogs.conflict = Conflict.KEEP_BOTH
    tab.save_all()
    assert (tmp_path / "bashrc").read_bytes() == b"precious"
    assert (tmp_path / "bashrc (1)").read_bytes() == b"rm -rf ~\n"

    tab.dialogs.conflict = Conflict.REPLACE
    tab.save_all()
    assert (tmp_path / "bashrc").read_bytes() == b"rm -rf ~\n"
    # Same-name attachments of one batch still never overwrite each other.
    assert (tmp_path / "photo.png").read_bytes().startswith(b"\x89PNG")


def test_replace_does_not_follow_symlinks(attachments_tab, tmp_path):
    tab = attachments_tab
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me")
    folder = tmp_path / "dl"
    folder.mkdir()
    (folder / "bashrc").symlink_to(outside)
    tab.dialogs.directory = folder
    tab.dialogs.conflict = Conflict.REPLACE
    tab.save_all()
    assert outside.read_bytes() == b"keep me"
    assert not (folder / "bashrc").is_symlink()


def test_open_uses_a_private_copy_and_asks_for_risky_types(qtbot, tmp_path):
    dialogs = RecordingDialogs()
    tab = widget(qtbot, AttachmentsTab(dialogs))
    tab.show_attachments(
        (
            attachment(0, "notes.txt", b"hello", "text/plain"),
            attachment(1, "../invoice.pdf.exe", b"MZ", "application/octet-stream"),
        )
    )
    tab.select(0)
    path = tab.open_current()
    assert path.read_bytes() == b"hello"
    assert dialogs.opened_urls[-1].toLocalFile() == str(path)
    assert dialogs.file_questions == []
    tab.select(1)
    dialogs.confirm_files = False
    assert tab.open_current() is None
    assert dialogs.file_questions == ["invoice.pdf.exe"]
    assert len(dialogs.opened_urls) == 1
    tab.shutdown()
    assert not path.exists()


# ---- session ---------------------------------------------------------------------


def test_session_marks_bcc_and_shows_tls_and_transcript(qtbot):
    opened = make_opened(
        headers=(
            ("From", "App <noreply@app.example>"),
            ("To", "Customer <Customer@Example.com>"),
            ("Cc", "support@app.example"),
            ("Subject", "Receipt"),
        ),
        envelope_from="bounces@app.example",
        envelope_to=("customer@example.com", "support@app.example", "Audit@Corp.example"),
        tls=TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, implicit=False),
        auth_user="app-user",
        transcript=("S: 220 mailcatcher", "C: EHLO app", "C: AUTH PLAIN ****", "S: 235 ok"),
    )
    tab = widget(qtbot, SessionTab())
    tab.show_opened(opened)
    assert tab.bcc == ["Audit@Corp.example"]
    facts = tab.facts.text()
    assert "Bcc (envelope only)" in facts
    assert "Audit@Corp.example" in facts
    assert "bounces@app.example" in facts
    assert "TLSv1.3 · TLS_AES_256_GCM_SHA384, 256 bits · STARTTLS" in facts
    assert "app-user" in facts
    assert "127.0.0.1:40000" in facts and "client.example" in facts
    assert tab.transcript.toPlainText().splitlines()[2] == "C: AUTH PLAIN ****"
    assert tab.transcript.font().fixedPitch() or "mono" in tab.transcript.font().family().lower()


def test_session_without_bcc_and_escapes_values(qtbot):
    opened = make_opened(
        headers=(("To", "<b>x</b> <bob@example.com>"),),
        envelope_to=("bob@example.com",),
    )
    tab = widget(qtbot, SessionTab())
    tab.show_opened(opened)
    assert tab.bcc == []
    assert "Bcc" not in tab.facts.text()
    assert "&lt;b&gt;x&lt;/b&gt;" in tab.facts.text()
    assert "none (plain text)" in tab.facts.text()


# ---- header strip ----------------------------------------------------------------


def test_header_strip(qtbot):
    strip = widget(qtbot, HeaderStrip())
    opened = make_opened(
        headers=(
            ("From", "Alice <alice@example.com>"),
            ("To", "Bob <bob@example.com>"),
            ("Cc", "Carol <carol@example.com>"),
            ("Subject", "Quarterly\n report"),
            ("Date", "Tue, 03 Jun 2025 14:05:09 +0000"),
        ),
        attachments=(attachment(0, "a.txt", b"x"),),
    )
    strip.show_opened(opened)
    assert strip.subject.text() == "Quarterly report"
    assert strip.from_.text() == "Alice <alice@example.com>"
    assert strip.to.text() == "Bob <bob@example.com>"
    assert strip.cc.text() == "Carol <carol@example.com>" and strip.cc.isVisible()
    assert "2025" in strip.date.text() and "Jun" in strip.date.text()
    assert strip.meta.text().endswith(" · 1 attachment")
    assert strip.subject.font().pointSizeF() > strip.from_.font().pointSizeF()

    strip.show_opened(make_opened(headers=(("Date", "not a date"),)))
    assert strip.subject.text() == "(no subject)"
    assert strip.date.text() == "not a date"
    assert not strip.cc.isVisible()
