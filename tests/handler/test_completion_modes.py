"""How far the job resource waits (waitUntil), and the resource that reads a completed job afterwards."""

from __future__ import annotations

import pytest
from bedrock_custom_resource import index
from bedrock_custom_resource.contract import InvalidProperties

from .conftest import CloudFormationEvents, fine_tuning_properties, is_complete_input, start

RESULT = "Custom::BedrockModelCustomizationJobResult"


def poll(event: dict, job_arn: str) -> dict:
    return index.is_complete(is_complete_input(event, {"PhysicalResourceId": job_arn}))


def test_accepted_completes_as_soon_as_bedrock_has_the_job(bedrock, events):
    deployed = start(events, fine_tuning_properties(waitUntil="Accepted"))
    result = poll(deployed.event, deployed.physical_id)
    assert result["IsComplete"] is True
    assert result["Data"]["jobArn"] == deployed.physical_id
    assert result["Data"]["status"] == "InProgress"
    assert "outputModelArn" not in result["Data"]
    assert "waitUntil" not in bedrock.calls_to("CreateModelCustomizationJob")[0]


def test_validated_waits_for_the_validation_sub_task(bedrock, events):
    deployed = start(events, fine_tuning_properties(waitUntil="Validated"))
    assert poll(deployed.event, deployed.physical_id) == {"IsComplete": False}
    bedrock.set_job_status(deployed.physical_id, "InProgress", status_details={"validationDetails": "Completed"})
    assert poll(deployed.event, deployed.physical_id)["IsComplete"] is True


def test_a_job_failing_validation_fails_the_no_wait_deployment(bedrock, events):
    deployed = start(events, fine_tuning_properties(waitUntil="Validated"))
    bedrock.set_job_status(deployed.physical_id, "Failed", failure_message="Training data has 3 malformed lines")
    with pytest.raises(RuntimeError, match="Failed: Training data has 3 malformed lines"):
        poll(deployed.event, deployed.physical_id)


def test_an_unknown_wait_until_is_an_error_naming_it(bedrock, events):
    with pytest.raises(InvalidProperties, match=r"waitUntil: 'Soon' is not one of \['Completed', 'Accepted'"):
        index.on_event(events.create(fine_tuning_properties(waitUntil="Soon")))
    assert bedrock.calls == []


def test_changing_only_wait_until_keeps_the_job(bedrock, events):
    deployed = start(events, fine_tuning_properties())
    update = events.update(deployed.physical_id, fine_tuning_properties(waitUntil="Accepted"), deployed.properties)
    assert index.on_event(update) == {"PhysicalResourceId": deployed.physical_id}
    assert len(bedrock.calls_to("CreateModelCustomizationJob")) == 1


@pytest.fixture
def results() -> CloudFormationEvents:
    return CloudFormationEvents(resource_type=RESULT)


def test_the_result_reads_a_completed_job(bedrock, events, results):
    deployed = start(events, fine_tuning_properties(waitUntil="Accepted"))
    bedrock.set_job_status(deployed.physical_id, "Completed", training_loss=0.25)
    event = results.create({"jobIdentifier": deployed.physical_id}, logical_id="ModelCompletedJob")
    result = index.on_event(event)
    model = bedrock.job(deployed.physical_id)["outputModelArn"]
    assert result["PhysicalResourceId"] == deployed.physical_id
    assert result["Data"]["outputModelArn"] == model
    assert result["Data"]["trainingLoss"] == "0.25"
    assert index.is_complete(is_complete_input(event, result)) == {"IsComplete": True}


@pytest.mark.parametrize(
    ("status", "message"),
    [("Failed", "Failed: out of capacity"), ("InProgress", "is InProgress .* only a completed job has a model")],
)
def test_the_result_of_an_unfinished_or_failed_job_is_an_error(bedrock, events, results, status, message):
    deployed = start(events, fine_tuning_properties(waitUntil="Accepted"))
    if status != "InProgress":
        bedrock.set_job_status(deployed.physical_id, status, failure_message="out of capacity")
    with pytest.raises(RuntimeError, match=message):
        index.on_event(results.create({"jobIdentifier": deployed.physical_id}))


def test_deleting_the_result_touches_nothing(bedrock, results):
    job_arn = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0/abcdefghijkl"
    delete = results.delete(job_arn, {"jobIdentifier": job_arn})
    assert index.on_event(delete) == {"PhysicalResourceId": job_arn}
    assert bedrock.calls == []
