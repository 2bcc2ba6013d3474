"""Entry points of the CDK Provider framework: on_event and is_complete.

Both dispatch on the event's ResourceType. The event's ResponseURL is never logged.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from . import contract
from .responses import HandlerFailed, bounded_reason, encodable, error_message

# Each declared resource type's handler module.
HANDLERS: dict[str, ModuleType] = {
    resource_type: importlib.import_module(f".{declared.handler}", __package__)
    for resource_type, declared in contract.CONTRACTS.items()
}

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def on_event(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    return _run("on_event", event)


def is_complete(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    return _run("is_complete", event)


def _run(entry: str, event: Mapping[str, Any]) -> dict[str, Any]:
    _log_request(entry, event)
    try:
        result: dict[str, Any] = getattr(_handler(event), entry)(event)
    except Exception as error:
        message = error_message(error)
        reason = bounded_reason(message if message is not None else f"{type(error).__name__}, unreadable")
        if reason == message:
            raise
        # What the framework cannot send as it is (too long, a lone surrogate, unreadable) is replaced by reason.
        logger.error("%s failed: %s", entry, encodable(message) if message is not None else reason)
        raise HandlerFailed(reason) from error
    return result


def _handler(event: Mapping[str, Any]) -> ModuleType:
    resource_type = event.get("ResourceType")
    if resource_type not in HANDLERS:
        raise ValueError(f"ResourceType {resource_type!r} is not handled here; expected one of {sorted(HANDLERS)}")
    return HANDLERS[resource_type]


def _log_request(entry: str, event: Mapping[str, Any]) -> None:
    logger.info(
        "%s %s %s %s",
        entry,
        event.get("RequestType"),
        event.get("LogicalResourceId"),
        event.get("PhysicalResourceId", "(new)"),
    )
