"""Reading what a client sent: JSON bodies, their fields, message IDs in the path.

Mailpit's handlers decode JSON into Go structs, so a wrong type is an error
and a missing field is its zero value. These helpers do the same in Python
and turn every surprise (not JSON, not an object, a number where a list of
strings belongs, an ID that is not one of ours) into an ``ApiError`` 400 or
404 with a sentence naming the field, so a handler
never lets a ``KeyError`` or ``TypeError`` become a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from .errors import ApiError

__all__ = [
    "json_object",
    "optional_object",
    "optional_str",
    "parse_message_id",
    "str_list",
]

# Our IDs are SQLite rowids: decimal, at most 2**63 - 1 (19 digits).
_DECIMAL_ID = re.compile(r"[0-9]{1,19}")
_MAX_ROWID = 2**63 - 1


async def json_object(request: web.Request, *, empty_ok: bool = False) -> dict[str, Any]:
    """The body as a JSON object; 400 when it is not one (413 comes from aiohttp).

    ``empty_ok``: an empty body reads as ``{}`` (Mailpit's DELETE and PUT
    endpoints accept a missing body as "all").
    """
    raw = await request.read()
    if not raw.strip():
        if empty_ok:
            return {}
        raise ApiError(400, "the request body is empty: a JSON object is expected")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


def optional_str(body: dict[str, Any], key: str) -> str:
    """``body[key]`` as a string; missing or null reads as ``""``."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"{key} must be a string")
    return value


def str_list(body: dict[str, Any], key: str) -> list[str]:
    """``body[key]`` as a list of strings; missing or null reads as ``[]``."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"{key} must be an array of strings")
    return list(value)


def optional_object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``body[key]`` as a JSON object, or None when missing or null."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, f"{key} must be a JSON object")
    return value


def parse_message_id(text: str) -> int:
    """A client's ID string -> our int id; a 404 when it cannot name one of ours."""
    if not _DECIMAL_ID.fullmatch(text) or int(text) > _MAX_ROWID:
        raise ApiError(404, f"no message with id {text!r}")
    return int(text)
