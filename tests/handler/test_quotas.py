"""A create that Bedrock refuses for a full quota fails with an error that says which quota, what holds it,
and what to do; it creates nothing. Throttling is not a quota error: it is retried."""

from __future__ import annotations

import pytest
from bedrock_custom_resource import imported_model, index
from bedrock_custom_resource.lifecycle import QuotaFull
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from .conftest import CloudFormationEvents, fine_tuning_properties, start
from .test_imported_model import import_properties


def test_a_full_job_quota_names_the_running_jobs_and_the_setting(bedrock, events):
    bedrock.limit_concurrent_jobs(2)
    running = [start(events, fine_tuning_properties(jobName=f"running-{n}"), logical_id=f"Model{n}") for n in (1, 2)]
    with pytest.raises(QuotaFull) as raised:
        index.on_event(events.create(fine_tuning_properties(jobName="third"), logical_id="Model3"))
    message = str(raised.value)
    assert "Bedrock refused to start model customization job third" in message
    assert "quota of concurrent model customization jobs in us-east-1 is full" in message
    assert "has reached the quota (2)" in message  # Bedrock's own message
    assert "running-1 (started " in message and "running-2 (started " in message
    assert "Nothing was created" in message
    assert "CustomizationProvider.of(stack, max_concurrent_jobs=N) (default 2;" in message
    assert "a plain CloudFormation template orders its own jobs, with DependsOn" in message  # no CDK setting there
    assert sorted(job["jobName"] for job in bedrock.jobs()) == ["running-1", "running-2"]
    assert bedrock.calls_to("ListModelCustomizationJobs") == [
        {"statusEquals": "InProgress", "sortBy": "CreationTime", "sortOrder": "Descending", "maxResults": 5}
    ]
    # Once a job has ended the same create goes through.
    bedrock.set_job_status(running[0].physical_id, "Completed")
    index.on_event(events.create(fine_tuning_properties(jobName="third"), logical_id="Model3"))
    assert len(bedrock.jobs()) == 3


def test_throttling_is_retried_not_reported_as_a_quota(bedrock, events):
    bedrock.throttle(2, "CreateModelCustomizationJob")
    deployed = start(events)
    assert bedrock.attempts.count("CreateModelCustomizationJob") == 3
    assert [job["jobArn"] for job in bedrock.jobs()] == [deployed.physical_id]
    # The running jobs are listed only to explain a quota refusal.
    assert [call for call in bedrock.calls_to("ListModelCustomizationJobs") if "statusEquals" in call] == []


def test_throttling_that_outlasts_the_retries_is_not_reported_as_a_full_quota(bedrock, events):
    """README: "Throttling and transient errors are retried with backoff (botocore's standard retry mode); other
    errors reach CloudFormation with the API's short message". The test above throttles twice, so botocore's retries
    get through and the quota branch is never reached; here every attempt of the create is throttled, and the error
    that ends the create is Bedrock's throttling, not a full quota with a list of running jobs and advice to lower
    max_concurrent_jobs."""
    attempts = bedrock.client().meta.config.retries["total_max_attempts"]
    bedrock.throttle(attempts * 3, "CreateModelCustomizationJob")
    with pytest.raises(Exception) as raised:
        start(events, fine_tuning_properties(jobName="throttled"))
    error = raised.value
    assert not isinstance(error, QuotaFull), str(error)
    refusal = error if isinstance(error, ClientError) else error.__cause__
    assert isinstance(refusal, ClientError) and refusal.response["Error"]["Code"] == "ThrottlingException", error
    assert "quota" not in str(error).lower()
    assert bedrock.attempts.count("CreateModelCustomizationJob") >= attempts
    assert [call for call in bedrock.calls_to("ListModelCustomizationJobs") if "statusEquals" in call] == []
    assert bedrock.jobs() == []


def test_a_full_job_quota_held_by_the_job_an_update_replaces_says_so(bedrock, events):
    """An update that replaces a running job starts the new one first (the Provider framework deletes the old one
    only after the update): at a quota of one, the job being replaced is what holds the place, and the error must
    say so, not leave the user looking for another stack's job."""
    bedrock.limit_concurrent_jobs(1)
    properties = fine_tuning_properties()
    running = start(events, properties)
    replacing = fine_tuning_properties(hyperParameters={"epochCount": "3", "batchSize": "1", "learningRate": "0.00001"})
    with pytest.raises(QuotaFull) as raised:
        index.on_event(events.update(running.physical_id, replacing, properties))
    message = str(raised.value)
    assert "quota of concurrent model customization jobs in us-east-1 is full" in message
    assert (
        f"The model customization job {running.physical_id} that this update replaces is still running, and holds a "
        "place until it ends." in message
    )
    assert "CustomizationProvider.of(stack, max_concurrent_jobs=N)" in message
    assert [job["jobArn"] for job in bedrock.jobs()] == [running.physical_id]
    # Once it has ended, the place is free: the same update starts the new job.
    bedrock.set_job_status(running.physical_id, "Completed")
    replaced = index.on_event(events.update(running.physical_id, replacing, properties))
    assert replaced["PhysicalResourceId"] != running.physical_id
    assert len(bedrock.jobs()) == 2


def test_a_full_import_quota_says_so_and_creates_nothing(bedrock, monkeypatch):
    client = bedrock.client()
    stubber = Stubber(client)
    stubber.add_client_error("get_custom_model", "ResourceNotFoundException", "no model of that name", 404)
    stubber.add_response("list_custom_models", {"modelSummaries": []})  # none of this logical id under another name
    stubber.add_client_error(
        "create_custom_model", "ServiceQuotaExceededException", "Custom models per account exceeded", 400
    )
    monkeypatch.setattr(imported_model, "bedrock_client", lambda: client)
    events = CloudFormationEvents(resource_type="Custom::BedrockCustomModel")
    with stubber, pytest.raises(QuotaFull) as raised:
        index.on_event(events.create(import_properties()))
    message = str(raised.value)
    assert "Bedrock refused to import custom model my-stack-Model-" in message
    assert "quota of custom models in us-east-1 is full (Custom models per account exceeded)" in message
    assert "max_concurrent_jobs" in message
    assert bedrock.imported_models() == []
