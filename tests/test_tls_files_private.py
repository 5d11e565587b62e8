"""The generated self-signed certificate's folder is 0700 and its key 0600,
whatever the umask (issue 10 item 22's follow-up for ``certs/``)."""

from __future__ import annotations

import os
import stat

from mailcatcher_gui.core.smtp.tls import ensure_self_signed


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_certificate_folder_and_key_are_private_whatever_the_umask(tmp_path):
    cert_dir = tmp_path / "data" / "certs"
    old = os.umask(0)  # the most permissive umask: nothing may depend on it
    try:
        cert, key = ensure_self_signed(cert_dir)
    finally:
        os.umask(old)
    assert _mode(cert_dir) == 0o700
    assert _mode(cert_dir.parent) == 0o700  # created on the way: private too
    assert _mode(key) == 0o600
    assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_an_existing_folder_keeps_its_mode(tmp_path):
    """``--tls-cert``-style folders the user made are not changed (as for the store)."""
    cert_dir = tmp_path / "mine"
    cert_dir.mkdir()
    os.chmod(cert_dir, 0o755)
    _cert, key = ensure_self_signed(cert_dir)
    assert _mode(cert_dir) == 0o755 and _mode(key) == 0o600
