"""Messages in and out of files: .eml, mbox, Maildir, and safe file names.

Fidelity is the point of a mail catcher, so every reader here hands back the
message bytes exactly as they are in the file, never a re-serialised
``email.message.Message``:

* ``.eml`` files are read whole, byte for byte (a leading mbox ``From `` line
  in an ``.eml`` is kept: it is part of that file's bytes).
* mbox files are split by our own reader instead of ``mailbox.mbox``.
  Python's reader converts line endings to ``\\n`` on ``get_bytes`` and
  treats every line starting with ``From `` as a separator. Ours:

  - a separator is a line starting with ``From `` that is the first line of
    the file, follows a blank line, or looks like a real ``From_`` line
    (``From sender Www Mmm dd hh:mm...``). The separator is not part of
    the message; its sender becomes the import's envelope sender;
  - the blank line that precedes the next separator (or ends the file)
    belongs to the mbox framing and is dropped;
  - lines matching ``>+From `` lose one ``>`` (mboxrd un-escaping). For an
    mboxo file that contained a literal ``>From `` this removes a ``>``
    that was really there; mboxo cannot tell the two apart;
  - line endings are left exactly as in the file (``\\n`` or ``\\r\\n``).
* Maildir messages are plain files in ``new/`` and ``cur/``, read as is.

Writers:

* ``.eml`` folder: one file per message, raw bytes exactly, named
  ``0042-subject-words.eml``; an existing file is never overwritten.
* mbox: mboxrd. Each message gets a ``From sender asctime`` line, every
  line matching ``>*From `` gets one more ``>`` and a blank line follows it.
  A message that does not end with a newline gets one (mbox cannot represent
  the difference), so mbox round trips are exact for every message that ends
  with a line break.
* Maildir: one file per message in ``new/``, written to ``tmp/`` first and
  linked into place, the usual Maildir delivery.

``safe_filename`` and ``unique_path`` are what the GUI uses for saving
attachments too: a sender controls attachment names, so they are treated as
hostile.

Modules: ``filenames`` (safe names), ``reading`` (the readers), ``envelope``
(an envelope for imported mail), ``writing`` (the writers), ``local`` (a
file shown without storing it), and the two
workflows both front ends call: ``importing.import_sources`` and
``exporting.export_messages``. Import the public names from here.
"""

from __future__ import annotations

from .envelope import capture_for_import, envelope_from_headers, header_fields
from .exporting import (
    EXPORT_KINDS,
    ExportMode,
    ExportReport,
    MessageSource,
    TargetExists,
    export_mbox_stream,
    export_messages,
)
from .filenames import (
    MAX_FILENAME_BYTES,
    export_filename,
    safe_filename,
    slugify,
    split_extension,
    unique_path,
    write_new_file,
)
from .importing import (
    IMPORT_BATCH,
    ImportReport,
    ImportSource,
    PathResult,
    bytes_source,
    import_sources,
)
from .local import open_local_message
from .reading import (
    FORMATS,
    SourceMessage,
    UnknownFormat,
    detect_format,
    is_maildir,
    iter_eml_directory,
    iter_maildir,
    iter_mbox,
    iter_messages,
)
from .writing import (
    ExportItem,
    export_eml,
    export_maildir_message,
    mbox_from_line,
    mboxrd_escape,
    write_mbox,
    write_mbox_message,
)

__all__ = [
    "EXPORT_KINDS",
    "FORMATS",
    "IMPORT_BATCH",
    "MAX_FILENAME_BYTES",
    "ExportItem",
    "ExportMode",
    "ExportReport",
    "ImportReport",
    "ImportSource",
    "MessageSource",
    "PathResult",
    "SourceMessage",
    "TargetExists",
    "UnknownFormat",
    "bytes_source",
    "capture_for_import",
    "detect_format",
    "envelope_from_headers",
    "export_eml",
    "export_filename",
    "export_maildir_message",
    "export_mbox_stream",
    "export_messages",
    "header_fields",
    "import_sources",
    "is_maildir",
    "iter_eml_directory",
    "iter_maildir",
    "iter_mbox",
    "iter_messages",
    "mbox_from_line",
    "mboxrd_escape",
    "open_local_message",
    "safe_filename",
    "slugify",
    "split_extension",
    "unique_path",
    "write_mbox",
    "write_mbox_message",
    "write_new_file",
]
