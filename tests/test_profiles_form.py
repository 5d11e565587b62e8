"""The relay profile form carries every field of a profile through an edit."""

from __future__ import annotations

from dataclasses import fields

import pytest

from mailcatcher_gui.core.sending import RelayProfile, Security
from mailcatcher_gui.ui.compose.profiles_form import ProfileForm

pytestmark = pytest.mark.gui


def test_an_edit_keeps_every_field_of_the_profile(qtbot) -> None:
    """Opening a profile in the form and taking it back changes nothing, including
    ``allow_plaintext_auth`` (set by ``send --allow-plaintext-auth``), which the
    form once rebuilt as False."""
    form = ProfileForm(keyring_available=False)
    qtbot.addWidget(form)
    profile = RelayProfile(
        name="legacy",
        host="smtp.legacy.example",
        port=2525,
        security=Security.NONE,
        username="app",
        password_env="LEGACY_PW",
        allow_plaintext_auth=True,
        connect_timeout=7.5,
        command_timeout=12.0,
        helo_name="ci.example",
    )
    form.set_profile(profile)
    assert form.allow_plaintext.isEnabled()  # only meaningful without TLS
    back = form.profile()
    for f in fields(RelayProfile):
        assert getattr(back, f.name) == getattr(profile, f.name), f.name

    form.allow_plaintext.setChecked(False)
    assert form.profile().allow_plaintext_auth is False
    form.security.setCurrentIndex(form.security.findData(Security.STARTTLS.value))
    assert not form.allow_plaintext.isEnabled()
