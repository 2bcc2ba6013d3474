"""Custom::BedrockModelCustomizationJob Delete: stop what runs, delete what was made, and never get stuck."""

from __future__ import annotations

from typing import Any

import pytest
from bedrock_custom_resource import customization_job, index
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import (
    ACCOUNT,
    BASE_MODEL,
    CREATE_FAILED,
    REGION,
    CloudFormationEvents,
    Deployed,
    deploy,
    is_complete_input,
    start,
)

STOP = "StopModelCustomizationJob"
DELETE_MODEL = "DeleteCustomModel"


def delete(events: CloudFormationEvents, physical_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """onEvent for a Delete: (the event isComplete will get, onEvent's result)."""
    event = events.delete(physical_id)
    result = index.on_event(event)
    return is_complete_input(event, result), result


def test_deleting_a_running_job_stops_it_and_waits_until_it_has_stopped(bedrock, events):
    deployed = start(events)
    poll, result = delete(events, deployed.physical_id)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert bedrock.calls_to(STOP) == [{"jobIdentifier": deployed.physical_id}]
    assert bedrock.job(deployed.physical_id)["status"] == "Stopping"

    assert index.is_complete(poll) == {"IsComplete": False}
    assert index.is_complete(poll) == {"IsComplete": False}
    assert len(bedrock.calls_to(STOP)) == 1  # a stopping job is awaited, not stopped again

    bedrock.finish_stopping()
    assert index.is_complete(poll) == {"IsComplete": True}
    assert bedrock.calls_to(DELETE_MODEL) == []
    assert bedrock.models() == []


def test_a_job_that_is_running_when_polled_is_stopped_by_is_complete(bedrock, events):
    """If onEvent found the job already stopping and it resumed, or the stop was lost, a poll stops it."""
    deployed = start(events)
    bedrock.set_job_status(deployed.physical_id, "Stopping")
    poll, _ = delete(events, deployed.physical_id)
    assert bedrock.calls_to(STOP) == []
    bedrock.set_job_status(deployed.physical_id, "InProgress")
    assert index.is_complete(poll) == {"IsComplete": False}
    assert bedrock.calls_to(STOP) == [{"jobIdentifier": deployed.physical_id}]


def test_deleting_a_completed_job_deletes_its_custom_model(bedrock, events):
    deployed = deploy(events, bedrock)
    model_arn = deployed.data["outputModelArn"]
    poll, result = delete(events, deployed.physical_id)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert bedrock.calls_to(DELETE_MODEL) == [{"modelIdentifier": model_arn}]
    assert bedrock.models() == []
    assert index.is_complete(poll) == {"IsComplete": True}
    assert bedrock.calls_to(STOP) == []
    # job records cannot be deleted: it stays, completed
    assert bedrock.job(deployed.physical_id)["status"] == "Completed"


def test_deleting_the_replaced_job_deletes_only_its_own_model(bedrock, events):
    deployed = deploy(events, bedrock)
    properties = deployed.properties | {"hyperParameters": {"epochCount": "4"}}
    update_event = events.update(deployed.physical_id, properties, deployed.properties)
    new_id = index.on_event(update_event)["PhysicalResourceId"]
    bedrock.set_job_status(new_id, "Completed")
    new_model_arn = bedrock.job(new_id)["outputModelArn"]

    poll, _ = delete(events, deployed.physical_id)
    assert index.is_complete(poll) == {"IsComplete": True}
    assert [model["modelArn"] for model in bedrock.models()] == [new_model_arn]


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_deleting_an_unsuccessful_job_is_done_at_once(bedrock, events, status):
    deployed = start(events)
    bedrock.set_job_status(deployed.physical_id, status, failure_message="Out of capacity")
    poll, result = delete(events, deployed.physical_id)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert index.is_complete(poll) == {"IsComplete": True}
    writes = {op for op in bedrock.operations() if not op.startswith(("Get", "List"))}
    assert writes == {"CreateModelCustomizationJob"}  # nothing to stop or delete


def test_deleting_a_job_that_does_not_exist_succeeds(bedrock, events):
    missing = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{BASE_MODEL}/abcdef012345"
    poll, result = delete(events, missing)
    assert result == {"PhysicalResourceId": missing}
    assert index.is_complete(poll) == {"IsComplete": True}
    # Each entry reads it twice: whether a rollback must leave it (index._left_by_rollback), then to delete it; the
    # Delete also looks, by its name, for what an unfinished update of it made from these properties (none here).
    reads = [call["jobIdentifier"] for call in bedrock.calls_to("GetModelCustomizationJob")]
    assert [read for read in reads if read.startswith("arn:")] == [missing] * 4
    (by_name,) = [read for read in reads if not read.startswith("arn:")]
    assert by_name.startswith("my-stack-Model-")


def test_deleting_a_completed_job_whose_model_is_already_gone_succeeds(bedrock, events):
    deployed = deploy(events, bedrock)
    bedrock.backend.delete_custom_model(deployed.data["outputModelArn"])  # deleted out of band
    poll, _ = delete(events, deployed.physical_id)
    assert index.is_complete(poll) == {"IsComplete": True}
    assert len(bedrock.calls_to(DELETE_MODEL)) == 2


@pytest.mark.parametrize(
    "physical_id",
    [
        CREATE_FAILED,
        "",
        "my-stack-Model-1A2B3C4D5E6F",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/{BASE_MODEL}/abcdef012345",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/abcdef012345",
    ],
    ids=["create-failed-marker", "empty", "a-name", "a-custom-model-arn", "another-bedrock-arn"],
)
def test_deleting_something_that_is_not_a_job_arn_succeeds_changing_nothing(bedrock, events, physical_id):
    """Nothing of these properties was made: the handler looks it up by its name (lifecycle.made_by) and finds
    none."""
    poll, result = delete(events, physical_id)
    assert result == {"PhysicalResourceId": physical_id}
    assert index.is_complete(poll) == {"IsComplete": True}
    assert [call.operation for call in bedrock.calls if not call.operation.startswith(("Get", "List"))] == []


def test_a_rollback_after_a_failed_job_deletes_cleanly(bedrock, events):
    """Create succeeded, isComplete raised (job Failed), CloudFormation rolls back with a Delete."""
    deployed = start(events)
    bedrock.set_job_status(deployed.physical_id, "Failed", failure_message="Role cannot read s3://my-data-bucket")
    with pytest.raises(customization_job.JobUnsuccessful, match="Role cannot read"):
        index.is_complete(is_complete_input(deployed.event, {"PhysicalResourceId": deployed.physical_id}))
    poll, result = delete(events, deployed.physical_id)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert index.is_complete(poll) == {"IsComplete": True}
    assert bedrock.models() == []


def test_a_rollback_while_the_job_still_runs_stops_it(bedrock, events):
    """Create succeeded but the stack failed elsewhere (or timed out) while the job ran."""
    deployed = start(events)
    poll, _ = delete(events, deployed.physical_id)
    bedrock.finish_stopping()
    assert index.is_complete(poll) == {"IsComplete": True}
    assert bedrock.job(deployed.physical_id)["status"] == "Stopped"


def test_a_job_that_completes_between_read_and_stop_is_handled(bedrock, events, monkeypatch):
    """Bedrock refuses to stop a job that just completed (ValidationException); the next poll deletes its model."""
    deployed = start(events)

    def racing_client() -> Any:
        client = bedrock.client()

        def complete_first(**_kwargs: Any) -> None:
            bedrock.set_job_status(deployed.physical_id, "Completed")

        client.meta.events.register("before-call.bedrock.StopModelCustomizationJob", complete_first)
        return client

    monkeypatch.setattr(customization_job, "bedrock_client", racing_client)
    poll, _ = delete(events, deployed.physical_id)
    assert bedrock.calls_to(STOP) == [{"jobIdentifier": deployed.physical_id}]
    assert len(bedrock.models()) == 1
    assert index.is_complete(poll) == {"IsComplete": True}
    assert bedrock.models() == []


def test_delete_survives_throttling(bedrock: BedrockStandIn, events: CloudFormationEvents) -> None:
    deployed: Deployed = deploy(events, bedrock)
    bedrock.throttle(2)
    poll, _ = delete(events, deployed.physical_id)
    assert index.is_complete(poll) == {"IsComplete": True}
    assert bedrock.models() == []


@pytest.mark.parametrize(("first_served", "stopped"), [(True, True), (False, False)], ids=["served", "not-served"])
def test_a_stop_answered_with_server_errors_counts_when_bedrock_carried_it_out(bedrock, events, first_served, stopped):
    """Every attempt of the stop (botocore's retries included) got a server error, though the first may have stopped
    the job: then the Delete goes on (the retries are refused, or answered with errors too, as the job is stopping).
    A stop that was not carried out fails the Delete with the service's error, as before."""
    deployed = start(events)
    attempts = bedrock.client().meta.config.retries["total_max_attempts"]
    bedrock.answer_with_server_errors(STOP, [first_served] + [False] * (attempts - 1))

    if not stopped:
        with pytest.raises(Exception, match="InternalServerException"):
            delete(events, deployed.physical_id)
        assert bedrock.job(deployed.physical_id)["status"] == "InProgress"
        return
    poll, result = delete(events, deployed.physical_id)
    assert result == {"PhysicalResourceId": deployed.physical_id}
    assert bedrock.job(deployed.physical_id)["status"] == "Stopping"
    bedrock.finish_stopping()
    assert index.is_complete(poll) == {"IsComplete": True}
