"""The one sending path: compose, the CLI ``send`` command and "release".

Start at ``api`` (``send``, ``send_batch``, ``test_connection``), which takes
a ``Draft`` (new message) or a ``RawMessage`` (bytes sent unchanged) and a
``Transport`` (``SmtpTransport`` for a ``RelayProfile``, or the local, file,
console and memory transports) and returns a ``SendReport`` whose transcript
shows every line exchanged.
"""

from .api import (
    SendRequest,
    send,
    send_batch,
    send_batch_sync,
    send_sync,
    test_connection,
    test_connection_sync,
)
from .base import Transport
from .destinations import (
    LOCAL_KEY,
    PRESET_PREFIX,
    PROFILE_PREFIX,
    SINK_KEY,
    Choice,
    DestinationError,
    Destinations,
    SinkEndpoint,
    connect_host,
)
from .draft import (
    Draft,
    DraftAttachment,
    DraftError,
    HeaderInjectionError,
    OutgoingMessage,
    RawMessage,
    build_message,
    parse_header_line,
    prepare_raw,
)
from .drafting import (
    ComposeFields,
    draft_from_fields,
    edit_as_new_draft,
    forward_draft,
    new_fields,
    reply_draft,
)
from .drafts import DraftStore, DraftStoreError, SavedDraft
from .policy import is_loopback, plaintext_auth_refusal
from .profiles import (
    PRESETS,
    ProfileError,
    ProfileNotFound,
    ProfileStore,
    RelayProfile,
    Security,
    resolve_password,
    sink_profile,
)
from .report import (
    CertificateInfo,
    Direction,
    Failure,
    FailureStage,
    RecipientResult,
    Reply,
    SendReport,
    Stage,
    TlsReport,
    TranscriptLine,
    render_swaks,
)
from .smtp import SmtpTransport
from .transports import (
    ConsoleTransport,
    FileTransport,
    LocalTransport,
    MemoryTransport,
    SentMessage,
)

__all__ = [
    "LOCAL_KEY",
    "PRESETS",
    "PRESET_PREFIX",
    "PROFILE_PREFIX",
    "SINK_KEY",
    "Choice",
    "ComposeFields",
    "DestinationError",
    "Destinations",
    "DraftStore",
    "DraftStoreError",
    "SavedDraft",
    "SinkEndpoint",
    "connect_host",
    "draft_from_fields",
    "edit_as_new_draft",
    "forward_draft",
    "new_fields",
    "reply_draft",
    "CertificateInfo",
    "ConsoleTransport",
    "Direction",
    "Draft",
    "DraftAttachment",
    "DraftError",
    "Failure",
    "FailureStage",
    "FileTransport",
    "HeaderInjectionError",
    "is_loopback",
    "plaintext_auth_refusal",
    "LocalTransport",
    "MemoryTransport",
    "OutgoingMessage",
    "ProfileError",
    "ProfileNotFound",
    "ProfileStore",
    "RawMessage",
    "RecipientResult",
    "RelayProfile",
    "Reply",
    "Security",
    "SendReport",
    "SendRequest",
    "SentMessage",
    "SmtpTransport",
    "Stage",
    "TlsReport",
    "TranscriptLine",
    "Transport",
    "build_message",
    "parse_header_line",
    "prepare_raw",
    "render_swaks",
    "resolve_password",
    "send",
    "send_batch",
    "send_batch_sync",
    "send_sync",
    "sink_profile",
    "test_connection",
    "test_connection_sync",
]
