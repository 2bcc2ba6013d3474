"""The Bedrock stand-in behaves as Bedrock does where moto 5.2.x does not (cdk_bedrock_customization.emulation).

The handler tests rely on these behaviours, so each one is checked here through a real botocore client.
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import botocore.session
import pytest
from bedrock_custom_resource import contract
from botocore.config import Config
from botocore.exceptions import ClientError
from cdk_bedrock_customization.emulation import bedrock_stand_in
from cdk_bedrock_customization.emulation.bedrock_stand_in import JOB_ARN_PATTERN, MODEL_ARN_PATTERN, BedrockStandIn
from moto.bedrock.models import BedrockBackend

from .conftest import BASE_MODEL, ROLE_ARN


def create_request(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "jobName": "stand-in-job",
        "customModelName": "stand-in-model",
        "roleArn": ROLE_ARN,
        "baseModelIdentifier": BASE_MODEL,
        "trainingDataConfig": {"s3Uri": "s3://my-data-bucket/train.jsonl"},
        "outputDataConfig": {"s3Uri": "s3://my-data-bucket/output/"},
        "hyperParameters": {"epochCount": "1"},
        "jobTags": [{"key": "kind", "value": "job"}],
        "customModelTags": [{"key": "kind", "value": "model"}],
    }
    return request | overrides


@pytest.fixture
def client(bedrock: BedrockStandIn) -> Any:
    return bedrock.client()


def test_the_client_is_the_handlers_own_and_reads_the_bundled_service_model(client):
    """Even with the loader shared between sessions (conftest), the handler's data path is the one read."""
    assert client._loader.search_paths[0] == str(contract.SERVICE_DATA_PATH)
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 9}
    assert "rftConfig" in client.meta.service_model.shape_for("CustomizationConfig").members


def test_arns_match_the_service_model_patterns_and_the_job_names_the_model_it_creates(bedrock, client):
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    assert JOB_ARN_PATTERN.fullmatch(job_arn)
    assert f"model-customization-job/{BASE_MODEL}/" in job_arn
    running = client.get_model_customization_job(jobIdentifier=job_arn)
    assert "outputModelArn" not in running
    assert running["outputModelName"] == "stand-in-model"

    bedrock.set_job_status(job_arn, "Completed")
    done = client.get_model_customization_job(jobIdentifier=job_arn)
    (model,) = bedrock.models()
    assert MODEL_ARN_PATTERN.fullmatch(done["outputModelArn"])
    assert done["outputModelArn"] == model["modelArn"]
    assert done["outputModelName"] == model["modelName"] == "stand-in-model"
    assert client.get_custom_model(modelIdentifier=done["outputModelArn"])["jobArn"] == job_arn


def test_the_model_exists_only_once_the_job_completes_and_carries_the_requested_tags(bedrock, client):
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    assert bedrock.models() == []
    assert bedrock.tags(job_arn) == {"kind": "job"}
    bedrock.set_job_status(job_arn, "Completed")
    (model,) = bedrock.models()
    assert bedrock.tags(model["modelArn"]) == {"kind": "model"}


def bedrock_tags_per_resource() -> int:
    """What botocore's Bedrock model says a resource keeps (TooManyTagsException), though a TagList holds 200."""
    shape = botocore.session.get_session().get_service_model("bedrock").shape_for("TooManyTagsException")
    found = re.search(r"\((\d+) tags per resource\)", shape.documentation)
    assert found, shape.documentation
    return int(found.group(1))


def test_a_resource_keeps_as_many_tags_as_bedrock_says_and_no_more(bedrock, client):
    """moto gap 10: moto counts a request's tags only. Bedrock's TooManyTagsException: "The maximum number of tags
    includes both existing tags and those included in your current request"."""
    limit = bedrock_tags_per_resource()
    assert limit == contract.MAX_TAGS_PER_RESOURCE == 50
    tags = [{"key": f"tag-{i:03d}", "value": "v"} for i in range(limit + 1)]
    with pytest.raises(ClientError, match="TooManyTagsException"):
        client.create_model_customization_job(**create_request(jobTags=tags))
    assert bedrock.jobs() == []
    job_arn = client.create_model_customization_job(**create_request(jobTags=tags[:limit]))["jobArn"]
    assert len(bedrock.all_tags(job_arn)) == limit
    client.tag_resource(resourceARN=job_arn, tags=[{"key": "tag-000", "value": "changed"}])  # already there
    with pytest.raises(ClientError, match="TooManyTagsException"):
        client.tag_resource(resourceARN=job_arn, tags=[{"key": "one-more", "value": "v"}])
    assert len(bedrock.all_tags(job_arn)) == limit


def test_a_new_job_has_no_end_time_failure_or_metrics_yet(client):
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    job = client.get_model_customization_job(jobIdentifier=job_arn)
    assert job["status"] == "InProgress"
    for absent in ("endTime", "failureMessage", "trainingMetrics", "validationMetrics", "outputModelKmsKeyArn"):
        assert absent not in job
    assert {name: detail["status"] for name, detail in job["statusDetails"].items()} == {
        "validationDetails": "InProgress",
        "dataProcessingDetails": "NotStarted",
        "trainingDetails": "NotStarted",
    }


def test_completed_sets_end_time_metrics_and_sub_task_statuses(bedrock, client):
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    bedrock.set_job_status(job_arn, "Completed", training_loss=0.25, validation_loss=0.5)
    job = client.get_model_customization_job(jobIdentifier=job_arn)
    assert job["endTime"] >= job["creationTime"]
    assert job["trainingMetrics"] == {"trainingLoss": 0.25}
    assert job["validationMetrics"] == [{"validationLoss": 0.5}]
    assert {detail["status"] for detail in job["statusDetails"].values()} == {"Completed"}


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_failed_and_stopped_set_the_failure_message_and_end_time_and_create_no_model(bedrock, client, status):
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    bedrock.set_job_status(job_arn, status, failure_message="Out of capacity")
    job = client.get_model_customization_job(jobIdentifier=job_arn)
    assert (job["status"], job["failureMessage"]) == (status, "Out of capacity")
    assert "endTime" in job
    assert job["statusDetails"]["validationDetails"]["status"] == status
    assert bedrock.models() == []


def test_sub_task_statuses_can_be_set_while_running(bedrock, client):
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    bedrock.set_job_status(
        job_arn, "InProgress", status_details={"validationDetails": "Completed", "dataProcessingDetails": "InProgress"}
    )
    details = client.get_model_customization_job(jobIdentifier=job_arn)["statusDetails"]
    assert [details[name]["status"] for name in ("validationDetails", "dataProcessingDetails", "trainingDetails")] == [
        "Completed",
        "InProgress",
        "NotStarted",
    ]
    with pytest.raises(ValueError, match="Done"):
        bedrock.set_job_status(job_arn, "Done")


def test_get_stop_and_delete_accept_a_name_or_an_arn(bedrock, client):
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    assert client.get_model_customization_job(jobIdentifier="stand-in-job")["jobArn"] == job_arn
    assert client.get_model_customization_job(jobIdentifier=job_arn)["jobName"] == "stand-in-job"
    client.stop_model_customization_job(jobIdentifier=job_arn)
    assert bedrock.job("stand-in-job")["status"] == "Stopping"

    other_arn = client.create_model_customization_job(**create_request(jobName="other", customModelName="other"))[
        "jobArn"
    ]
    client.stop_model_customization_job(jobIdentifier="other")
    assert bedrock.job(other_arn)["status"] == "Stopping"

    for name in ("by-name", "by-arn"):
        arn = client.create_model_customization_job(**create_request(jobName=name, customModelName=name))["jobArn"]
        bedrock.set_job_status(arn, "Completed")
    by_arn = bedrock.job("by-arn")["outputModelArn"]
    client.delete_custom_model(modelIdentifier="by-name")
    client.delete_custom_model(modelIdentifier=by_arn)
    assert bedrock.models() == []
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_custom_model(modelIdentifier=by_arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_model_customization_job(jobIdentifier=job_arn.replace(job_arn[-12:], "000000000000"))


def test_stop_goes_through_stopping_and_refuses_a_job_that_is_not_in_progress(bedrock, client):
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    client.stop_model_customization_job(jobIdentifier=job_arn)
    assert bedrock.job(job_arn)["status"] == "Stopping"
    assert "endTime" not in bedrock.job(job_arn)
    with pytest.raises(client.exceptions.ValidationException, match="Stopping"):
        client.stop_model_customization_job(jobIdentifier=job_arn)
    bedrock.finish_stopping()
    assert bedrock.job(job_arn)["status"] == "Stopped"
    assert "endTime" in bedrock.job(job_arn)
    with pytest.raises(client.exceptions.ValidationException, match="Stopped"):
        client.stop_model_customization_job(jobIdentifier=job_arn)


def test_a_repeated_client_request_token_returns_the_first_job_and_creates_nothing(bedrock, client):
    first = client.create_model_customization_job(**create_request(clientRequestToken="token-1"))["jobArn"]
    again = client.create_model_customization_job(**create_request(clientRequestToken="token-1"))["jobArn"]
    assert again == first
    assert len(bedrock.jobs()) == 1
    with pytest.raises(client.exceptions.ResourceInUseException):
        client.create_model_customization_job(**create_request(clientRequestToken="token-2"))


def test_customization_config_is_stored_and_returned(client):
    config = {"distillationConfig": {"teacherModelConfig": {"teacherModelIdentifier": "amazon.nova-pro-v1:0"}}}
    request = create_request(
        customizationType="DISTILLATION",
        trainingDataConfig={"invocationLogsConfig": {"invocationLogSource": {"s3Uri": "s3://my-data-bucket/logs/"}}},
        customizationConfig=config,
    )
    job_arn = client.create_model_customization_job(**request)["jobArn"]
    job = client.get_model_customization_job(jobIdentifier=job_arn)
    assert job["customizationConfig"] == config
    assert "s3Uri" not in job["trainingDataConfig"]


def name_max(shape: str) -> int:
    """A name shape's most characters as botocore's Bedrock model says (63), not the handler's contract."""
    return int(botocore.session.get_session().get_service_model("bedrock").shape_for(shape).metadata["max"])


@pytest.mark.parametrize(
    ("member", "value"),
    [
        pytest.param("jobName", "j" * (name_max("JobName") + 1), id="job-name-one-over-its-max"),
        pytest.param("customModelName", "m" * (name_max("CustomModelName") + 1), id="model-name-one-over-its-max"),
        pytest.param("customModelName", "bad.model.name", id="model-name-against-its-pattern"),
    ],
)
def test_a_job_request_that_bedrock_would_refuse_is_refused_with_a_validation_exception(bedrock, client, member, value):
    """The stand-in judges the handler's requests: CreateModelCustomizationJob is checked against the service
    model's lengths and patterns (JobName and CustomModelName: at most 63 characters; CustomModelName
    ([0-9a-zA-Z][_-]?){1,63}, no dots) as every other operation is, though moto's own create checks none of them.
    Else a handler that sent a name Bedrock refuses would pass every test."""
    with pytest.raises(ClientError) as refused:
        client.create_model_customization_job(**create_request(**{member: value}))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert f"'{member}'" in refused.value.response["Error"]["Message"]
    assert bedrock.jobs() == []
    # The longest valid name is taken.
    longest = name_max({"jobName": "JobName", "customModelName": "CustomModelName"}[member])
    client.create_model_customization_job(**create_request(**{member: "n" * longest}))
    assert len(bedrock.jobs()) == 1


def test_every_call_is_recorded_with_its_parameters(bedrock, client):
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    client.get_model_customization_job(jobIdentifier=job_arn)
    assert bedrock.operations() == ["CreateModelCustomizationJob", "GetModelCustomizationJob"]
    assert bedrock.calls_to("GetModelCustomizationJob") == [{"jobIdentifier": job_arn}]
    assert bedrock.calls_to("CreateModelCustomizationJob")[0]["jobName"] == "stand-in-job"


def test_standard_mode_retries_injected_throttling(bedrock, client):
    """The handler's client (standard retry mode) retries ThrottlingException, backing off each time."""
    bedrock.throttle(2)
    job_arn = client.create_model_customization_job(**create_request())["jobArn"]
    assert bedrock.attempts == ["CreateModelCustomizationJob"] * 3
    assert len(bedrock.retry_delays) == 2
    assert bedrock.operations() == ["CreateModelCustomizationJob"]
    assert [job["jobArn"] for job in bedrock.jobs()] == [job_arn]
    bedrock.throttle(1)
    response = client.get_model_customization_job(jobIdentifier=job_arn)
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


def test_throttling_beyond_the_retry_budget_surfaces_after_max_attempts(bedrock, client):
    """aws.RETRY_CONFIG's max_attempts=8 means 8 retries to botocore: 9 attempts in all."""
    max_attempts = client.meta.config.retries["total_max_attempts"]
    assert max_attempts == 9
    bedrock.throttle(max_attempts)
    with pytest.raises(ClientError) as raised:
        client.create_model_customization_job(**create_request())
    assert raised.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert len(bedrock.attempts) == max_attempts
    assert bedrock.jobs() == []


def test_a_throttled_request_never_reaches_moto(bedrock):
    """botocore hands every request to all before-send handlers; moto must not act on a throttled one."""
    plain = bedrock.instrument(
        boto3.client("bedrock", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    )
    bedrock.throttle(1)
    with pytest.raises(ClientError, match="ThrottlingException"):
        plain.create_model_customization_job(**create_request())
    assert bedrock.jobs() == []


def test_compensations_are_undone_by_monkeypatch():
    patch = pytest.MonkeyPatch()
    original = BedrockBackend.create_model_customization_job
    bedrock_stand_in.install_moto_compensations(patch)
    assert BedrockBackend.create_model_customization_job is not original
    patch.undo()
    assert BedrockBackend.create_model_customization_job is original
