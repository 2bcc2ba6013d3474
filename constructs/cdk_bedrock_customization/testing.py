"""Snapshot tests of stacks that use this library, stable across its upgrades.

``snapshot_template(stack)`` returns the stack's template as a dict (the shape that syrupy and plain
pytest snapshots compare), with the values that change with every release of this library masked: the asset
hashes of functions' code (the handler's) and of nested stacks' templates, and the hash that keys each event-driven
job's wait condition. Other hashes stay: a dataset's asset hash names what a job trains on.
"""

from __future__ import annotations

import json
import re
from typing import Any

ASSET_HASH = re.compile(r"[0-9a-f]{64}")
# The resources whose asset hashes are masked: functions, whose code (the library's handlers) changes with a release,
# and nested stacks, whose template's hash changes with it (their own snapshots show what changed in them).
MASKED_TYPES = frozenset({"AWS::Lambda::Function", "AWS::CloudFormation::Stack"})
WAIT_KEY = re.compile(r"(JobWaitHandle|WaitingForJob)[0-9A-F]{8}[0-9A-F]{8}")


def snapshot_template(stack: Any) -> dict[str, Any]:
    """The template of stack (an aws_cdk.Stack, or a template dict), masked for snapshots."""
    if not isinstance(stack, dict):
        from aws_cdk.assertions import Template

        stack = Template.from_stack(stack).to_json()
    resources = {
        logical_id: json.loads(ASSET_HASH.sub("<asset hash>", json.dumps(resource)))
        if isinstance(resource, dict) and resource.get("Type") in MASKED_TYPES
        else resource
        for logical_id, resource in (stack.get("Resources") or {}).items()
    }
    text = json.dumps({**stack, "Resources": resources} if "Resources" in stack else stack, sort_keys=True)
    text = WAIT_KEY.sub(lambda match: f"{match.group(1)}<job hash>", text)
    masked: dict[str, Any] = json.loads(text)
    return masked
