"""Size (Gmail clipping, provider limits) and accessibility checks, firing and not firing."""

from __future__ import annotations

import base64

import pytest
from checks_helpers import codes, finding, head, html_message, inp, line_of

from mailcatcher_gui.core.checks.accessibility import check_accessibility
from mailcatcher_gui.core.checks.contrast import contrast_ratio, parse_color
from mailcatcher_gui.core.checks.model import Severity
from mailcatcher_gui.core.checks.size import GMAIL_CLIP_BYTES, PROVIDER_LIMITS, check_size

KB = 1024


def sized_html(
    size: int, cell: str = '<td style="padding:4px;color:#333333;font-size:14px">'
) -> str:
    """An HTML table of about ``size`` bytes, mostly inline CSS."""
    row = f"<tr>{cell}Row text</td></tr>\n"
    n = max(1, size // len(row))
    return f'<html lang="en"><body><table role="presentation">{row * n}</table></body></html>'


# ---- size ----


def test_html_over_102_kb_is_clipped_by_gmail():
    html = sized_html(110 * KB)
    raw = html_message(html)
    result = check_size(inp(raw))
    f = finding(result, "gmail-clipped")
    assert f.severity is Severity.ERROR
    size = len(html.encode())
    assert f.data["over_bytes"] == size - GMAIL_CLIP_BYTES
    assert "over" in f.title
    breakdown = f.data["breakdown"]
    assert max(breakdown, key=breakdown.get) == "inline_css"
    assert "inline style attributes" in f.detail
    assert f.line == line_of(raw, b"Content-Type: text/html")


def test_html_of_50_kb_is_not_clipped():
    result = check_size(inp(html_message(sized_html(50 * KB))))
    assert not {"gmail-clipped", "gmail-clip-near"} & codes(result)
    assert result.verdict is Severity.OK
    assert "Gmail clips at" in result.summary


def test_html_close_to_the_limit_is_a_warning():
    result = check_size(inp(html_message(sized_html(96 * KB))))
    assert finding(result, "gmail-clip-near").severity is Severity.WARNING


def test_base64_images_are_named_as_what_takes_the_space():
    image = base64.b64encode(b"\x89PNG" + b"\x00" * 90_000).decode()
    html = f'<html lang="en"><body><img alt="x" src="data:image/png;base64,{image}"></body></html>'
    f = finding(check_size(inp(html_message(html))), "gmail-clipped")
    assert max(f.data["breakdown"], key=f.data["breakdown"].get) == "data_uris"


def test_total_size_against_provider_limits():
    big = (
        head(Content_Type='multipart/mixed; boundary="m"')
        + b"\r\n--m\r\nContent-Type: text/plain\r\n\r\nhi\r\n--m\r\n"
        + b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + (b"A" * 76 + b"\r\n") * (21 * 1024 * 1024 // 78)
        + b"--m--\r\n"
    )
    result = check_size(inp(big))
    f = finding(result, "message-too-large")
    assert "Outlook.com" in f.data["refused_by"] and "Gmail" not in f.data["refused_by"]
    assert result.data["limits"][0] == {"provider": PROVIDER_LIMITS[0][0], "bytes": 20 * 1024**2}
    small = check_size(inp(html_message("<p>hi</p>")))
    assert not {"message-too-large", "message-near-limit"} & codes(small)


# ---- accessibility ----


def a11y(body: str, lang: str = ' lang="en"'):
    html = f"<!DOCTYPE html>\n<html{lang}>\n<body>\n{body}\n</body>\n</html>\n"
    raw = html_message(html)
    return check_accessibility(inp(raw)), raw


def test_image_without_alt():
    result, raw = a11y('<img src="https://example.com/hero.jpg" width="600">')
    f = finding(result, "img-no-alt")
    assert f.line == line_of(raw, b"<img")
    assert f.data["count"] == 1
    ok, _ = a11y('<img src="https://example.com/hero.jpg" width="600" alt="Our new shoes">')
    assert "img-no-alt" not in codes(ok)
    assert ok.verdict is Severity.OK


def test_decorative_images_want_an_empty_alt():
    result, _ = a11y('<img src="https://t.example.com/p.gif" width="1" height="1">')
    assert "img-decorative-alt" in codes(result) and "img-no-alt" not in codes(result)
    ok, _ = a11y('<img src="https://t.example.com/p.gif" width="1" height="1" alt="">')
    assert "img-decorative-alt" not in codes(ok)
    named, _ = a11y('<img src="s.gif" role="presentation" alt="spacer">')
    assert finding(named, "img-decorative-alt").severity is Severity.INFO


def test_missing_lang():
    result, _ = a11y("<p>hi</p>", lang="")
    assert finding(result, "html-no-lang").line is not None
    ok, _ = a11y("<p>hi</p>")
    assert "html-no-lang" not in codes(ok)


def test_layout_tables_without_role():
    result, raw = a11y("<table><tr><td>layout</td></tr></table>")
    f = finding(result, "layout-table-no-role")
    assert f.line == line_of(raw, b"<table>")
    ok, _ = a11y('<table role="presentation"><tr><td>layout</td></tr></table>')
    assert "layout-table-no-role" not in codes(ok)
    data_table, _ = a11y("<table><tr><th>Item</th></tr><tr><td>1</td></tr></table>")
    assert "layout-table-no-role" not in codes(data_table)


@pytest.mark.parametrize("text", ["Click here", "here", "Read more…", "READ MORE"])
def test_vague_link_text(text):
    result, _ = a11y(f'<p><a href="https://example.com/x">{text}</a></p>')
    assert "link-text-vague" in codes(result)


def test_descriptive_and_empty_links():
    ok, _ = a11y('<p><a href="https://example.com/x">Read the March report</a></p>')
    assert not {"link-text-vague", "link-no-text"} & codes(ok)
    empty, _ = a11y('<a href="https://example.com/x"><img src="b.png"></a>')
    assert "link-no-text" in codes(empty)
    with_alt, _ = a11y('<a href="https://example.com/x"><img src="b.png" alt="Buy now"></a>')
    assert "link-no-text" not in codes(with_alt)


def test_tiny_font_sizes():
    result, _ = a11y('<p style="font-size:8px">legal</p><p style="font-size:11px">small</p>')
    f = finding(result, "font-too-small")
    assert f.data["count"] == 2 and f.severity is Severity.WARNING
    pt, _ = a11y('<p style="font-size:7pt">legal</p>')
    assert "font-too-small" in codes(pt)
    ok, _ = a11y('<p style="font-size:14px">body</p><p style="font-size:1.2em">rel</p>')
    assert "font-too-small" not in codes(ok)


def test_low_contrast_with_both_colours_inline():
    result, raw = a11y('<p style="color:#777777;background-color:#888888">grey on grey</p>')
    f = finding(result, "low-contrast")
    assert f.severity is Severity.ERROR
    assert "1.2" in f.detail
    inherited, _ = a11y(
        '<table role="presentation" bgcolor="#ffffff"><tr><td>'
        '<span style="color:#eeeeee">pale</span></td></tr></table>'
    )
    assert "low-contrast" in codes(inherited)
    ok, _ = a11y('<p style="color:#222;background-color:#fff">dark on white</p>')
    assert "low-contrast" not in codes(ok)
    one_colour, _ = a11y('<p style="color:#eeeeee">no background given</p>')
    assert "low-contrast" not in codes(one_colour)
    recoloured, _ = a11y(
        '<div style="background:#fff"><font color="#ffffff"><span style="color:#000">'
        "black</span></font></div>"
    )
    assert "low-contrast" not in codes(recoloured)


@pytest.mark.parametrize(
    ("text", "rgb"),
    [
        ("#fff", (255, 255, 255)),
        ("#000000", (0, 0, 0)),
        ("rgb(255, 0, 0)", (255, 0, 0)),
        ("rgba(0,0,0,0.5)", None),
        ("White", (255, 255, 255)),
        ("transparent", None),
        ("var(--x)", None),
    ],
)
def test_colour_parsing(text, rgb):
    assert parse_color(text) == rgb


def test_contrast_ratio_matches_wcag():
    assert round(contrast_ratio((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast_ratio((118, 118, 118), (255, 255, 255)), 2) == 4.54


def test_hidden_preheader_text_is_not_small_text():
    hidden, _ = a11y('<span style="display:none;font-size:1px">preview</span>')
    zero, _ = a11y('<span style="font-size:0px;max-height:0">preview</span>')
    assert "font-too-small" not in codes(hidden) | codes(zero)
