"""The message store: one SQLite file in WAL mode with an FTS5 index.

Import the public names from here. ``database`` holds the ``Store`` (writes,
reads, lifecycle); ``connect`` opens the file with every startup check;
``files`` keeps the files private and notices one deleted or replaced while
open; ``upkeep`` does the deferred merges and checkpoints and bounds the WAL;
``rows`` converts between values and columns; ``migrations`` holds the
schema and its upgrades, ``search`` the query language, ``tags`` the tags.
"""

from .database import MessageNotFound, Store, StoreConfig, StoreError
from .search import QueryError
from .tags import InvalidTag

__all__ = ["InvalidTag", "MessageNotFound", "QueryError", "Store", "StoreConfig", "StoreError"]
