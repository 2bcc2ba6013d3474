"""Every resource type's lifecycle through both providers, with the same expected responses.

"framework" is the CDK Provider framework's contract around index.on_event and index.is_complete (modelled in
single_function_helpers.FrameworkDriver); "single-function" is crhelper's real code in one Lambda function
that polls through EventBridge rules (SingleFunctionDriver: its schedule is played tick by tick, its response
read from a local HTTPS endpoint). After every response, and so after every scenario, SingleFunctionDriver.send
asserts that nothing of its polling is left: no EventBridge rule, no target, no statement in the function's policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bedrock_custom_resource import contract, index
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from . import resource_kinds
from .conftest import (
    ACCOUNT,
    BASE_MODEL,
    REGION,
    SERVICE_TOKEN,
    CloudFormationEvents,
    active_model,
    distillation_properties,
    fine_tuning_properties,
    rft_properties,
)
from .serving_helpers import deployment_properties, throughput_properties
from .single_function_helpers import (
    Driver,
    FrameworkDriver,
    PollHook,
    Response,
    SingleFunctionDriver,
    single_function_fixture,  # noqa: F401 (a fixture)
)
from .test_customization_job import ATTRIBUTES
from .test_imported_model import import_properties

CREATE_JOB = "CreateModelCustomizationJob"
GET_JOB = "GetModelCustomizationJob"
STOP_JOB = "StopModelCustomizationJob"
JOB_RESULT = contract.JOB_RESULT
IMPORTED_MODEL = contract.CUSTOM_MODEL
DEPLOYMENT = contract.MODEL_DEPLOYMENT
THROUGHPUT = contract.PROVISIONED_THROUGHPUT
TRUNCATED = "(truncated; the handler's log has the full message)"


@pytest.fixture(params=["framework", "single-function"])
def driver(request: pytest.FixtureRequest, bedrock: BedrockStandIn) -> Driver:
    if request.param == "framework":
        return FrameworkDriver()
    return SingleFunctionDriver(request.getfixturevalue("single_function"))


def at_poll(number: int, action: Callable[[], object]) -> PollHook:
    """A before_each_poll hook that runs action just before poll `number`."""

    def hook(poll: int) -> None:
        if poll == number:
            action()

    return hook


# The ARN of the one job (import, deployment, throughput) that exists.
only_job, only_import = resource_kinds.JOB.only, resource_kinds.IMPORT.only
only_deployment, only_throughput = resource_kinds.DEPLOYMENT.only, resource_kinds.THROUGHPUT.only


def never(poll: int) -> None:
    raise AssertionError(f"poll {poll}: the request should have been complete at once")


def completes(bedrock: BedrockStandIn, job_arn: Callable[[], str]) -> Callable[[], None]:
    return lambda: bedrock.set_job_status(job_arn(), "Completed", training_loss=0.25, validation_loss=0.5)


def assert_failed(driver: Driver, response: Response, *phrases: str) -> None:
    """FAILED, with every phrase in the reason and the reason within the provider's limit."""
    assert response.status == "FAILED", response
    for phrase in phrases:
        assert phrase in response.reason, response.reason
    assert len(response.reason) <= driver.reason_limit


def created_job(driver: Driver, bedrock: BedrockStandIn, events: CloudFormationEvents, **overrides: Any) -> Response:
    """A job created and completed on the 2nd poll."""
    response = driver.send(
        events.create(fine_tuning_properties(**overrides)), at_poll(2, completes(bedrock, lambda: only_job(bedrock)))
    )
    assert response.status == "SUCCESS", response
    return response


# --- Custom::BedrockModelCustomizationJob ------------------------------------------------------------------


def test_a_fine_tuning_job_is_awaited_until_complete_and_answers_its_attributes(driver, bedrock, events):
    response = driver.send(events.create(), at_poll(2, completes(bedrock, lambda: only_job(bedrock))))
    job = bedrock.job(only_job(bedrock))
    assert response.status == "SUCCESS"
    assert response.physical_id == job["jobArn"]
    assert set(response.data) == ATTRIBUTES
    assert response.data["jobArn"] == job["jobArn"]
    assert response.data["outputModelArn"] == job["outputModelArn"] == bedrock.models()[0]["modelArn"]
    assert (response.data["status"], response.data["trainingLoss"]) == ("Completed", "0.25")
    assert driver.ticks == 1
    # one look for a job of this configuration by name, then polled until complete, and no more
    assert len(bedrock.calls_to(GET_JOB)) == 3


@pytest.mark.parametrize(
    "properties", [distillation_properties(), rft_properties()], ids=["distillation", "reinforcement-fine-tuning"]
)
def test_distillation_and_rft_jobs_are_created_and_awaited(driver, bedrock, events, properties):
    response = driver.send(events.create(properties), at_poll(3, completes(bedrock, lambda: only_job(bedrock))))
    job = bedrock.job(only_job(bedrock))
    assert (response.status, response.physical_id) == ("SUCCESS", job["jobArn"])
    assert job["customizationType"] == properties["customizationType"]
    assert response.data["outputModelArn"] == job["outputModelArn"]
    assert driver.ticks == 2


@pytest.mark.parametrize(
    ("properties", "phrase"),
    [
        (fine_tuning_properties(roleArn="BedrockRole"), "roleArn: 'BedrockRole' does not match"),
        (rft_properties(customizationType="FINETUNING"), "customizationType: 'FINETUNING' is not one of"),
        (fine_tuning_properties(jobTags="team=ml"), "jobTags: expected a list, got 'team=ml'"),
    ],
    ids=["pattern", "enum", "type"],
)
def test_bad_input_fails_naming_the_property_and_value_and_its_rollback_touches_nothing(
    driver, bedrock, events, properties, phrase
):
    response = driver.send(events.create(properties), never)
    assert_failed(driver, response, "Invalid properties for Custom::BedrockModelCustomizationJob: ", phrase)
    assert response.physical_id == driver.create_failed
    assert bedrock.calls == []

    rollback = driver.send(events.delete(response.physical_id, properties), never)
    assert (rollback.status, rollback.physical_id) == ("SUCCESS", driver.create_failed)
    assert bedrock.calls == []


def test_a_long_failure_is_cut_at_the_end_to_the_providers_limit(driver, bedrock, events):
    properties = fine_tuning_properties() | {f"unknownProperty{n:03}": "x" for n in range(200)}
    response = driver.send(events.create(properties), never)
    assert_failed(driver, response)
    assert response.reason.startswith(
        "Invalid properties for Custom::BedrockModelCustomizationJob: unknownProperty000: unknown property"
    )
    assert response.reason.endswith(TRUNCATED)
    assert bedrock.calls == []


def test_a_job_that_bedrock_fails_answers_its_failure_message_and_the_rollback_deletes(driver, bedrock, events):
    message = "Training data s3://my-data-bucket/train/data.jsonl has 3 malformed records"
    event = events.create()
    fail = at_poll(2, lambda: bedrock.set_job_status(only_job(bedrock), "Failed", failure_message=message))
    response = driver.send(event, fail)
    assert_failed(driver, response, f"Failed: {message}")
    assert response.physical_id == only_job(bedrock)

    rollback = driver.send(events.delete(response.physical_id, event["ResourceProperties"]), never)
    assert (rollback.status, rollback.physical_id) == ("SUCCESS", response.physical_id)
    assert bedrock.calls_to(STOP_JOB) == []
    assert bedrock.models() == []


def test_wait_until_accepted_is_answered_at_once(driver, bedrock, events):
    response = driver.send(events.create(fine_tuning_properties(waitUntil="Accepted")), never)
    assert (response.status, response.physical_id) == ("SUCCESS", only_job(bedrock))
    assert response.data["status"] == "InProgress"
    assert "outputModelArn" not in response.data
    assert driver.ticks == 0


def test_a_tag_only_update_is_in_place(driver, bedrock, events):
    created = created_job(driver, bedrock, events)
    old = fine_tuning_properties()
    new = old | {"jobTags": [{"key": "team", "value": "platform"}]}
    response = driver.send(events.update(created.physical_id, new, old), never)
    assert (response.status, response.physical_id) == ("SUCCESS", created.physical_id)
    assert bedrock.tags(created.physical_id) == {"team": "platform"}
    assert len(bedrock.jobs()) == 1
    assert response.data["outputModelArn"] == created.data["outputModelArn"]


def test_a_replacing_update_starts_a_new_job_and_answers_its_arn(driver, bedrock, events):
    created = created_job(driver, bedrock, events)
    old = fine_tuning_properties()
    new = old | {"hyperParameters": {"epochCount": "4"}}

    def new_job() -> str:
        (arn,) = [job["jobArn"] for job in bedrock.jobs() if job["jobArn"] != created.physical_id]
        return arn

    response = driver.send(events.update(created.physical_id, new, old), at_poll(2, completes(bedrock, new_job)))
    assert (response.status, response.physical_id) == ("SUCCESS", new_job())
    assert response.physical_id != created.physical_id
    assert response.data["jobArn"] == new_job()
    assert len(bedrock.jobs()) == 2


def test_deleting_a_running_job_stops_it_and_waits_until_stopped(driver, bedrock, events):
    properties = fine_tuning_properties(waitUntil="Accepted")
    created = driver.send(events.create(properties), never)
    response = driver.send(events.delete(created.physical_id, properties), at_poll(3, bedrock.finish_stopping))
    assert (response.status, response.physical_id) == ("SUCCESS", created.physical_id)
    assert bedrock.job(created.physical_id)["status"] == "Stopped"
    assert bedrock.calls_to(STOP_JOB) == [{"jobIdentifier": created.physical_id}]
    assert driver.ticks == 2


@pytest.mark.parametrize("status", ["ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS"])
def test_a_delete_poll_that_is_throttled_past_the_retries_is_polled_again(driver, bedrock, events, monkeypatch, status):
    """One poll of a job's delete meets a throttling storm that outlasts botocore's retries: the next poll reads the
    job stopped. Failing the Delete for it would leave the rollback or the stack's delete failed, for an operator."""
    properties = fine_tuning_properties(waitUntil="Accepted")
    created = driver.send(events.create(properties), never)
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    attempts = bedrock.client().meta.config.retries["total_max_attempts"]

    def storm_then_stopped(poll: int) -> None:
        if poll == 2:
            bedrock.throttle(attempts)
        if poll == 3:
            bedrock.finish_stopping()

    response = driver.send(events.delete(created.physical_id, properties), storm_then_stopped)
    assert (response.status, response.physical_id) == ("SUCCESS", created.physical_id), response.reason
    assert bedrock.job(created.physical_id)["status"] == "Stopped"
    assert bedrock.calls_to(STOP_JOB) == [{"jobIdentifier": created.physical_id}]


def test_deleting_a_job_that_is_already_gone_succeeds_at_once(driver, bedrock, events):
    missing = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{BASE_MODEL}/abcdef012345"
    response = driver.send(events.delete(missing), never)
    assert (response.status, response.physical_id) == ("SUCCESS", missing)


def test_a_retried_create_starts_one_job(driver, bedrock, events):
    event = events.create()
    first = driver.send(event, at_poll(2, completes(bedrock, lambda: only_job(bedrock))))
    again = driver.send(event, never)
    assert first == again
    assert first.physical_id == only_job(bedrock)
    assert len(bedrock.calls_to(CREATE_JOB)) == 1  # the retry finds the job by its name


# --- Custom::BedrockModelCustomizationJobResult ------------------------------------------------------------


def test_the_job_result_answers_a_completed_jobs_attributes_and_its_delete_touches_nothing(driver, bedrock, events):
    job = driver.send(events.create(fine_tuning_properties(waitUntil="Accepted")), never)
    bedrock.set_job_status(job.physical_id, "Completed", training_loss=0.25)
    results = CloudFormationEvents(resource_type=JOB_RESULT)
    properties = {"ServiceToken": SERVICE_TOKEN, "jobIdentifier": job.physical_id}
    response = driver.send(results.create(properties, logical_id="ModelCompletedJob"), never)
    assert (response.status, response.physical_id) == ("SUCCESS", job.physical_id)
    assert response.data["outputModelArn"] == bedrock.job(job.physical_id)["outputModelArn"]
    assert response.data["trainingLoss"] == "0.25"

    calls = len(bedrock.calls)
    deleted = driver.send(results.delete(job.physical_id, properties, logical_id="ModelCompletedJob"), never)
    assert (deleted.status, deleted.physical_id) == ("SUCCESS", job.physical_id)
    assert len(bedrock.calls) == calls


def test_the_result_of_an_unfinished_job_fails_the_create(driver, bedrock, events):
    job = driver.send(events.create(fine_tuning_properties(waitUntil="Accepted")), never)
    results = CloudFormationEvents(resource_type=JOB_RESULT)
    properties = {"ServiceToken": SERVICE_TOKEN, "jobIdentifier": job.physical_id}
    response = driver.send(results.create(properties), never)
    assert_failed(driver, response, "is InProgress")
    assert response.physical_id == driver.create_failed
    assert driver.send(results.delete(response.physical_id, properties), never).status == "SUCCESS"


# --- Custom::BedrockCustomModel ----------------------------------------------------------------------------


def test_an_imported_model_is_awaited_until_active(driver, bedrock):
    imports = CloudFormationEvents(resource_type=IMPORTED_MODEL)
    activate = at_poll(2, lambda: bedrock.set_model_status(only_import(bedrock), "Active"))
    response = driver.send(imports.create(import_properties()), activate)
    model_arn = only_import(bedrock)
    assert (response.status, response.physical_id) == ("SUCCESS", model_arn)
    assert response.data == {
        "modelArn": model_arn,
        "modelName": bedrock.imported_models()[0]["modelName"],
        "modelStatus": "Active",
    }


def test_a_failed_import_answers_bedrocks_message(driver, bedrock):
    imports = CloudFormationEvents(resource_type=IMPORTED_MODEL)
    message = "Model artifacts are not a Nova checkpoint"
    fail = at_poll(2, lambda: bedrock.set_model_status(only_import(bedrock), "Failed", failure_message=message))
    response = driver.send(imports.create(import_properties()), fail)
    assert_failed(driver, response, message)
    assert response.physical_id == only_import(bedrock)


def test_a_model_in_use_refuses_its_delete(driver, bedrock):
    imports = CloudFormationEvents(resource_type=IMPORTED_MODEL)
    activate = at_poll(2, lambda: bedrock.set_model_status(only_import(bedrock), "Active"))
    created = driver.send(imports.create(import_properties()), activate)
    bedrock.client().create_custom_model_deployment(modelDeploymentName="serving", modelArn=created.physical_id)
    response = driver.send(imports.delete(created.physical_id, import_properties()), never)
    assert_failed(driver, response, f"Custom model {created.physical_id} cannot be deleted while it is in use")
    assert response.physical_id == created.physical_id
    assert len(bedrock.imported_models()) == 1


# --- Custom::BedrockCustomModelDeployment ------------------------------------------------------------------


def test_a_deployment_is_created_pointed_at_another_model_in_place_and_deleted(driver, bedrock):
    deployments = CloudFormationEvents(resource_type=DEPLOYMENT)
    first_model, second_model = active_model(bedrock, "support-v1"), active_model(bedrock, "support-v2")
    first, second = deployment_properties(first_model), deployment_properties(second_model)

    activate = at_poll(2, lambda: bedrock.set_deployment_status(only_deployment(bedrock), "Active"))
    created = driver.send(deployments.create(first), activate)
    assert (created.status, created.physical_id) == ("SUCCESS", only_deployment(bedrock))
    assert created.data["modelArn"] == first_model

    finish = at_poll(2, lambda: bedrock.finish_deployment_update(created.physical_id))
    updated = driver.send(deployments.update(created.physical_id, second, first), finish)
    assert (updated.status, updated.physical_id) == ("SUCCESS", created.physical_id)
    assert updated.data["modelArn"] == second_model
    assert driver.ticks == 1

    deleted = driver.send(deployments.delete(created.physical_id, second), never)
    assert (deleted.status, deleted.physical_id) == ("SUCCESS", created.physical_id)
    assert bedrock.deployments() == []


# --- Custom::BedrockProvisionedModelThroughput -------------------------------------------------------------


def in_service(
    driver: Driver, bedrock: BedrockStandIn, throughputs: CloudFormationEvents, properties: dict[str, Any]
) -> Response:
    """A throughput created through throughputs, one stack's events (CloudFormation sends each request of a
    resource with its stack's StackId)."""
    ready = at_poll(2, lambda: bedrock.set_throughput_status(only_throughput(bedrock), "InService"))
    response = driver.send(throughputs.create(properties), ready)
    assert (response.status, response.physical_id) == ("SUCCESS", only_throughput(bedrock))
    return response


def test_a_provisioned_throughput_is_created_and_deleted(driver, bedrock):
    properties = throughput_properties(active_model(bedrock, "support-v1"))
    throughputs = CloudFormationEvents(resource_type=THROUGHPUT)
    created = in_service(driver, bedrock, throughputs, properties)
    assert (created.data["status"], created.data["modelUnits"]) == ("InService", "1")

    deleted = driver.send(throughputs.delete(created.physical_id, properties), never)
    assert (deleted.status, deleted.physical_id) == ("SUCCESS", created.physical_id)
    assert bedrock.throughputs() == []


def test_a_committed_throughput_refuses_its_delete_with_a_clear_message(driver, bedrock):
    properties = throughput_properties(active_model(bedrock, "support-v1"), commitmentDuration="OneMonth")
    throughputs = CloudFormationEvents(resource_type=THROUGHPUT)
    created = in_service(driver, bedrock, throughputs, properties)
    delete = throughputs.delete(created.physical_id, properties)
    response = driver.send(delete, never)
    assert_failed(driver, response, "has a OneMonth commitment that ends at", "Bedrock cannot delete it before then")
    assert response.physical_id == created.physical_id
    assert bedrock.calls_to("DeleteProvisionedModelThroughput") == []
    assert len(bedrock.throughputs()) == 1
