"""The message store: one SQLite file in WAL mode with an FTS5 index.

Import the public names from here; ``database`` holds the ``Store``,
``migrations`` the schema and its upgrades, ``search`` the query language.
"""

from .database import MessageNotFound, Store, StoreError
from .search import QueryError

__all__ = ["MessageNotFound", "QueryError", "Store", "StoreError"]
