"""Snapshot tests of stacks that use this library, stable across its upgrades.

``snapshot_template(stack)`` returns the stack's template as a dict (the shape that syrupy and plain
pytest snapshots compare), with the values that change with every release of this library masked: asset
hashes (the handler's code) and the hash that keys each event-driven job's wait condition.
"""

from __future__ import annotations

import json
import re
from typing import Any

ASSET_HASH = re.compile(r"[0-9a-f]{64}")
WAIT_KEY = re.compile(r"(JobWaitHandle|WaitingForJob)[0-9A-F]{8}[0-9A-F]{8}")


def snapshot_template(stack: Any) -> dict[str, Any]:
    """The template of stack (an aws_cdk.Stack, or a template dict), masked for snapshots."""
    if not isinstance(stack, dict):
        from aws_cdk.assertions import Template

        stack = Template.from_stack(stack).to_json()
    text = json.dumps(stack, sort_keys=True)
    text = ASSET_HASH.sub("<asset hash>", text)
    text = WAIT_KEY.sub(lambda match: f"{match.group(1)}<job hash>", text)
    masked: dict[str, Any] = json.loads(text)
    return masked
