"""Cancelling a send at any instant closes the client socket and ends at once.

Issue: Cancel in the compose window right after "Connected" (within ~10 ms,
under load) left the client socket open (a ResourceWarning at the next
``gc.collect()``), and could be lost altogether: Python 3.11's
``asyncio.wait_for`` inside aiosmtplib swallows a cancellation that arrives
as the awaited step completes, and the send then waited for the greeting.

Here the cancellation lands at many points right after the connect (after N
loop turns, after short sleeps) against a server that accepts and never
speaks, and after each transcript line against the real sink. Each time the
task must end cancelled well within the connect timeout, and a
``gc.collect()`` with ResourceWarning as an error must find nothing unclosed.
"""

from __future__ import annotations

import asyncio
import gc
import time
import warnings

import pytest
from smtp_helpers import running_sink

from mailcatcher_gui.core.sending import Draft, RelayProfile, SendRequest, SmtpTransport, send
from mailcatcher_gui.core.sending.report import TranscriptLine

# The send would wait this long for a greeting; a cancel must end far sooner.
SILENT_TIMEOUT = 60.0


def _draft() -> Draft:
    return Draft(from_="a@example.org", to=("b@example.org",), subject="cancel me", text="body\n")


def _collect_without_leaks() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        gc.collect()


async def _silent_server() -> tuple[asyncio.Server, list[asyncio.StreamWriter]]:
    """Accepts and never says a word (no greeting)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    return await asyncio.start_server(hold, "127.0.0.1", 0), held


async def _cancel_after_connected(port: int, turns: int, pause: float) -> None:
    connected = asyncio.Event()

    def on_line(line: TranscriptLine) -> None:
        if line.text.startswith("Connected"):
            connected.set()

    profile = RelayProfile(name="silent", port=port, connect_timeout=SILENT_TIMEOUT)
    task = asyncio.ensure_future(
        send(SendRequest(_draft(), SmtpTransport(profile)), on_line=on_line)
    )
    await asyncio.wait_for(connected.wait(), 30)
    for _ in range(turns):
        await asyncio.sleep(0)
    if pause:
        await asyncio.sleep(pause)
    started = time.monotonic()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=SILENT_TIMEOUT / 4)
    assert task in done, f"the cancel was lost (turns={turns}, pause={pause})"
    assert task.cancelled(), task
    assert time.monotonic() - started < SILENT_TIMEOUT / 4
    # Let the transports' close callbacks run, as any loop would after a send.
    for _ in range(3):
        await asyncio.sleep(0)


def test_cancel_at_many_points_right_after_connect_leaks_nothing():
    async def main() -> int:
        server, held = await _silent_server()
        port = server.sockets[0].getsockname()[1]
        tries = 0
        try:
            for turns in range(12):
                for pause in (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01):
                    await _cancel_after_connected(port, turns, pause)
                    _collect_without_leaks()
                    tries += 1
        finally:
            for writer in held:
                writer.close()
            server.close()
            await server.wait_closed()
        return tries

    assert asyncio.run(main()) == 72
    _collect_without_leaks()


def test_cancel_at_every_transcript_line_of_a_real_send(mailbox):
    """Against the real sink: cancel the moment line N appears, for every N."""
    with running_sink(mailbox) as sink:
        profile = RelayProfile(name="sink", port=sink.port, helo_name="client.test")

        async def full_send() -> int:
            lines: list[TranscriptLine] = []
            report = await send(SendRequest(_draft(), SmtpTransport(profile)), on_line=lines.append)
            assert report.ok, report.failure
            return len(lines)

        total = asyncio.run(full_send())
        assert total > 8  # Trying, Connected, greeting, EHLO and its reply, MAIL, ...
        assert mailbox.count() == 1  # the positive control: an uncancelled send arrives

        async def cancel_at(n: int) -> None:
            seen = 0
            task: asyncio.Task[object] | None = None

            def on_line(_line: TranscriptLine) -> None:
                nonlocal seen
                seen += 1
                if seen == n and task is not None:
                    task.cancel()

            task = asyncio.ensure_future(
                send(SendRequest(_draft(), SmtpTransport(profile)), on_line=on_line)
            )
            done, _ = await asyncio.wait({task}, timeout=30)
            assert task in done, f"cancel at line {n} was lost"
            if not task.cancelled():
                # Cancelled as the last reply came in: only then may it have been sent.
                assert n >= total - 2, (n, task.result())
            for _ in range(3):
                await asyncio.sleep(0)

        for n in range(1, total + 1):
            asyncio.run(cancel_at(n))
            _collect_without_leaks()


@pytest.fixture
def mailbox(tmp_path):
    from mailcatcher_gui.core.mailbox import Mailbox
    from mailcatcher_gui.core.store.database import Store

    mb = Mailbox(Store(tmp_path / "mail.sqlite3"))
    yield mb
    mb.close()
