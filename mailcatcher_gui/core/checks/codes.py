"""Every finding code the network-free families emit, with what it means.

For the Checks tab, the CLI's and API's documentation, and a test that no
family emits a code missing here. The compatibility family's codes are
caniemail's feature slugs (``css-display-flex``, ``html-style``, …, see
``caniemail.load().features``) plus the three below.
"""

from __future__ import annotations

__all__ = ["CODES"]

# code -> (family, meaning)
CODES: dict[str, tuple[str, str]] = {
    # compatibility (besides one code per caniemail slug, and html-script)
    "css-not-fully-analysed": ("compatibility", "<style> CSS over 768 KB: the rest was not read"),
    "html-too-deep": ("compatibility", "HTML nested over 2000 block elements: not analysed"),
    "html-script": ("compatibility", "<script>: no email client runs it"),
    # headers and structure
    "date-missing": ("headers", "no Date header"),
    "date-malformed": ("headers", "Date is not an RFC 5322 date"),
    "date-no-zone": ("headers", "Date has no time zone"),
    "message-id-missing": ("headers", "no Message-ID header"),
    "message-id-malformed": ("headers", "Message-ID is not <left@right>"),
    "mime-version-missing": ("headers", "MIME content without MIME-Version"),
    "mime-version-malformed": ("headers", "MIME-Version is not 1.0"),
    "from-missing": ("headers", "no From header"),
    "from-malformed": ("headers", "From has no valid address"),
    "from-several-no-sender": ("headers", "several From mailboxes but no Sender"),
    "from-name-is-other-address": ("headers", "From's display name shows another address"),
    "reply-to-malformed": ("headers", "Reply-To has no valid address"),
    "reply-to-other-domain": ("headers", "Reply-To goes to another domain than From"),
    "header-line-too-long": ("headers", "a header line over 998 octets"),
    "header-8bit": ("headers", "raw 8-bit headers (no transcript to check SMTPUTF8)"),
    "header-8bit-without-smtputf8": ("headers", "raw 8-bit headers, MAIL FROM without SMTPUTF8"),
    "header-duplicate": ("headers", "a header allowed once appears several times"),
    "bcc-present": ("headers", "the stored message carries a Bcc header"),
    "subject-missing": ("headers", "no Subject header"),
    "list-unsubscribe-malformed": ("headers", "List-Unsubscribe syntax problem"),
    "list-unsubscribe-http": ("headers", "List-Unsubscribe uses plain http"),
    "list-unsubscribe-post-invalid": ("headers", "List-Unsubscribe-Post wrong or unusable"),
    "list-unsubscribe-one-click": ("headers", "RFC 8058 one-click unsubscribe present (OK)"),
    "list-unsubscribe-no-one-click": ("headers", "https List-Unsubscribe without the Post header"),
    "html-without-text": ("headers", "HTML body without a text/plain alternative"),
    "text-alternative-empty": ("headers", "the text/plain alternative is empty"),
    "text-alternative-short": ("headers", "the text alternative is far shorter than the HTML"),
    "charset-missing": ("headers", "8-bit text without a declared charset"),
    "charset-unknown": ("headers", "a charset no decoder knows"),
    "attachment-type-mismatch": ("headers", "attachment bytes contradict its declared type"),
    "mime-defect": ("headers", "the MIME parser had to repair the structure"),
    # bulk-sender readiness (OK when met)
    "bulk-dkim": ("bulk", "a DKIM signature that verifies and aligns with From"),
    "bulk-one-click": ("bulk", "RFC 8058 one-click unsubscribe"),
    "bulk-message-id": ("bulk", "a valid Message-ID"),
    "bulk-date": ("bulk", "a valid Date"),
    "bulk-from": ("bulk", "exactly one valid From address"),
    # size
    "gmail-clipped": ("size", "HTML over 102 KB: Gmail clips it"),
    "gmail-clip-near": ("size", "HTML over 90% of Gmail's clipping size"),
    "message-too-large": ("size", "over a provider's message size limit"),
    "message-near-limit": ("size", "over 80% of the smallest provider limit (20 MB)"),
    # accessibility
    "img-no-alt": ("accessibility", "images without alt"),
    "img-decorative-alt": ("accessibility", 'decorative images without alt=""'),
    "html-no-lang": ("accessibility", "no lang on <html>"),
    "layout-table-no-role": ("accessibility", 'layout tables without role="presentation"'),
    "link-text-vague": ("accessibility", 'links whose text is "click here", "read more"…'),
    "link-no-text": ("accessibility", "links with no text, image alt or aria-label"),
    "font-too-small": ("accessibility", "inline font size under 12 px"),
    "low-contrast": ("accessibility", "inline text/background contrast under 4.5:1"),
}
