"""Reply / forward / edit-as-new drafting, drafts on disk and destinations: no Qt.

The messages go through the real ingest (``Mailbox.accept_sync`` -> SQLite ->
``Mailbox.get``), so the functions see exactly what the window sees.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime

import pytest
from keyring.backends import fail

from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.core.sending import (
    LOCAL_KEY,
    PRESETS,
    SINK_KEY,
    ComposeFields,
    Destinations,
    DraftAttachment,
    DraftStore,
    DraftStoreError,
    MemoryTransport,
    ProfileStore,
    RelayProfile,
    SendRequest,
    SinkEndpoint,
    draft_from_fields,
    edit_as_new_draft,
    forward_draft,
    new_fields,
    reply_draft,
    send_sync,
)
from mailcatcher_gui.core.sending.drafting import embed_html, header_addresses

HTML_MESSAGE = (
    b"From: =?utf-8?q?M=C3=BCller=2C_Hans?= <hans@shop.example>\r\n"
    b'To: "Smith, John (Sales)" <j@x.example>, "John <Admin>" <admin@x.example>\r\n'
    b"Cc: plain@x.example\r\n"
    b"Subject: Your invoice\r\n"
    b"Date: Tue, 05 Mar 2024 10:00:00 +0100\r\n"
    b"Message-ID: <inv-1@shop.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/related; boundary="r"\r\n\r\n'
    b'--r\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
    b"--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTotal: 12 EUR\r\n"
    b"--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b"<html><head><style>p{color:red}</style></head><body>"
    b'<p class="total">Total: <b>12 EUR</b></p><img src="cid:logo@shop"></body></html>\r\n'
    b"--a--\r\n"
    b"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@shop>\r\n"
    b"Content-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"iVBORw0KGgo=\r\n--r--\r\n"
)


def ingest(mailbox, raw: bytes, rcpt: str = "j@x.example"):
    message_id = mailbox.accept_sync(
        Capture(raw, "bounce@shop.example", (rcpt,), datetime.now(UTC))
    )
    return mailbox.get(message_id)


# ---- addresses: pairs from the raw header -------------------------------------------------


def test_addresses_are_pairs_from_the_raw_header_never_from_display_strings(mailbox):
    opened = ingest(mailbox, HTML_MESSAGE)
    p = opened.parsed
    # The encoded comma stays inside the name: one mailbox, not two.
    assert header_addresses(p, "From") == [("Müller, Hans", "hans@shop.example")]
    assert header_addresses(p, "To") == [
        ("Smith, John (Sales)", "j@x.example"),
        ("John <Admin>", "admin@x.example"),
    ]
    reply = reply_draft(opened)
    assert reply.to == '"Müller, Hans" <hans@shop.example>'
    assert (reply.from_name, reply.from_addr) == ("Smith, John (Sales)", "j@x.example")
    everyone = reply_draft(opened, reply_all=True)
    assert everyone.cc == '"John <Admin>" <admin@x.example>, plain@x.example'
    again = edit_as_new_draft(opened)
    assert again.to == '"Smith, John (Sales)" <j@x.example>, "John <Admin>" <admin@x.example>'
    assert (again.from_name, again.from_addr) == ("Müller, Hans", "hans@shop.example")


# ---- reply quotes the HTML (issue 10 item 9) ------------------------------------------------


def test_reply_quotes_the_html_part_in_a_blockquote_with_its_images(mailbox):
    opened = ingest(mailbox, HTML_MESSAGE)
    reply = reply_draft(opened)
    assert "> Total: 12 EUR" in reply.text  # the text quote is still there
    html = reply.html
    assert html, "the reply dropped the HTML part"
    # The original HTML, as Forward keeps it, inside a blockquote after the intro.
    assert '<blockquote type="cite"' in html
    quote_at = html.index("<blockquote")
    assert html.index("wrote:") < quote_at < html.index('<p class="total">')
    assert html.index('<p class="total">') < html.index("</blockquote>") < html.index("</body>")
    assert "<style>p{color:red}</style>" in html[: html.index("<body>")]  # head kept in place
    assert "M&uuml;ller" in html or "Müller" in html
    # The image the quoted HTML shows comes along as an inline part; no attachments.
    assert [(a.content_id, a.data[:4]) for a in reply.inline] == [("logo@shop", b"\x89PNG")]
    assert reply.attachments == []
    # It builds: multipart/alternative with the quoted HTML.
    out = send_sync(SendRequest(draft_from_fields(reply), MemoryTransport()))
    assert out.ok, out.failure


def test_reply_to_a_text_only_message_stays_text_only(mailbox):
    opened = ingest(
        mailbox,
        b"From: a@x.example\r\nTo: b@x.example\r\nSubject: hi\r\n\r\nHello\r\n",
        "b@x.example",
    )
    reply = reply_draft(opened)
    assert reply.html == "" and reply.inline == []
    assert "a@x.example wrote:\n> Hello\n" in reply.text


def test_embed_html_wraps_the_body_or_the_whole_fragment():
    assert embed_html("<p>x</p>", "<i>", wrap=("<q>", "</q>")) == "<i><q><p>x</p></q>"
    assert (
        embed_html("<html><BODY class=a>x</Body></html>", "<i>", wrap=("<q>", "</q>"))
        == "<html><BODY class=a><i><q>x</q></Body></html>"
    )


def test_forward_keeps_html_and_attachments_and_hostile_headers_stay_on_one_line(mailbox):
    opened = ingest(
        mailbox,
        HTML_MESSAGE.replace(
            b"Subject: Your invoice",
            b"Subject: =?utf-8?q?hi=0D=0ABcc=3A_x=40y?=",
        ),
    )
    fwd = forward_draft(opened)
    assert fwd.subject == "Fwd: hi Bcc: x@y"
    assert "\n" not in fwd.subject
    assert fwd.html.index("Forwarded message") > fwd.html.index("<body>")
    assert fwd.inline and fwd.inline[0].content_id == "logo@shop"
    assert 'From: "Müller, Hans" <hans@shop.example>' in fwd.text


# ---- New Message defaults (issue 10 item 8) -----------------------------------------------------


def test_new_fields_hold_only_the_sender():
    f = new_fields("Me", "me@example.com")
    assert f == ComposeFields(from_name="Me", from_addr="me@example.com")


# ---- drafts on disk -----------------------------------------------------------------------------


def test_draft_store_round_trip_private_files_and_take(tmp_path):
    store = DraftStore(tmp_path / "config" / "drafts")
    fields = ComposeFields(
        from_name="Me",
        from_addr="me@example.com",
        to="you@example.com",
        bcc="hidden@example.com",
        subject="Half written",
        text="Dear you,",
        html="<p>Dear</p>",
        attachments=[DraftAttachment("a.bin", bytes(range(256)), "application/octet-stream")],
        inline=[DraftAttachment("logo.png", b"\x89PNG", "image/png", "logo")],
        headers=[("X-Test", "1")],
    )
    saved = store.save(fields)
    assert [d.id for d in store.list()] == [saved.id]
    assert "Half written" in saved.label and "you@example.com" in saved.label
    path = store.folder / f"{saved.id}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert store.load(saved.id) == fields
    assert store.take(saved.id) == fields
    assert store.list() == [] and not path.exists()
    with pytest.raises(DraftStoreError):
        store.load(saved.id)
    with pytest.raises(DraftStoreError):
        store.load("../settings")


def test_draft_store_skips_unreadable_files_and_reports_a_full_disk(tmp_path):
    store = DraftStore(tmp_path / "drafts")
    store.save(ComposeFields(subject="ok"))
    (store.folder / "zzz-broken.json").write_text("{not json", encoding="utf-8")
    assert [d.subject for d in store.list()] == ["ok"]
    assert (store.folder / "zzz-broken.json").exists()  # never deleted
    blocked = DraftStore(tmp_path / "file-not-folder")
    (tmp_path / "file-not-folder").write_text("x")
    with pytest.raises(DraftStoreError, match="cannot save the draft"):
        blocked.save(ComposeFields(subject="lost?"))


# ---- destinations: profiles, presets, the last relay (issue 10 item 15) --------------------------


@pytest.fixture
def profiles(tmp_path):
    return ProfileStore(tmp_path / "config", keyring_backend=fail.Keyring())


def test_destinations_list_sink_mailbox_profiles_and_presets(mailbox, profiles):
    dest = Destinations(profiles, mailbox, lambda: SinkEndpoint("127.0.0.1", 2525))
    keys = dest.keys()
    assert keys[:2] == [SINK_KEY, LOCAL_KEY]
    assert "preset:gmail" in keys and "preset:amazon-ses" in keys
    assert "preset:sink" not in keys and "preset:starttls" not in keys  # templates / itself
    profiles.save(RelayProfile("Staging", host="smtp.staging.example", port=2525))
    profiles.save(RelayProfile("My Gmail", host="smtp.gmail.com", port=587, username="me"))
    choices = dest.choices()
    sections = [c.section for c in choices]
    assert sections == sorted(sections, key=["app", "profiles", "presets"].index)
    keys = dest.keys()
    assert keys[2:4] == ["profile:Staging", "profile:My Gmail"]
    assert "preset:gmail" not in keys  # a saved profile already points there
    assert dest.profile_for("preset:mailgun") == PRESETS["mailgun"]


def test_last_relay_is_remembered_in_the_profile_store_and_survives_saves(mailbox, profiles):
    dest = Destinations(profiles, mailbox)
    assert dest.release_default() == SINK_KEY  # nothing saved, nothing used
    profiles.save(RelayProfile("Staging", host="smtp.staging.example", port=2525))
    assert dest.release_default() == "profile:Staging"  # a saved relay beats the sink
    dest.remember(SINK_KEY)  # this app itself is not a relay: not remembered
    dest.remember(LOCAL_KEY)
    assert profiles.last_relay() == ""
    dest.remember("preset:postmark")
    assert dest.release_default() == "preset:postmark"
    profiles.save(RelayProfile("Other", host="smtp.other.example"))
    reopened = ProfileStore(profiles.path.parent, keyring_backend=fail.Keyring())
    assert reopened.last_relay() == "preset:postmark"
    assert [p.name for p in reopened.list()] == ["Staging", "Other"]
    dest.remember("profile:Other")
    profiles.delete("Other")
    assert dest.release_default() == "profile:Staging"  # a relay that is gone is not offered


def test_remember_survives_an_unwritable_profile_file(mailbox, profiles):
    profiles.save(RelayProfile("Staging", host="smtp.staging.example", port=2525))
    # The atomic write's temporary path is taken by a folder: the write fails
    # (even as root), and a send that worked must not fail because of it.
    profiles.path.with_suffix(".json.tmp").mkdir()
    Destinations(profiles, mailbox).remember("profile:Staging")
    assert profiles.last_relay() == ""
    assert [p.name for p in profiles.list()] == ["Staging"]
