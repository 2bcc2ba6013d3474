"""Updates in place of a job that ended, or whose model went, after the deployment that made it, and their rollbacks.

CloudFormation rolls a failed update back with another Update of the same physical id and the previous properties
(DESIGN.md, fact 10). A stack-wide change (a tag) updates every job in place; if anything fails, every one of them is
sent back. Neither the update nor its rollback may fail for what the job did after the stack stopped waiting for it,
or a rollback would fail every time it is continued.
"""

from __future__ import annotations

from typing import Any

import pytest
from bedrock_custom_resource import index

from .conftest import SERVICE_TOKEN, CloudFormationEvents, fine_tuning_properties, is_complete_input
from .resource_kinds import EVALUATION_JOB, IMPORT_JOB, JOB, ResourceKind, Stack, writes
from .test_model_import_job import import_properties

RETAG = {"key": "team", "value": "ai"}


def _retag_and_roll_back(stack: Stack, physical_id: str, properties: dict[str, Any], monkeypatch: Any) -> None:
    """A forward Update that only retags, and the rollback Update back, each completing at its first poll with the
    same physical id, and neither making anything."""
    kind = stack.kind
    retagged = properties | {kind.tag_member: [*properties.get(kind.tag_member, []), RETAG]}
    since = len(stack.bedrock.calls)
    for status, desired, old in (
        ("UPDATE_IN_PROGRESS", retagged, properties),
        ("UPDATE_ROLLBACK_IN_PROGRESS", properties, retagged),
    ):
        monkeypatch.setattr(index, "stack_status", lambda stack_id, status=status: status)
        event = stack.events.update(physical_id, desired, old, stack.logical_id)
        assert index.on_event(event)["PhysicalResourceId"] == physical_id
        polled = index.is_complete(is_complete_input(event, {"PhysicalResourceId": physical_id}))
        assert polled["IsComplete"] is True
        assert polled["Data"]["jobArn"] == physical_id
    assert kind.create_operation not in writes(stack.bedrock, since)


def _created_not_waited_for(stack: Stack, properties: dict[str, Any], ready: dict[str, Any]) -> str:
    """A Create that waits only until the job is accepted (or validated): complete once the stand-in has moved the
    job as ready says."""
    event = stack.events.create(properties, stack.logical_id)
    job_arn = index.on_event(event)["PhysicalResourceId"]
    if ready:
        stack.kind.set_status(stack.bedrock, job_arn, **ready)
    assert index.is_complete(is_complete_input(event, {"PhysicalResourceId": job_arn}))["IsComplete"] is True
    return str(job_arn)


@pytest.mark.parametrize(
    ("kind", "properties", "ready", "failed"),
    [
        (
            JOB,
            lambda bedrock: fine_tuning_properties(waitUntil="Validated"),
            {"status": "InProgress", "status_details": {"validationDetails": "Completed"}},
            {"status": "Failed", "failure_message": "training diverged"},
        ),
        (
            JOB,
            lambda bedrock: fine_tuning_properties(waitUntil="Accepted"),
            {},
            {"status": "Stopped"},
        ),
        (
            IMPORT_JOB,
            lambda bedrock: import_properties(waitUntil="Accepted"),
            {},
            {"status": "Failed", "failure_message": "unsupported architecture"},
        ),
        (
            EVALUATION_JOB,
            lambda bedrock: EVALUATION_JOB.properties(bedrock) | {"waitUntil": "Accepted"},
            {},
            {"status": "Failed", "failure_message": "the judge model is not enabled"},
        ),
    ],
    ids=["customization-validated", "customization-accepted", "import-accepted", "evaluation-accepted"],
)
def test_a_retag_of_a_job_that_ended_unsuccessfully_after_its_deploy_completes_and_so_does_its_rollback(
    bedrock, monkeypatch, kind: ResourceKind, properties: Any, ready: dict[str, Any], failed: dict[str, Any]
):
    stack = Stack.named(bedrock, kind)
    wanted = properties(bedrock)
    job_arn = _created_not_waited_for(stack, wanted, ready)
    kind.set_status(bedrock, job_arn, **failed)  # after the deployment, which did not wait for it

    _retag_and_roll_back(stack, job_arn, wanted, monkeypatch)


def test_a_create_whose_job_failed_still_fails(bedrock):
    """What the stack waits for at a Create is its own job's acceptance: a job that failed by the first poll fails
    it, whatever waitUntil says, as before."""
    stack = Stack.named(bedrock, JOB)
    event = stack.events.create(fine_tuning_properties(waitUntil="Accepted"), stack.logical_id)
    job_arn = index.on_event(event)["PhysicalResourceId"]
    JOB.set_status(bedrock, job_arn, "Failed", failure_message="no access to the training data")
    with pytest.raises(RuntimeError, match="no access to the training data"):
        index.is_complete(is_complete_input(event, {"PhysicalResourceId": job_arn}))


def test_a_retag_of_an_import_whose_model_was_deleted_outside_completes_and_so_does_its_rollback(bedrock, monkeypatch):
    """As for a customization job whose model was deleted: the attributes the job's record gives."""
    stack = Stack.named(bedrock, IMPORT_JOB)
    properties = import_properties()
    job_arn, data = stack.create(properties)
    bedrock.client().delete_imported_model(modelIdentifier=data["importedModelArn"])

    _retag_and_roll_back(stack, job_arn, properties, monkeypatch)

    reader = CloudFormationEvents(resource_type="Custom::BedrockModelImportJobResult")
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    read = {"ServiceToken": SERVICE_TOKEN, "jobIdentifier": job_arn}
    back = reader.update(job_arn, read, read | {"jobIdentifier": job_arn + "0"}, "Result")
    answer = index.on_event(back | {"StackId": stack.events.stack_id})
    assert answer["Data"]["importedModelArn"] == data["importedModelArn"]


def test_a_replacement_whose_own_job_failed_still_fails(bedrock, monkeypatch):
    """What an Update waits for of a job it made itself is that job's acceptance, as a Create's: a new job that failed
    by the first poll fails the update (its rollback then returns to the job before, which stays)."""
    stack = Stack.named(bedrock, JOB)
    before = fine_tuning_properties(waitUntil="Accepted")
    first = _created_not_waited_for(stack, before, {})
    after = fine_tuning_properties(waitUntil="Accepted", hyperParameters={"epochCount": "3"})
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_IN_PROGRESS")
    event = stack.events.update(first, after, before, stack.logical_id)
    second = index.on_event(event)["PhysicalResourceId"]
    assert second != first
    JOB.set_status(bedrock, second, "Failed", failure_message="no access to the training data")
    with pytest.raises(RuntimeError, match="no access to the training data"):
        index.is_complete(is_complete_input(event, {"PhysicalResourceId": second}))
