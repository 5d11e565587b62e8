"""The checks' child process (ui/viewer/checks_process.py): real child
processes, the real checks. A check that raises is an answer; a child that
dies or hangs is an error, and the next call gets a new child."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime

import pytest

from mailcatcher_gui.core.checks.model import CheckOptions, ChecksReport
from mailcatcher_gui.core.mailio.local import unstored_message
from mailcatcher_gui.ui.viewer import checks_process
from mailcatcher_gui.ui.viewer.checks_process import (
    ChecksProcess,
    ChecksProcessError,
    decode_answer,
    encode_request,
)

NO_NET = CheckOptions(resolve_dns=False)
HTML = (
    b"From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n"
    b"Content-Type: text/html\r\n\r\n<p style='display:flex'><img src='x.png'></p>\r\n"
)


@pytest.fixture
def process():
    proc = ChecksProcess()
    yield proc
    proc.shutdown()


def opened():
    return unstored_message(HTML, received_at=datetime.now(UTC), source="test")


def test_the_child_runs_the_real_checks(process):
    answer = process.run(encode_request("local", checks_process.local_checks, opened(), NO_NET), 60)
    report = decode_answer(answer)
    assert isinstance(report, ChecksReport)
    assert report.family("accessibility") is not None
    first = process.pid
    assert first is not None and first != os.getpid()
    # the same child serves the next check
    decode_answer(
        process.run(encode_request("local", checks_process.local_checks, opened(), NO_NET), 60)
    )
    assert process.pid == first


def test_a_check_that_raises_is_an_answer_and_the_child_goes_on(process):
    request = encode_request("local", checks_process.local_checks, "not a message", NO_NET)
    with pytest.raises(ChecksProcessError, match="AttributeError"):
        decode_answer(process.run(request, 60))
    pid = process.pid
    report = decode_answer(
        process.run(encode_request("local", checks_process.local_checks, opened(), NO_NET), 60)
    )
    assert isinstance(report, ChecksReport) and process.pid == pid


def test_a_child_that_dies_is_an_error_and_is_replaced(process):
    decode_answer(process.run(encode_request("warm-up", checks_process.warm_up, None, None), 60))
    pid = process.pid
    assert pid is not None
    # the child kills itself while "checking": os.kill(its own pid, SIGKILL)
    with pytest.raises(ChecksProcessError, match="failed"):
        process.run(encode_request("local", os.kill, pid, signal.SIGKILL), 30)
    assert process.pid is None
    report = decode_answer(
        process.run(encode_request("local", checks_process.local_checks, opened(), NO_NET), 60)
    )
    assert isinstance(report, ChecksReport) and process.pid not in (None, pid)


def test_a_check_that_hangs_times_out_and_its_child_ends(process):
    decode_answer(process.run(encode_request("warm-up", checks_process.warm_up, None, None), 60))
    pid = process.pid
    # os.read(0, 1) in the child waits for a request that never comes
    with pytest.raises(ChecksProcessError, match="longer than 1 s"):
        process.run(encode_request("local", os.read, 0, 1), 1.0)
    assert process.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # really gone


def test_after_shutdown_nothing_runs(process):
    process.shutdown()
    with pytest.raises(ChecksProcessError, match="shut down"):
        process.run(encode_request("local", checks_process.local_checks, opened(), NO_NET), 5)
