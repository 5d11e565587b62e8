"""Failures by stage: ``StageError`` and the classification of what went wrong.

``SmtpSession`` knows which stage it is in; these functions turn an
aiosmtplib, OpenSSL or OS exception at that stage into a ``Failure`` with a
complete sentence (and the server's code and text when a reply caused it),
recording the sentence in the transcript.
"""

from __future__ import annotations

import ssl

from aiosmtplib.errors import (
    SMTPConnectError,
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPException,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from .profiles import RelayProfile
from .report import Failure, FailureStage, Stage
from .tlsinfo import verify_reason
from .transcript import Recorder

__all__ = ["STAGE_WHAT", "StageError", "classify", "connect_failure", "failure_stage"]

STAGE_WHAT = {
    Stage.CONNECT: "the connection",
    Stage.TLS: "STARTTLS",
    Stage.EHLO: "EHLO",
    Stage.AUTH: "AUTH",
    Stage.MAIL: "MAIL FROM",
    Stage.RCPT: "RCPT TO",
    Stage.DATA: "the message data (DATA)",
    Stage.QUIT: "QUIT",
}


def failure_stage(stage: Stage) -> FailureStage:
    try:
        return FailureStage(stage.value)
    except ValueError:
        return FailureStage.DATA if stage is Stage.QUIT else FailureStage.CONNECT


class StageError(Exception):
    """A classified failure; ``usable`` says whether the connection can go on."""

    def __init__(self, failure: Failure, *, usable: bool) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.usable = usable


def connect_failure(
    exc: Exception, implicit: bool, profile: RelayProfile, rec: Recorder
) -> StageError:
    """Classify what went wrong between TCP connect and the greeting.

    A TLS error of an implicit-TLS connect is not handled here: the session
    reports it with the certificate (``tls_steps.tls_failure``).
    """
    p = profile
    if isinstance(exc, SMTPConnectResponseError):
        rec.server(exc.code, exc.message)
        message = f"the server refused the session in its greeting: {exc.code} {exc.message}"
        return StageError(
            Failure(FailureStage.CONNECT, message, exc.code, exc.message, Stage.CONNECT),
            usable=False,
        )
    if isinstance(exc, SMTPConnectTimeoutError | SMTPTimeoutError | TimeoutError) or (
        implicit and isinstance(exc.__cause__, ConnectionAbortedError)
    ):
        if implicit and "waiting for server ready" not in str(exc):
            message = f"the TLS handshake did not complete within {p.connect_timeout:g}s"
            during = Stage.TLS
        else:
            message = f"connected, but the server sent no greeting within {p.connect_timeout:g}s"
            if not implicit:
                message += " (if this port expects TLS from the first byte, use implicit TLS)"
            during = Stage.CONNECT
        rec.error(message)
        return StageError(Failure(FailureStage.TIMEOUT, message, during=during), usable=False)
    if implicit and isinstance(exc.__cause__, ConnectionError):
        message = "the server closed the connection during the TLS handshake"
        rec.error(message)
        return StageError(Failure(FailureStage.TLS, message, during=Stage.TLS), usable=False)
    if isinstance(exc, SMTPConnectError | SMTPServerDisconnected | ConnectionError):
        message = "the server closed the connection before sending its greeting"
        rec.error(message)
        return StageError(
            Failure(FailureStage.CONNECT, message, during=Stage.CONNECT), usable=False
        )
    message = f"connecting failed: {exc}"
    rec.error(message)
    return StageError(Failure(FailureStage.CONNECT, message), usable=False)


def classify(
    exc: Exception, stage: Stage, *, profile: RelayProfile, rec: Recorder, usable: bool
) -> StageError:
    """Turn an aiosmtplib/OS exception at ``stage`` into a failure (and a line).

    ``usable``: whether the connection was still open when it happened.
    """
    what = STAGE_WHAT.get(stage, stage.value)
    if isinstance(exc, SMTPTimeoutError | TimeoutError):
        message = (
            f"timed out after {profile.command_timeout:g}s waiting for the server's reply to {what}"
        )
        rec.error(message)
        return StageError(Failure(FailureStage.TIMEOUT, message, during=stage), usable=False)
    if isinstance(exc, SMTPResponseException):
        # The reply itself is already in the transcript (the tap saw it).
        message = f"{what} refused by the server: {exc.code} {exc.message}"
        return StageError(
            Failure(failure_stage(stage), message, exc.code, exc.message, stage),
            usable=usable and exc.code != 421,
        )
    if isinstance(exc, SMTPServerDisconnected | ConnectionError):
        message = f"the server closed the connection during {what}"
        rec.error(message)
        return StageError(Failure(failure_stage(stage), message, during=stage), usable=False)
    if isinstance(exc, ssl.SSLError):
        message = f"TLS error during {what}: {verify_reason(exc)}"
        rec.error(message)
        return StageError(Failure(FailureStage.TLS, message, during=stage), usable=False)
    if isinstance(exc, SMTPException | OSError | ValueError):
        message = f"{what} failed: {exc}"
        rec.error(message)
        return StageError(Failure(failure_stage(stage), message, during=stage), usable=usable)
    raise exc
