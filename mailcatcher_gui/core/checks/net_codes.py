"""Every finding code of the authentication, links and spam families, with what it means.

The counterpart of ``codes.CODES`` (the network-free families) for the
families of branch checks-net: the Checks tab, the CLI's and API's
documentation and scripts reading ``--json`` can rely on this list; a test
keeps it in step with the code.
"""

from __future__ import annotations

__all__ = ["NETWORK_CODES"]

# code -> (family, meaning)
NETWORK_CODES: dict[str, tuple[str, str]] = {
    # authentication (DKIM, ARC)
    "dkim-unsigned": ("authentication", "no DKIM-Signature header"),
    "dkim-pass": ("authentication", "the signature verified (OK; a warning when not aligned)"),
    "dkim-fail": ("authentication", "body hash or signature did not verify"),
    "dkim-no-key": ("authentication", "no public key, from the user or DNS"),
    "dkim-error": ("authentication", "the signature or its key could not be read"),
    "arc-pass": ("authentication", "the ARC chain verified"),
    "arc-fail": ("authentication", "the ARC chain is broken"),
    "arc-no-key": ("authentication", "the ARC chain could not be checked: keys missing"),
    # links and images
    "link-ok": ("links", "the URL answers 2xx (after any redirects)"),
    "link-redirect": ("links", "a redirect, not followed (or leaving the web)"),
    "link-broken": ("links", "the URL answers 4xx or 5xx"),
    "link-unreachable": ("links", "no HTTP answer: DNS, connection, TLS or timeout"),
    "link-local-target": ("links", "a loopback/private/metadata target, refused"),
    "link-invalid": ("links", "an http(s) URL that does not parse"),
    "link-javascript": ("links", "a javascript: URL"),
    "link-relative": ("links", "a relative URL in HTML"),
    "cid-missing": ("links", "a cid: reference to no part"),
    "links-too-many": ("links", "more distinct URLs than are asked per message"),
    # spam score
    "spam-rule": ("spam", "one SpamAssassin rule hit, with its points"),
    "spamd-unavailable": ("spam", "spamd could not be reached or answered an error"),
}
