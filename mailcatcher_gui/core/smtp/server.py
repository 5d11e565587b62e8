"""Starting and stopping the sink: ``start_sink`` and the ``RunningSink`` handle.

``start_sink`` binds the listeners with ``loop.create_server`` on whatever
loop is running (plain asyncio for ``serve`` and the tests, qasync's
QEventLoop in the GUI), so there is no server thread and no cross-thread
hand-off: a session, its ``Mailbox.accept`` await and the ``250`` reply all
happen on that loop. aiosmtpd's ``Controller`` is deliberately not used (it
runs its own loop in a thread). Implicit TLS is a plain listener whose
sessions start with ``loop.start_tls``, so ``stop`` can reach connections
that are still handshaking.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..rules import Outbox, RuleSet, RulesFileError, RulesFileWatcher, load_rules_file
from .auth import Authenticator
from .config import SinkConfig, SinkStartError, format_host
from .handler import SinkHandler
from .listen import FdShortage, GatedSocket, bind_listeners, listen_backlog
from .payload import DataBudget
from .protocol import SinkSMTP
from .tls import CertificateError, ensure_self_signed, server_context

if TYPE_CHECKING:  # the sink only needs Mailbox.accept
    from ..mailbox import Mailbox

__all__ = ["RunningSink", "start_sink"]

log = logging.getLogger(__name__)

# How long ``stop`` lets a session that is committing a message finish, so a
# client that delivered a message gets its 250 instead of a dropped line.
_STOP_GRACE = 3.0


class RunningSink:
    """Handle for started listeners; ``stop`` closes them and every open session."""

    def __init__(
        self,
        servers: list[asyncio.Server],
        gates: list[GatedSocket],
        listeners: list[tuple[str, str, int]],
        sessions: set[SinkSMTP],
        certificate: Path,
        temp_dir: Path | None,
        data_budget: DataBudget,
        rules: RuleSet,
        watcher: RulesFileWatcher | None,
        outbox: Outbox,
        owns_outbox: bool,
    ) -> None:
        self.listeners = listeners
        #: (kind, host, port, default mailbox or None), one per socket, as ``listeners``
        self.details: list[tuple[str, str, int, str | None]] = [
            (*entry, None) for entry in listeners
        ]
        # The live rules (core/rules): change them from any thread, no restart.
        self.rules = rules
        # Forward/webhook deliveries (core/rules/outbox.py); closed by stop() if ours.
        self.outbox = outbox
        self._owns_outbox = owns_outbox
        self.rules_watcher = watcher  # reload() re-reads SinkConfig.rules_file
        self.certificate = certificate  # the PEM certificate clients see (trust this one)
        self._servers = servers
        self._gates = gates
        self._sessions = sessions
        self._temp_dir = temp_dir
        self._data_budget = data_budget
        self._stopped = False

    def port(self, kind: str = "smtp") -> int:
        """The real port of the first ``kind`` ("smtp" | "smtps") listener."""
        for k, _host, port in self.listeners:
            if k == kind:
                return port
        raise LookupError(f"no {kind} listener")

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @property
    def pending_data_bytes(self) -> int:
        """Payload bytes held in memory now (received or being stored), all sessions."""
        return self._data_budget.used

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.rules_watcher is not None:
            await self.rules_watcher.stop()
        # Stop accepting, let connections accepted until now attach to their
        # server (one loop iteration, see GatedSocket), then close the
        # listeners; one more iteration runs their connection_made so every
        # session is registered and gets closed below.
        for gate in self._gates:
            gate.accepting = False
        await asyncio.sleep(0)
        for server in self._servers:
            server.close()
        for _ in range(2):
            await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STOP_GRACE
        while any(s.storing for s in self._sessions) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await _close_sessions(self._sessions)
        for server in self._servers:
            await server.wait_closed()
        if self._owns_outbox:
            await self.outbox.close()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
        log.info("SMTP sink stopped")


async def _close_sessions(sessions: set[SinkSMTP]) -> None:
    loop = asyncio.get_running_loop()
    live = list(sessions)
    for session in live:
        session.shut_down()
    deadline = loop.time() + 2.0
    while sessions and loop.time() < deadline:
        await asyncio.sleep(0.005)
    for session in list(sessions):  # a client that does not read: force it
        session.abort()
    while sessions and loop.time() < deadline + 1.0:
        await asyncio.sleep(0.005)
    tasks = [task for s in live for task in s.tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def start_sink(
    config: SinkConfig,
    mailbox: Mailbox,
    rules: RuleSet | None = None,
    outbox: Outbox | None = None,
) -> RunningSink:
    """Start the listeners on the running loop; ``SinkStartError`` with a clear message.

    ``rules``: a ``RuleSet`` to use (kept by the caller across restarts);
    by default a new one, filled from ``config.rules_file`` if given.
    ``outbox``: where forward/webhook rules deliver (kept by the caller, with
    its relay profiles and API link); by default one of the sink's own,
    closed when it stops.
    """
    loop = asyncio.get_running_loop()
    rcpt_rule = _compile_rcpt_rule(config.accept_rcpt)
    rules = rules if rules is not None else RuleSet()
    watcher = _load_rules(config.rules_file, rules)
    if config.max_size < 0:
        raise SinkStartError(f"invalid maximum message size {config.max_size}: must be >= 0")
    if config.data_budget < 0:
        raise SinkStartError(f"invalid DATA memory budget {config.data_budget}: must be >= 0")
    data_budget = DataBudget(config.data_budget)
    tls_context, certificate, temp_dir = _tls_setup(config)
    owns_outbox = outbox is None
    outbox = outbox if outbox is not None else Outbox(mailbox)
    handler = SinkHandler(mailbox, config, rcpt_rule, outbox)
    sessions: set[SinkSMTP] = set()
    authenticator = Authenticator(config.auth)

    def factory(
        implicit_tls: bool, name: str = "smtp", mailbox_name: str | None = None
    ) -> Callable[[], SinkSMTP]:
        def make() -> SinkSMTP:
            session = SinkSMTP(
                handler,
                sessions=sessions,
                implicit_tls=tls_context if implicit_tls else None,
                auth=config.auth,
                data_budget=data_budget,
                hostname=config.hostname,  # else aiosmtpd calls getfqdn() per connection
                ident="ESMTP ready",
                timeout=config.idle_timeout,
                data_size_limit=config.max_size or None,
                enable_SMTPUTF8=True,
                decode_data=False,
                tls_context=None if implicit_tls else tls_context,
                auth_require_tls=False,
                authenticator=authenticator,
                loop=loop,
            )
            session.rules = rules
            session.listener_name = name  # the rules' ``listener`` condition
            session.default_mailbox = mailbox_name
            return session

        return make

    wanted = [
        ("smtp", spec.address, "--smtp", factory(False, spec.name, spec.mailbox), spec.mailbox)
        for spec in config.smtp_listeners()
    ]
    if config.smtps is not None:
        wanted.append(("smtps", config.smtps, "--smtps", factory(True, "smtps"), None))
    servers: list[asyncio.Server] = []
    gates: list[GatedSocket] = []
    shortage = FdShortage()
    backlog = listen_backlog()
    listeners: list[tuple[str, str, int]] = []
    details: list[tuple[str, str, int, str | None]] = []
    try:
        for kind, address, flag, make, default_mailbox in wanted:
            for sock in await bind_listeners(loop, address, flag, shortage):
                gates.append(sock)
                name = sock.getsockname()
                listeners.append((kind, str(name[0]), int(name[1])))
                details.append((kind, str(name[0]), int(name[1]), default_mailbox))
                # create_server listens again, with its own default of 100.
                servers.append(await loop.create_server(make, sock=sock, backlog=backlog))
    except BaseException:
        for server in servers:
            server.close()
        for sock in gates:
            sock.close()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    log.info(
        "SMTP sink listening on %s (STARTTLS, max size %d, auth %s)",
        ", ".join(
            f"{k} {format_host(h)}:{p}" + (f" (mailbox {m})" if m else "") for k, h, p, m in details
        ),
        config.max_size,
        config.auth.describe(),
    )
    if watcher is not None:
        watcher.start()
    outbox.own_ports = frozenset(port for _kind, _host, port in listeners)
    running = RunningSink(
        servers,
        gates,
        listeners,
        sessions,
        certificate,
        temp_dir,
        data_budget,
        rules,
        watcher,
        outbox,
        owns_outbox,
    )
    running.details = details
    return running


def _load_rules(path: Path | None, rules: RuleSet) -> RulesFileWatcher | None:
    if path is None:
        return None
    try:
        rules.replace_all(load_rules_file(path))
    except RulesFileError as exc:
        raise SinkStartError("bad rules file: " + "; ".join(exc.lines())) from exc
    except OSError as exc:
        raise SinkStartError(f"cannot read the rules file {path}: {exc.strerror or exc}") from exc
    rules.source = str(path)
    return RulesFileWatcher(Path(path), rules)


def _compile_rcpt_rule(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise SinkStartError(f"invalid recipient rule {pattern!r}: {exc}") from exc


def _tls_setup(config: SinkConfig) -> tuple[ssl.SSLContext, Path, Path | None]:
    """The server TLS context, the certificate path and a temp dir to remove on stop."""
    temp_dir: Path | None = None
    try:
        if config.tls_cert is not None:
            cert = Path(config.tls_cert)
            key = Path(config.tls_key) if config.tls_key is not None else cert
        elif config.tls_key is not None:
            raise SinkStartError("a TLS key was given without its certificate")
        else:
            cert_dir = config.cert_dir
            if cert_dir is None:
                temp_dir = cert_dir = Path(tempfile.mkdtemp(prefix="mailcatcher-tls-"))
            cert, key = ensure_self_signed(cert_dir)
        return server_context(cert, key), cert, temp_dir
    except CertificateError as exc:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise SinkStartError(str(exc)) from exc
