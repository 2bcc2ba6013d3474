"""The stack-status reads of the Deletes that run after the handler's policy became a template's that declares nothing
of this library (a stack that hosts the provider other stacks use): the cleanup's Delete of its last model, and the
rollback's Delete of a create CloudFormation cancelled. The machinery is test_handler_calls_granted's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from bedrock_custom_resource import contract, index, lifecycle
from cdk_bedrock_customization import CustomizationProvider

from tests.construct.test_iam_reference import SAMPLE_UUID

from . import resource_kinds as kinds
from .conftest import ACCOUNT, REGION, CloudFormationEvents
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

# The stack of the same name that made the resource, deleted with RETAIN (another stack id).
EARLIER_STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/{SAMPLE_UUID[:-4]}beef"


def _adopted(case: Any, bedrock: Any, properties: dict[str, Any]) -> tuple[CloudFormationEvents, str]:
    """The resource made by an earlier stack of this name (deleted with RETAIN) and adopted by this one's Create."""
    earlier = CloudFormationEvents(STACK_NAME, case.kind.resource_type)
    earlier.stack_id = EARLIER_STACK_ID
    first, _ = kinds.Stack(bedrock, case.kind, earlier).create(properties)
    events = CloudFormationEvents(STACK_NAME, case.kind.resource_type)
    events.stack_id = STACK_ID
    physical_id, _ = kinds.Stack(bedrock, case.kind, events).create(properties)
    assert physical_id == first
    tags = {t["key"]: t["value"] for t in bedrock.client().list_tags_for_resource(resourceARN=physical_id)["tags"]}
    assert tags[contract.ORIGIN_TAG] == contract.ADOPTED, tags
    return events, physical_id


@pytest.mark.usefixtures("evaluation_bucket")
@pytest.mark.parametrize("removed", ["provisioned throughput", "deployment", "evaluation"])
def test_the_cleanup_delete_of_an_adopted_resource_of_a_stack_that_keeps_only_its_provider_is_granted(
    removed: str,
    bedrock: Any,
    recorder: Any,  # noqa: F811
) -> None:
    """A stack that hosts the provider other stacks use (provider=, README) and had a model of its own, which it had
    adopted (redeployed after RETAIN). The model is removed: its Delete, in the cleanup, runs with the policy of the
    template that holds only the provider. The Delete reads the stack's status (DescribeStacks: is this a rollback,
    which leaves what it adopted?); denied, the Delete fails and CloudFormation leaves the resource (billed)."""
    case = CASES[removed]
    made = case.prerequisites(bedrock)
    before = synthesize(lambda stack: (CustomizationProvider.of(stack), case.declare(stack, made)))
    after = synthesize(lambda stack: CustomizationProvider.of(stack))
    assert not [r for r in after.template["Resources"].values() if r["Type"].startswith("Custom::")]
    properties = lifecycle_properties(case, bedrock, before, made)
    events, physical_id = _adopted(case, bedrock, properties)
    with handler_step(recorder, "cleanup delete", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"):
        _delete(events, physical_id, properties)
    operations = [call.operation for call in recorder.calls]
    assert "DescribeStacks" in operations, operations  # the adopted resource's Delete asks
    denied, _granted, unevaluated = not_granted(after, recorder.calls, bedrock)
    assert not unevaluated, sorted(unevaluated)
    assert not denied, "the cleanup's Delete is not granted by the template without the resource:\n" + "\n".join(denied)


@pytest.mark.usefixtures("evaluation_bucket")
@pytest.mark.parametrize("added", ["provisioned throughput", "customization job"])
def test_the_rollback_delete_of_a_cancelled_create_in_a_stack_that_had_only_its_provider_is_granted(
    added: str,
    bedrock: Any,
    recorder: Any,  # noqa: F811
) -> None:
    """The stack hosting the provider gets its first model of its own; another resource of the update fails, and
    CloudFormation cancels the model's Create before the handler answered (DESIGN.md, fact 2: it makes up an id). The
    rollback restores the policy of the template that held only the provider, then its cleanup sends the Delete of
    the made-up id: the handler finds what the Create made by name, and reads the stack's events to tell it was made by
    this operation (lifecycle.made_by). Denied, the Delete fails ("Nothing was deleted"), and the throughput bought,
    or the job started, stays."""
    case = CASES[added]
    made = case.prerequisites(bedrock)
    provider_only = synthesize(lambda stack: CustomizationProvider.of(stack))
    with_model = synthesize(lambda stack: (CustomizationProvider.of(stack), case.declare(stack, made)))
    properties = lifecycle_properties(case, bedrock, with_model, made)
    properties[contract.DELETION_POLICY] = contract.RETAIN_EXCEPT_ON_CREATE
    events = CloudFormationEvents(STACK_NAME, case.kind.resource_type)
    events.stack_id = STACK_ID
    index.on_event(events.create(properties, "Model"))  # started; its answer never reached CloudFormation
    made_up = f"{STACK_NAME}-Model-1A2B3C4D5E6F"
    with handler_step(recorder, "rollback cleanup delete", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"):
        _delete(events, made_up, properties)
    operations = [call.operation for call in recorder.calls]
    assert "DescribeStackEvents" in operations, operations
    # (A throughput still Creating is deleted at a later poll: Bedrock refuses it meanwhile.)
    assert "StopModelCustomizationJob" in operations or case.kind is kinds.THROUGHPUT, operations
    denied, _, unevaluated = not_granted(provider_only, recorder.calls, bedrock)
    assert not unevaluated, sorted(unevaluated)
    assert not denied, "the rollback's Delete is not granted by the template rolled back to:\n" + "\n".join(denied)


@pytest.mark.usefixtures("evaluation_bucket")
@pytest.mark.parametrize(
    "moved", ["customization job", "imported Nova model", "open-weight import", "copy", "evaluation"]
)
def test_the_reads_of_what_an_update_removes_are_granted(moved: str, bedrock: Any, recorder: Any) -> None:  # noqa: F811
    """A construct moved to a new logical id: its Create, in the update's roll-forward, reads the template the update
    goes to (GetTemplate) and the stack's resources (ListStackResources), then the removed resource, which holds the
    same configuration: refused. Denied, the reads would let the rename train (import, copy, evaluate) again."""
    case = CASES[moved]
    made = case.prerequisites(bedrock)
    synthesized = synthesize(lambda stack: case.declare(stack, made))
    properties = lifecycle_properties(case, bedrock, synthesized, made)
    events = CloudFormationEvents(STACK_NAME, case.kind.resource_type)
    events.stack_id = STACK_ID
    old, _ = kinds.Stack(bedrock, case.kind, events).create(properties)
    recorder.template = {"Resources": {"Moved": {"Type": case.kind.resource_type}}}
    recorder.stack_resources = [
        {
            "LogicalResourceId": "Model",
            "PhysicalResourceId": old,
            "ResourceType": case.kind.resource_type,
            "LastUpdatedTimestamp": datetime(2000, 1, 1, tzinfo=UTC),
            "ResourceStatus": "CREATE_COMPLETE",
        }
    ]
    step = handler_step(recorder, "create under a new logical id", "UPDATE_IN_PROGRESS")
    with step, pytest.raises(lifecycle.MovedOrRenamed):
        index.on_event(events.create(properties, "Moved"))
    operations = [call.operation for call in recorder.calls]
    assert {"GetTemplate", "ListStackResources"} <= set(operations), operations
    denied, _, unevaluated = not_granted(synthesized, recorder.calls, bedrock)
    assert not unevaluated, sorted(unevaluated)
    assert not denied, "the reads of what an update removes are not granted:\n" + "\n".join(denied)
