"""Test-wide environment: headless Qt, Chromium without its sandbox (we run as
root in CI), the shared corpus, and fresh stores on real SQLite files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Must be set before any Qt import anywhere in the test session.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault(
    "QTWEBENGINE_CHROMIUM_FLAGS",
    "--disable-gpu --disable-background-networking --disable-component-update --no-first-run",
)
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false;qt.webenginecontext.*=false")

REPO = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO.parent / "shared" / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    # The app's own pre-QApplication steps (shared GL contexts, custom URL
    # schemes): pytest-qt creates the QApplication lazily in the first test
    # that needs it, so this is the last moment to do them.
    from mailcatcher_gui.app import prepare_webengine

    prepare_webengine()


def corpus_files() -> list[Path]:
    """Every message listed in the corpus manifest, in manifest order."""
    manifest = CORPUS_DIR / "MANIFEST.tsv"
    rows = manifest.read_text(encoding="utf-8").splitlines()[1:]
    return [CORPUS_DIR / row.split("\t", 1)[0] for row in rows if row.strip()]


@pytest.fixture(scope="session")
def corpus() -> list[Path]:
    files = corpus_files()
    assert len(files) == 397, f"expected the 397-message corpus at {CORPUS_DIR}"
    return files


@pytest.fixture
def store(tmp_path):
    from mailcatcher_gui.core.store.database import Store

    s = Store(tmp_path / "mail.sqlite3")
    yield s
    s.close()


@pytest.fixture
def mailbox(store):
    from mailcatcher_gui.core.mailbox import Mailbox

    mb = Mailbox(store)
    yield mb
    mb.close()
