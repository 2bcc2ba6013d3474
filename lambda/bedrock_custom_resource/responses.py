"""What the Provider framework sends back to CloudFormation, and its size limit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# CloudFormation rejects a custom resource response larger than this.
RESPONSE_LIMIT_BYTES = 4096
# Room for the framework's Status, Reason and NoEcho fields around our Data.
FRAMEWORK_OVERHEAD_BYTES = 256


class ResponseTooLarge(ValueError):
    pass


def checked_data(event: Mapping[str, Any], physical_id: str, data: Mapping[str, str]) -> dict[str, str]:
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
    return dict(data)
