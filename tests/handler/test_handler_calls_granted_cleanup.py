"""A resource removed from the template is deleted in the update's cleanup, after every update of that operation,
the handler's policy's among them (CloudFormation's UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, as the rehearsal plays it in
stack_operation._clean_up): its Delete runs with the policy of the template that no longer has it. A Delete denied
there is abandoned, the update completing all the same, and what it would have deleted is left: a throughput billed,
a running evaluation or customization job still running.

Each resource type of test_handler_calls_granted is created with its own template's policy, then removed: the stack
keeps a resource of another type (so its provider stays), and the Delete's calls are checked against that template's
policy, with the reference that test uses.
"""

from __future__ import annotations

from typing import Any

import pytest
from bedrock_custom_resource import contract

from . import resource_kinds as kinds
from .conftest import CloudFormationEvents
from .test_handler_calls_granted import (
    CASES,
    STACK_ID,
    STACK_NAME,
    _delete,
    evaluation_bucket,  # noqa: F401 (a fixture)
    handler_step,
    lifecycle_properties,
    not_granted,
    recorder,  # noqa: F401 (a fixture)
    synthesize,
)


@pytest.mark.parametrize("removed", list(CASES))
def test_the_cleanup_delete_of_a_removed_resource_is_granted_by_the_template_without_it(
    removed: str,
    bedrock: Any,
    recorder: Any,  # noqa: F811 (the fixture imported)
    evaluation_bucket: None,  # noqa: F811 (the fixture imported)
) -> None:
    case = CASES[removed]
    kept = CASES["evaluation" if case.kind is not kinds.EVALUATION_JOB else "deployment"]
    made, kept_made = case.prerequisites(bedrock), kept.prerequisites(bedrock)
    before = synthesize(lambda stack: (case.declare(stack, made), kept.declare(stack, kept_made)))
    after = synthesize(lambda stack: kept.declare(stack, kept_made))
    removed_types = {case.kind.resource_type, *([case.reader] if case.reader else [])}
    assert not removed_types & {r["Type"] for r in after.template["Resources"].values()}
    properties = lifecycle_properties(case, bedrock, before, made)
    events = CloudFormationEvents(STACK_NAME, case.kind.resource_type)
    events.stack_id = STACK_ID
    physical_id, _ = kinds.Stack(bedrock, case.kind, events).create(properties)
    with handler_step(recorder, "cleanup delete", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"):
        _delete(events, physical_id, properties)
    managed = contract.CONTRACTS[case.kind.resource_type].managed
    deletes = {managed.delete, managed.made.delete if managed.made else None} - {None}
    operations = {call.operation for call in recorder.calls}
    # What the Delete deletes (a completed evaluation job has nothing to stop: it is only read).
    assert operations & deletes or case.kind is kinds.EVALUATION_JOB, operations
    denied, granted, unevaluated = not_granted(after, recorder.calls, bedrock)
    assert granted or denied, f"no call was checked: {operations}"
    assert not unevaluated, f"conditions this test cannot evaluate: {sorted(unevaluated)}"
    assert not denied, "the cleanup's Delete is not granted by the template without the resource:\n" + "\n".join(denied)
