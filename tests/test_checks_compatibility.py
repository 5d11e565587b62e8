"""Client compatibility (caniemail data): features found, support, scores, lines, Mailpit shape."""

from __future__ import annotations

import base64
import json
import quopri
from importlib import resources

import pytest
from checks_helpers import codes, finding, head, html_message, inp, line_of

from mailcatcher_gui.core.checks import features
from mailcatcher_gui.core.checks.caniemail import load
from mailcatcher_gui.core.checks.compatibility import check_compatibility
from mailcatcher_gui.core.checks.model import Severity

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><title>t</title>{head}</head>
<body>
<table role="presentation"><tr><td>
<p>Hello</p>
{body}
</td></tr></table>
</body>
</html>
"""


def page(body: str = "", head: str = "") -> str:
    return PAGE.format(body=body, head=head)


def _support(f, family: str, platform: str) -> str:
    rows = [s for s in f.data["support"] if s["family"] == family and s["platform"] == platform]
    assert rows, f"no {family}/{platform} in {f.code}"
    return rows[0]["support"]


def test_display_flex_is_unsupported_in_outlook_on_windows():
    raw = html_message(page('<div style="display:flex; gap: 8px">a</div>'))
    result = check_compatibility(inp(raw))
    f = finding(result, "css-display-flex")
    assert _support(f, "outlook", "windows") == "no"
    assert f.severity is Severity.WARNING
    assert "Outlook" in f.title
    assert f.line == line_of(raw, b'<div style="display:flex')
    assert f.where.startswith("<div style>")
    assert "css-display" in codes(result) and "css-gap" in codes(result)


def test_display_block_is_not_flex():
    raw = html_message(page('<div style="display:block">a</div>'))
    result = check_compatibility(inp(raw))
    assert "css-display-flex" not in codes(result)
    assert "css-display" in codes(result)


def test_font_face_in_a_style_block_is_unsupported_in_gmail():
    css = "@font-face { font-family: X; src: url(x.woff2); }\n.a { color: red }"
    raw = html_message(page(head=f"<style>\n{css}\n</style>"))
    result = check_compatibility(inp(raw))
    f = finding(result, "css-at-font-face")
    assert _support(f, "gmail", "desktop-webmail") == "no"
    assert f.severity is Severity.WARNING
    assert f.line == line_of(raw, b"@font-face")
    assert {"html-style", "css-selector-class"} <= codes(result)


def test_style_block_without_unsupported_features():
    raw = html_message(page(head="<style>.a { color: red }</style>"))
    result = check_compatibility(inp(raw))
    assert "css-at-font-face" not in codes(result)
    assert "css-at-media" not in codes(result)


def test_media_queries_and_their_features():
    css = (
        "@media (prefers-color-scheme: dark) { .x { color: white } }\n"
        "@media screen and (max-width: 600px) { td:hover > a { width: 100% !important } }"
    )
    result = check_compatibility(inp(html_message(page(head=f"<style>{css}</style>"))))
    found = codes(result)
    assert {
        "css-at-media",
        "css-at-media-prefers-color-scheme",
        "css-pseudo-class-hover",
        "css-selector-child",
        "css-important",
        "css-unit-percent",
        "css-width",
    } <= found
    assert "css-at-media-orientation" not in found


def test_html_elements_attributes_and_images():
    body = (
        '<form action="x"><input type="checkbox"></form>'
        '<img src="https://example.com/a.webp?x=1" alt="a">'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="b">'
        '<a href="mailto:x@example.com">mail</a><a href="#top">top</a>'
        "<video></video><script>alert(1)</script>"
    )
    result = check_compatibility(inp(html_message(page(body))))
    assert {
        "html-form",
        "html-input-checkbox",
        "image-webp",
        "image-base64",
        "html-mailto-links",
        "html-anchor-links",
        "html-video",
        "html-script",
        "html-role",
        "html-lang",
        "html-doctype",
    } <= codes(result)
    script = finding(result, "html-script")
    assert script.severity is Severity.ERROR  # no client runs scripts
    assert result.verdict is Severity.ERROR


def test_supported_everywhere_is_ok_and_listed():
    result = check_compatibility(inp(html_message("<p>plain</p>")))
    p = finding(result, "html-p")
    assert p.severity is Severity.OK
    assert result.score is not None and result.score > 0


def test_scores_and_the_mailpit_shape():
    raw = html_message(page('<div style="display:flex">a</div>'))
    result = check_compatibility(inp(raw))
    mailpit = result.data["mailpit"]
    assert set(mailpit) == {"Warnings", "Platforms", "Total"}
    assert set(mailpit["Total"]) == {"Nodes", "Partial", "Supported", "Tests", "Unsupported"}
    assert mailpit["Total"]["Nodes"] >= 5
    total = mailpit["Total"]
    assert abs(total["Supported"] + total["Partial"] + total["Unsupported"] - 100) < 0.1
    slugs = [w["Slug"] for w in mailpit["Warnings"]]
    assert "css-display-flex" in slugs
    assert "html-p" not in slugs  # fully supported: not a warning
    w = mailpit["Warnings"][slugs.index("css-display-flex")]
    assert {"Slug", "Title", "Description", "URL", "Category", "Tags", "Keywords"} <= set(w)
    assert {"Results", "NotesByNumber", "Score"} <= set(w)
    assert w["Score"]["Found"] == 1
    assert {"Name", "Platform", "Family", "Version", "Support", "NoteNumber"} == set(
        w["Results"][0]
    )
    assert "ios" in mailpit["Platforms"] and "Gmail" in mailpit["Platforms"]["ios"]
    json.dumps(result.data)  # the API returns it as JSON
    fams = {f["family"]: f for f in result.data["families"]}
    assert [f["family"] for f in result.data["families"]][:4] == [
        "gmail",
        "outlook",
        "apple-mail",
        "yahoo",
    ]
    assert fams["outlook"]["score"] < 100
    assert "windows" in fams["outlook"]["platforms"]
    assert "Outlook" in result.summary and "Gmail" in result.summary


def test_no_html_body():
    raw = b"From: a@example.com\r\nSubject: x\r\n\r\nplain text\r\n"
    result = check_compatibility(inp(raw))
    assert result.verdict is Severity.OK
    assert result.findings == ()


def test_lines_in_quoted_printable_html():
    long_cell = "x" * 150
    html = page(f'<p>{long_cell}</p>\n<div style="display:flex">a</div>')
    body = quopri.encodestring(html.encode()).replace(b"\n", b"\r\n").decode()
    raw = html_message(body, cte="quoted-printable")
    # the test built the part itself: put the encoded text in without re-encoding
    result = check_compatibility(inp(raw))
    f = finding(result, "css-display-flex")
    assert f.line == line_of(raw, b'<div style=3D"display:flex')


def test_lines_in_base64_html_point_at_the_part():
    raw = html_message(page('<div style="display:flex">a</div>'), cte="base64")
    f = finding(check_compatibility(inp(raw)), "css-display-flex")
    assert f.line == line_of(raw, b"Content-Type: text/html")


def test_cid_image_format_comes_from_the_attachment():
    raw = (
        b"From: a@example.com\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/related; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/html\r\n\r\n"
        b'<p><img src="cid:logo@x" alt="logo"></p>\r\n'
        b"--r\r\nContent-Type: image/gif\r\nContent-ID: <logo@x>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAAAAACw=\r\n--r--\r\n"
    )
    assert "image-gif" in codes(check_compatibility(inp(raw)))


def test_every_slug_in_the_detection_tables_exists_in_the_data():
    data = load()
    named = (
        set(features.ELEMENT_SLUGS.values())
        | set(features.ATTRIBUTE_SLUGS.values())
        | set(features.INPUT_TYPE_SLUGS.values())
        | set(features.BUTTON_TYPE_SLUGS.values())
        | set(features.IMAGE_EXTENSIONS.values())
        | set(features.IMAGE_TYPES.values())
        | set(features.VALUE_SLUGS.values())
        | set(features.FUNCTION_SLUGS.values())
        | set(features.KEYWORD_SLUGS.values())
        | set(features.UNIT_SLUGS.values())
        | set(features.AT_RULE_SLUGS.values())
        | set(features.MEDIA_FEATURE_SLUGS.values())
        | set(features.PSEUDO_SLUGS.values())
    )
    missing = sorted(named - set(data.features))
    assert not missing, missing


@pytest.mark.parametrize(
    ("prop", "slug"),
    [
        ("padding-left", "css-padding"),
        ("border-top-color", "css-border"),
        ("-webkit-border-radius", "css-border-radius"),
        ("margin-inline-start", "css-margin-inline-start-end"),
        ("--brand", "css-variables"),
        ("font-family", None),
    ],
)
def test_property_names(prop, slug):
    load()
    assert features.property_slugs(prop) == ((slug,) if slug else ())


def test_shipped_data_and_licence():
    files = resources.files("mailcatcher_gui.core.checks").joinpath("data")
    assert "MIT License" in files.joinpath("caniemail.LICENSE").read_text("utf-8")
    data = load()
    assert len(data.features) > 300
    assert data.version


def test_huge_style_blocks_are_read_up_to_a_limit():
    from mailcatcher_gui.core.checks.compatibility import MAX_STYLESHEET_CHARS

    rule = ".c td { color: #333; padding: 4px }\n"
    css = rule * (MAX_STYLESHEET_CHARS // len(rule) + 100) + "@font-face { font-family: X }"
    result = check_compatibility(inp(html_message(page(head=f"<style>{css}</style>"))))
    assert "css-not-fully-analysed" in codes(result)
    assert "css-at-font-face" not in codes(result)  # past the limit
    small = check_compatibility(inp(html_message(page(head=f"<style>{rule}</style>"))))
    assert "css-not-fully-analysed" not in codes(small)


def test_lines_after_a_soft_break_inside_one_html_line():
    html = page("<p>" + "y" * 120 + '<video src="v.mp4"></video></p>')
    body = quopri.encodestring(html.encode()).replace(b"\n", b"\r\n").decode()
    raw = html_message(body, cte="quoted-printable")
    f = finding(check_compatibility(inp(raw)), "html-video")
    assert f.line == line_of(raw, b"<video")  # the raw line after the soft break
    assert raw.splitlines()[f.line - 2].endswith(b"=")


def test_lines_of_html_inside_an_encoded_embedded_message():
    inner = html_message(page('<div style="display:flex">a</div>'), text=None)
    raw = (
        head(Content_Type='multipart/mixed; boundary="o"')
        + b"\r\n--o\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(inner).replace(b"\n", b"\r\n")
        + b"--o--\r\n"
    )
    f = finding(check_compatibility(inp(raw)), "css-display-flex")
    assert f.line == line_of(raw, b"Content-Type: message/rfc822")
