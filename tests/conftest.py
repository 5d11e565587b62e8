"""Test-wide environment: headless Qt, Chromium without its sandbox (we run as
root in CI), where the shared corpus is (and skipping its tests when it is
absent), and fresh stores on real SQLite files."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

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

# --- the corpus -------------------------------------------------------------
# The 397-message test corpus lives outside the repository (../shared/corpus
# beside the checkout). A bare clone has no such folder, so nothing here reads
# a file at import time: corpus tests are found by what they ask for (the
# ``corpus`` / ``corpus_dir`` fixtures, ``@pytest.mark.corpus``,
# ``@pytest.mark.corpus_tagged(TAG)``) and skipped with one clear reason when
# the corpus is absent. CI sets MAILCATCHER_REQUIRE_CORPUS=1 so a missing
# corpus is an error there, never a silent skip.
CORPUS_ENV = "MAILCATCHER_CORPUS"
REQUIRE_CORPUS_ENV = "MAILCATCHER_REQUIRE_CORPUS"
CORPUS_SIZE = 397


def _corpus_dir() -> Path:
    override = os.environ.get(CORPUS_ENV, "").strip()
    if override:
        return Path(override).expanduser().resolve()
    return REPO.parent / "shared" / "corpus"


CORPUS_DIR = _corpus_dir()


def corpus_missing_reason() -> str | None:
    """Why corpus tests cannot run, or None when the corpus is there."""
    if (CORPUS_DIR / "MANIFEST.tsv").is_file():
        return None
    return f"corpus not found at {CORPUS_DIR}; set {CORPUS_ENV}=DIR"


def require_corpus() -> Path:
    """The corpus folder, or skip the calling test with the reason."""
    reason = corpus_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    return CORPUS_DIR


@functools.cache
def corpus_manifest() -> tuple[tuple[str, frozenset[str]], ...]:
    """(relative path, tags) for every manifest row, in manifest order."""
    rows = (require_corpus() / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    out = []
    for row in rows:
        if row.strip():
            cols = row.split("\t")
            out.append((cols[0], frozenset(cols[4].split(",")) if len(cols) > 4 else frozenset()))
    return tuple(out)


def corpus_files() -> list[Path]:
    """Every message listed in the corpus manifest, in manifest order."""
    root = require_corpus()
    return [root / rel for rel, _tags in corpus_manifest()]


def corpus_tagged(tag: str) -> list[str]:
    """Relative paths of the manifest rows carrying TAG, sorted."""
    return sorted(rel for rel, tags in corpus_manifest() if tag in tags)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "corpus: reads the shared test corpus (skipped when absent)")
    config.addinivalue_line(
        "markers",
        "corpus_tagged(tag): parametrize `rel` with the corpus files carrying TAG in MANIFEST.tsv",
    )
    if os.environ.get(REQUIRE_CORPUS_ENV, "") not in ("", "0"):
        reason = corpus_missing_reason()
        if reason is not None:
            raise pytest.UsageError(
                f"{reason} ({REQUIRE_CORPUS_ENV} is set: corpus tests must run)"
            )

    # The app's own pre-QApplication steps (shared GL contexts, custom URL
    # schemes): pytest-qt creates the QApplication lazily in the first test
    # that needs it, so this is the last moment to do them.
    from mailcatcher_gui.ui.startup import prepare_webengine

    prepare_webengine()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("corpus_tagged")
    if marker is None:
        return
    reason = corpus_missing_reason()
    if reason is not None:
        # One placeholder case, skipped, so the report says why.
        metafunc.parametrize(
            "rel", [pytest.param("", marks=pytest.mark.skip(reason=reason))], ids=["no-corpus"]
        )
    else:
        metafunc.parametrize("rel", corpus_tagged(marker.args[0]))


def _reads_corpus(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return (
        "corpus" in names
        or "corpus_dir" in names
        or item.get_closest_marker("corpus") is not None
        or item.get_closest_marker("corpus_tagged") is not None
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = corpus_missing_reason()
    for item in items:
        if _reads_corpus(item):
            item.add_marker(pytest.mark.corpus)  # so `-m corpus` selects them all
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    reason = corpus_missing_reason()
    if reason is not None:
        terminalreporter.write_line(f"corpus tests skipped: {reason}", yellow=True)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The corpus folder (MAILCATCHER_CORPUS or ../shared/corpus)."""
    return require_corpus()


@pytest.fixture(scope="session")
def corpus(corpus_dir: Path) -> list[Path]:
    files = corpus_files()
    assert len(files) == CORPUS_SIZE, f"expected the {CORPUS_SIZE}-message corpus at {corpus_dir}"
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
