"""Where the corpus comes from, and what happens without it.

A bare clone has no ../shared/corpus: its test run must pass with the corpus
tests skipped for a stated reason, and must not read a corpus file while
collecting. CI sets MAILCATCHER_REQUIRE_CORPUS=1, which turns a missing corpus
into an error instead. Each case runs a real pytest in a subprocess on
test_parsing.py (corpus tests and hand-built tests side by side).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS_DIR, CORPUS_ENV, REPO, REQUIRE_CORPUS_ENV, corpus_manifest


def _pytest(env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (CORPUS_ENV, REQUIRE_CORPUS_ENV)}
    env.update(env_extra)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_parsing.py",
            *args,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_missing_corpus_skips_corpus_tests_with_the_reason(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-corpus-here"
    run = _pytest({CORPUS_ENV: str(nowhere)})
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    reason = f"corpus not found at {nowhere}; set MAILCATCHER_CORPUS=DIR"
    assert "SKIPPED [1] tests/test_parsing.py" in out and reason in out, out
    assert " passed" in out and " skipped" in out, out  # the hand-built tests still ran
    assert "error" not in out.lower(), out


def test_required_corpus_missing_is_an_error(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-corpus-here"
    run = _pytest({CORPUS_ENV: str(nowhere), REQUIRE_CORPUS_ENV: "1"})
    assert run.returncode == 4, run.stdout + run.stderr  # pytest's usage error
    assert f"corpus not found at {nowhere}" in run.stderr
    assert "MAILCATCHER_REQUIRE_CORPUS" in run.stderr


@pytest.mark.corpus
def test_override_points_at_another_folder(tmp_path: Path) -> None:
    """MAILCATCHER_CORPUS=DIR is used as given: a copy of the cid-inline
    files and a manifest naming only them, in a folder of its own, runs
    exactly those cases."""
    elsewhere = tmp_path / "corpus-copy"
    rows = ["file\tsource_repo\toriginal_path\tlicense\ttags"]
    for rel, tags in corpus_manifest():
        if "cid-inline" in tags:
            dest = elsewhere / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes((CORPUS_DIR / rel).read_bytes())
            rows.append(f"{rel}\t-\t-\t-\t{','.join(sorted(tags))}")
    (elsewhere / "MANIFEST.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    run = _pytest({CORPUS_ENV: str(elsewhere)}, "-k", "cid_references")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert f"{len(rows) - 1} passed" in out, out
