"""A poll of a Create or Update whose resource Bedrock does not show yet, or whose read fails for a while, is answered
"not complete", never failed: a failed poll fails the request, CloudFormation's rollback sends a Delete of its physical
id, and a Delete that reads nothing takes the resource for gone, leaving a job, or a throughput, Bedrock did make to
run on outside the stack (the Provider framework keeps onEvent's physical id in a failed poll's answer)."""

from __future__ import annotations

from typing import Any

import pytest
from bedrock_custom_resource import index

from .conftest import CloudFormationEvents, is_complete_input
from .resource_kinds import KINDS, THROUGHPUT, ResourceKind
from .serving_helpers import throughput_properties

# Each type's read operation, from the API reference.
READ = {
    "Custom::BedrockModelCustomizationJob": "GetModelCustomizationJob",
    "Custom::BedrockCustomModel": "GetCustomModel",
    "Custom::BedrockCustomModelDeployment": "GetCustomModelDeployment",
    "Custom::BedrockProvisionedModelThroughput": "GetProvisionedModelThroughput",
    "Custom::BedrockImportedModel": "GetModelImportJob",
    "Custom::BedrockCopiedCustomModel": "GetModelCopyJob",
    "Custom::BedrockModelEvaluationJob": "GetEvaluationJob",
}


def poll(create: dict[str, Any], physical_id: str) -> dict[str, Any]:
    return index.is_complete(is_complete_input(create, {"PhysicalResourceId": physical_id}))


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.resource_type.removeprefix("Custom::Bedrock"))
def test_a_resource_bedrock_does_not_show_yet_is_polled_again_until_it_is_ready(bedrock, kind: ResourceKind):
    create = CloudFormationEvents(resource_type=kind.resource_type).create(kind.properties(bedrock))
    physical_id = index.on_event(create)["PhysicalResourceId"]
    bedrock.not_seen_yet(READ[kind.resource_type], times=4)

    assert poll(create, physical_id) == {"IsComplete": False}
    kind.set_status(bedrock, physical_id, kind.ready)
    answers = [poll(create, physical_id) for _ in range(4)]

    done = [answer["IsComplete"] for answer in answers]
    assert done[-1] is True and done == sorted(done)  # not complete while unseen, then complete, never failed
    assert [resource[kind.arn_member] for resource in kind.existing(bedrock)] == [physical_id]
    assert len(bedrock.calls_to(kind.create_operation)) == 1


def test_a_committed_throughputs_first_poll_that_meets_only_server_errors_is_polled_again(bedrock, model_arn):
    """The purchase went through: failing the Create would have its rollback's Delete refused (CommitmentInForce)."""
    properties = throughput_properties(model_arn) | {"commitmentDuration": "OneMonth"}
    create = CloudFormationEvents(resource_type=THROUGHPUT.resource_type).create(properties)
    physical_id = index.on_event(create)["PhysicalResourceId"]
    bedrock.answer_with_server_errors("GetProvisionedModelThroughput", [False] * 20)

    assert poll(create, physical_id) == {"IsComplete": False}
    bedrock.answer_with_server_errors("GetProvisionedModelThroughput", [])
    THROUGHPUT.set_status(bedrock, physical_id, THROUGHPUT.ready)
    assert poll(create, physical_id)["IsComplete"] is True


def test_a_poll_of_a_resource_that_reads_as_failed_still_fails(bedrock):
    """Only an unreadable resource is polled again: one Bedrock reports failed fails the request, as before."""
    kind = KINDS[0]
    create = CloudFormationEvents(resource_type=kind.resource_type).create(kind.properties(bedrock))
    physical_id = index.on_event(create)["PhysicalResourceId"]
    bedrock.set_job_status(physical_id, "Failed", failure_message="Out of capacity")
    with pytest.raises(Exception, match="Failed: Out of capacity"):
        poll(create, physical_id)


def test_a_delete_bedrock_refuses_while_it_does_not_show_the_model_yet_waits_rather_than_blame_its_use(bedrock):
    """DeleteCustomModel answers ConflictException while the model is being created; a read that does not show it yet
    says nothing of its use: the Delete is asked again at the next poll, not failed as "in use"."""
    kind = next(kind for kind in KINDS if kind.resource_type == "Custom::BedrockCustomModel")
    events = CloudFormationEvents(resource_type=kind.resource_type)
    properties = kind.properties(bedrock)
    physical_id = index.on_event(events.create(properties))["PhysicalResourceId"]
    delete = events.delete(physical_id, properties)
    bedrock.not_seen_yet("GetCustomModel", times=10)

    answer = index.on_event(delete)

    assert answer["PhysicalResourceId"] == physical_id
    assert bedrock.calls_to("DeleteCustomModel")  # asked, and refused while the model is being created
    bedrock.not_seen_yet("GetCustomModel", times=0)
    kind.set_status(bedrock, physical_id, kind.ready)
    assert index.is_complete(is_complete_input(delete, answer)) == {"IsComplete": True}
    assert kind.existing(bedrock) == []
