"""What the Provider framework sends back to CloudFormation, and its size limit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

Attributes = TypeVar("Attributes", bound=Mapping[str, object])

# CloudFormation rejects a custom resource response larger than this.
RESPONSE_LIMIT_BYTES = 4096
# Room for the framework's Status, Reason and NoEcho fields around our Data.
FRAMEWORK_OVERHEAD_BYTES = 256


# A failure's message becomes the response's Reason; the Provider framework does not shorten it.
MAX_REASON_BYTES = 2048
_TRUNCATED = " ... (truncated; the handler's log has the full message)"


class ResponseTooLarge(ValueError):
    pass


class HandlerFailed(RuntimeError):
    """A failure whose message was shortened to fit the response."""


def bounded_reason(message: str, max_bytes: int = MAX_REASON_BYTES) -> str:
    """message, shortened from the end to at most max_bytes as the response's JSON carries it (json_bytes) when it
    is longer: a quote or a control character takes more bytes there than in the message. A lone surrogate (from a
    template's "\\ud800"), which UTF-8 cannot encode, is written as its escape."""
    text = message.encode(errors="backslashreplace").decode()
    if json_bytes(text) <= max_bytes:
        return text
    room = max(0, max_bytes - json_bytes(_TRUNCATED))
    fits, too_long = 0, len(text)  # bisection: a longer start never takes fewer bytes
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if json_bytes(text[:middle]) <= room:
            fits = middle
        else:
            too_long = middle
    return text[:fits] + _TRUNCATED


def json_bytes(text: str) -> int:
    """The bytes of text as a JSON string's content, as JavaScript's JSON.stringify (the Provider framework's) writes
    it: quotes, backslashes and control characters escaped, the rest UTF-8."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def encodable(text: str) -> str:
    """text with each lone surrogate written as its escape, so that it can be logged (Lambda's log sink
    encodes in UTF-8) and sent."""
    return text.encode(errors="backslashreplace").decode()


def error_message(error: BaseException) -> str | None:
    """str(error), or None when that fails (str() refuses an integer of more than 4300 digits)."""
    try:
        return str(error)
    except Exception:
        return None


def checked_data(event: Mapping[str, Any], physical_id: str, data: Attributes) -> Attributes:
    """data, once sure that the response carrying it fits CloudFormation's limit."""
    envelope = {
        "StackId": event.get("StackId", ""),
        "RequestId": event.get("RequestId", ""),
        "LogicalResourceId": event.get("LogicalResourceId", ""),
        "PhysicalResourceId": physical_id,
        "Data": data,
    }
    size = len(json.dumps(envelope).encode()) + FRAMEWORK_OVERHEAD_BYTES
    if size > RESPONSE_LIMIT_BYTES:
        raise ResponseTooLarge(
            f"The response for {event.get('LogicalResourceId')} would be about {size} bytes, "
            f"over CloudFormation's {RESPONSE_LIMIT_BYTES}-byte limit"
        )
    return data
