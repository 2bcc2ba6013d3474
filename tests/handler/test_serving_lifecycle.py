"""Lifecycle rules that imports, deployments and provisioned throughput share, for each of them."""

from __future__ import annotations

import pytest
from bedrock_custom_resource import index

from .conftest import CREATE_FAILED, CloudFormationEvents
from .resource_kinds import DEPLOYMENT, IMPORT, THROUGHPUT, ResourceKind
from .serving_helpers import create, poll

KINDS = [IMPORT, DEPLOYMENT, THROUGHPUT]
# What Bedrock says of a failed one.
FAILURE_MESSAGES = {
    IMPORT.resource_type: "Model artifacts are not a Nova checkpoint",
    DEPLOYMENT.resource_type: "Model is not supported on demand",
    THROUGHPUT.resource_type: "Insufficient capacity",
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


def test_delete_after_a_failed_create_touches_nothing(bedrock, kind):
    properties = kind.properties(bedrock)
    calls_before = len(bedrock.calls)
    delete = CloudFormationEvents(resource_type=kind.resource_type).delete(CREATE_FAILED, properties)
    assert index.on_event(delete) == {"PhysicalResourceId": CREATE_FAILED}
    assert poll(delete, CREATE_FAILED) == {"IsComplete": True}
    assert len(bedrock.calls) == calls_before
