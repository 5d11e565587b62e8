"""``/view/{ID}.html``: a message's HTML served to a browser, and the policy it gets.

Mailpit's route renders a message's HTML part for UI tests, with inline
images (``cid:`` references) pointed at ``/api/v1/message/{ID}/part/{PartID}``.
We do the same, and serve it with a Content-Security-Policy in the spirit
of the window's viewer (``core.render.policy``): no scripts, frames,
plugins, forms or network connections; images, styles, fonts and media only
from this server and ``data:``, unless remote content is allowed (the
``?remote=1`` query, or ``ApiContext.allow_remote_content``), which adds
``http:`` and ``https:``. Resource hints (``<link rel=preconnect>`` ...)
are disarmed as in the viewer, since they reach the network outside CSP's
loading rules in some browsers.
"""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import quote, unquote

from ..models import ParsedMessage
from ..render import policy as render_policy
from ..render.policy import neutralize_resource_hints

__all__ = ["content_security_policy", "link_inline_images", "part_path"]

# A cid: URL in an attribute value (src=, background=, quoted or not) or a CSS url(...).
_CID_REF = re.compile(
    r"""(?P<lead>(?:=|url\()\s*["']?\s*)cid:(?P<cid>[^\s"'<>()]+)""",
    re.IGNORECASE,
)


def part_path(message_id: int, part_id: str) -> str:
    return f"/api/v1/message/{message_id}/part/{quote(part_id, safe='')}"


def link_inline_images(parsed: ParsedMessage, message_id: int) -> str:
    """The HTML body with each resolvable ``cid:`` pointing at its part's URL.

    The Content-ID in a ``cid:`` URL is percent-encoded (RFC 2392) and may be
    HTML-escaped inside the attribute; both are undone before the lookup. A
    ``cid:`` that names no part is left as it is (and loads nothing).
    """
    html = neutralize_resource_hints(parsed.html or "")

    def repl(m: re.Match[str]) -> str:
        cid = html_lib.unescape(unquote(m.group("cid")))
        att = parsed.attachment_by_cid(cid)
        if att is None:
            return m.group(0)
        return m.group("lead") + part_path(message_id, att.part_id)

    return _CID_REF.sub(repl, html)


def content_security_policy(*, allow_remote: bool) -> str:
    """The policy ``/view/{ID}.html`` is served with (see module doc): the viewer's
    policy (``core.render.policy``) with this server's own sources."""
    loadable = "'self' data:" + (" http: https:" if allow_remote else "")
    return render_policy.content_security_policy(loadable, frame_ancestors="'self'")
