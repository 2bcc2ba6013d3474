"""Lifecycle rules that imports, deployments and provisioned throughput share, for each of them."""

from __future__ import annotations

import pytest
from bedrock_custom_resource import index, lifecycle

from .conftest import CREATE_FAILED, CloudFormationEvents, active_model
from .resource_kinds import DEPLOYMENT, IMPORT, THROUGHPUT, ResourceKind
from .serving_helpers import create, create_until, deployment_properties, poll, throughput_properties

KINDS = [IMPORT, DEPLOYMENT, THROUGHPUT]
# What Bedrock says of a failed one.
FAILURE_MESSAGES = {
    IMPORT.resource_type: "Model artifacts are not a Nova checkpoint",
    DEPLOYMENT.resource_type: "Model is not supported on demand",
    THROUGHPUT.resource_type: "Insufficient capacity",
}
# The operation that deletes each (the API reference's).
DELETE_OPERATIONS = {
    IMPORT.resource_type: "DeleteCustomModel",
    DEPLOYMENT.resource_type: "DeleteCustomModelDeployment",
    THROUGHPUT.resource_type: "DeleteProvisionedModelThroughput",
}


@pytest.fixture(params=KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"))
def kind(request: pytest.FixtureRequest) -> ResourceKind:
    return request.param  # type: ignore[no-any-return]


def test_a_retried_create_makes_one(bedrock, kind):
    event = CloudFormationEvents(resource_type=kind.resource_type).create(kind.properties(bedrock))
    assert index.on_event(event) == index.on_event(event)
    assert len(kind.existing(bedrock)) == 1


def test_a_failed_create_raises_with_bedrocks_message(bedrock, kind):
    event, physical_id = create(CloudFormationEvents(resource_type=kind.resource_type), kind.properties(bedrock))
    message = FAILURE_MESSAGES[kind.resource_type]
    kind.set_status(bedrock, physical_id, "Failed", message)
    with pytest.raises(RuntimeError, match=f"failed: {message}"):
        poll(event, physical_id)


def test_delete_waits_until_gone_and_a_repeat_succeeds(bedrock, kind):
    events = CloudFormationEvents(resource_type=kind.resource_type)
    event, physical_id = create(events, kind.properties(bedrock))
    kind.set_status(bedrock, physical_id, kind.ready)
    assert poll(event, physical_id)["IsComplete"] is True
    for _ in range(2):
        delete = events.delete(physical_id, event["ResourceProperties"])
        assert index.on_event(delete) == {"PhysicalResourceId": physical_id}
        assert poll(delete, physical_id) == {"IsComplete": True}
    assert kind.existing(bedrock) == []


def test_one_deleted_is_made_anew_by_a_later_request_of_the_same_configuration(bedrock, kind):
    """A stack destroyed and deployed again, or an update rolled back and deployed again: the same configuration and
    name, in another CloudFormation request. Bedrock answers a token it has seen with what it made ("ignores the
    request", botocore's model; the stand-in keeps tokens of deleted resources): the later create must not send the
    earlier token, or it would be answered with what was deleted, and poll it until the provider's timeout."""
    events = CloudFormationEvents(resource_type=kind.resource_type)
    properties = kind.properties(bedrock)
    first, deleted = create(events, properties)
    kind.set_status(bedrock, deleted, kind.ready)
    assert poll(first, deleted)["IsComplete"] is True
    delete = events.delete(deleted, first["ResourceProperties"])
    index.on_event(delete)
    assert poll(delete, deleted) == {"IsComplete": True}

    event, made = create(events, properties)

    assert made != deleted
    assert kind.only(bedrock) == made
    kind.set_status(bedrock, made, kind.ready)
    assert poll(event, made)["IsComplete"] is True


@pytest.mark.parametrize("ends_as", ["ready", "Failed"])
def test_a_delete_of_one_still_being_created_waits_for_it_then_deletes_it(bedrock, kind, ends_as):
    """The Delete that rolls back a create CloudFormation stopped waiting for meets a resource still being created,
    which Bedrock refuses to delete (the stand-in's ConflictException): the Delete does not fail, its polls wait,
    and the resource is deleted once it is ready (or has failed). Nothing else is made."""
    events = CloudFormationEvents(resource_type=kind.resource_type)
    event, physical_id = create(events, kind.properties(bedrock))
    calls_before = len(bedrock.calls)
    delete = events.delete(physical_id, event["ResourceProperties"])
    assert index.on_event(delete) == {"PhysicalResourceId": physical_id}
    for _ in range(3):
        assert poll(delete, physical_id) == {"IsComplete": False}
    assert [record[kind.arn_member] for record in kind.existing(bedrock)] == [physical_id]

    kind.set_status(bedrock, physical_id, kind.ready if ends_as == "ready" else "Failed", "Insufficient capacity")
    polls = 1
    while not poll(delete, physical_id)["IsComplete"]:
        polls += 1
        assert polls <= 2, "deleted at the first poll after it settled, gone by the next"
    assert kind.existing(bedrock) == []
    writes = [call.operation for call in bedrock.calls[calls_before:] if not call.operation.startswith(("Get", "List"))]
    assert set(writes) == {DELETE_OPERATIONS[kind.resource_type]}


def test_delete_after_a_failed_create_touches_nothing(bedrock, kind):
    """It looks for what the create made by its name (lifecycle.made_by), finds nothing, and writes nothing."""
    properties = kind.properties(bedrock)
    calls_before = len(bedrock.calls)
    delete = CloudFormationEvents(resource_type=kind.resource_type).delete(CREATE_FAILED, properties)
    assert index.on_event(delete) == {"PhysicalResourceId": CREATE_FAILED}
    assert poll(delete, CREATE_FAILED) == {"IsComplete": True}
    assert [call.operation for call in bedrock.calls[calls_before:] if not call.operation.startswith("Get")] == []


# --- a rollback while the update it undoes still runs in Bedrock ----------------------------------------------
# A later resource failed, or this one's wait timed out: CloudFormation sends the update back while Bedrock is
# still moving the deployment or throughput to the new model, and Bedrock makes one change at a time.


@pytest.mark.parametrize(
    ("resource_type", "properties", "ready", "set_status", "finish"),
    [
        (
            "Custom::BedrockCustomModelDeployment",
            deployment_properties,
            "Active",
            "set_deployment_status",
            "finish_deployment_update",
        ),
        (
            "Custom::BedrockProvisionedModelThroughput",
            throughput_properties,
            "InService",
            "set_throughput_status",
            "finish_throughput_update",
        ),
    ],
    ids=["deployment", "throughput"],
)
def test_a_rollback_during_the_model_change_it_undoes_says_so_then_succeeds_when_retried(
    bedrock, resource_type, properties, ready, set_status, finish
):
    events = CloudFormationEvents(resource_type=resource_type)
    first, second = active_model(bedrock, "support-v1"), active_model(bedrock, "support-v2")
    old, new = properties(first), properties(second)
    _, arn = create_until(ready, getattr(bedrock, set_status), events, old)
    assert index.on_event(events.update(arn, new, old)) == {"PhysicalResourceId": arn}  # now changing to v2
    mark = len(bedrock.calls)

    rollback = events.update(arn, old, new)
    with pytest.raises(lifecycle.ChangeInProgress, match=f"still being changed to serve {second}.*continue-update"):
        index.on_event(rollback)
    assert [call.operation for call in bedrock.calls[mark:] if call.operation.startswith("Update")] == []

    getattr(bedrock, finish)(arn)  # the change to v2 ends; the rollback is continued
    assert index.on_event(rollback) == {"PhysicalResourceId": arn}
    assert poll(rollback, arn) == {"IsComplete": False}  # changing back to v1
    getattr(bedrock, finish)(arn)
    done = poll(rollback, arn)
    assert done["IsComplete"] is True and done["Data"]["modelArn"] == first
