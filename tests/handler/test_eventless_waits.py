"""Long waits for jobs that emit no events (model import and copy jobs): the job resource returns once Bedrock has
accepted the job, a wait condition waits, the notifier's scheduled check signals it when the job ends, and the
result reader then reads the completed job.

Bedrock is moto plus the stand-in; CloudFormation's listing is a Stubber; the handles are a local HTTP server
(tests/handler/notifier_helpers.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from bedrock_custom_resource import index

from .conftest import ACCOUNT, REGION, ROLE_ARN, SERVICE_TOKEN, CloudFormationEvents, completed_job
from .notifier_helpers import Stack
from .serving_helpers import poll

IMPORT = "Custom::BedrockImportedModel"
IMPORT_RESULT = "Custom::BedrockModelImportJobResult"
COPY = "Custom::BedrockCopiedCustomModel"
COPY_RESULT = "Custom::BedrockModelCopyJobResult"
BACKSTOP = {"backstop": True}  # what the check rule's RuleTargetInput.fromObject({backstop: true}) delivers
IMPORTED_MODEL_ARN = re.compile(rf"arn:aws:bedrock:{REGION}:{ACCOUNT}:imported-model/[a-z0-9]{{12}}")


def start_import(stack: Stack, logical_id: str = "Llama") -> tuple[dict[str, Any], str]:
    """An import that a wait condition waits for: the resource returns once Bedrock has accepted the job."""
    properties = {
        "ServiceToken": SERVICE_TOKEN,
        "modelDataSource": {"s3DataSource": {"s3Uri": "s3://weights-bucket/llama-3-8b/"}},
        "roleArn": ROLE_ARN,
        "waitUntil": "Accepted",
    }
    event = CloudFormationEvents(resource_type=IMPORT).create(properties, logical_id)
    job_arn = index.on_event(event)["PhysicalResourceId"]
    assert stack.add_job(logical_id, job_arn, resource_type=IMPORT) is not None
    return event, job_arn


def read_result(resource_type: str, properties: dict[str, Any]) -> dict[str, Any]:
    """The result reader's Create, as the Provider framework runs it."""
    event = CloudFormationEvents(resource_type=resource_type).create(
        {"ServiceToken": SERVICE_TOKEN, **properties}, "CompletedJob"
    )
    return index.on_event(event)


def test_an_accepted_import_returns_at_once_with_the_jobs_attributes(bedrock, stack):
    event, job_arn = start_import(stack)
    result = poll(event, job_arn)
    assert result["IsComplete"] is True
    assert result["Data"]["jobArn"] == job_arn
    assert result["Data"]["status"] == "InProgress"
    assert "importedModelArn" not in result["Data"]


def test_the_check_signals_a_completed_import_and_the_reader_reads_its_model(bedrock, stack, signal_server, notify):
    _, job_arn = start_import(stack)
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": []}  # still running
    assert signal_server.puts == []

    bedrock.set_import_job_status(job_arn, "Completed", architecture="mistral")
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": [job_arn]}

    (signal,) = signal_server.signals_to(stack.waits["Llama"].handle_url)
    (model,) = bedrock.import_job_models()
    assert signal["Status"] == "SUCCESS"
    assert signal["UniqueId"] == job_arn.rsplit("/", 1)[-1]
    assert signal["Data"] == model["modelArn"]
    result = read_result(IMPORT_RESULT, {"jobIdentifier": job_arn})
    assert result["PhysicalResourceId"] == job_arn
    assert IMPORTED_MODEL_ARN.fullmatch(result["Data"]["importedModelArn"])
    assert result["Data"]["importedModelArn"] == model["modelArn"]
    assert result["Data"]["modelArchitecture"] == "mistral"


def test_a_failed_import_signals_failure_with_bedrocks_message(bedrock, stack, signal_server, notify):
    _, job_arn = start_import(stack)
    bedrock.set_import_job_status(job_arn, "Failed", "config.json names an unsupported architecture")
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": [job_arn]}
    (signal,) = signal_server.signals_to(stack.waits["Llama"].handle_url)
    assert signal["Status"] == "FAILURE"
    assert signal["Reason"].endswith("Failed: config.json names an unsupported architecture")
    assert signal["Reason"].startswith("Model import job my-stack-Llama-")


def test_the_reader_refuses_an_import_that_has_not_completed(bedrock, stack):
    _, job_arn = start_import(stack)
    with pytest.raises(
        RuntimeError, match=r"is InProgress: only a completed job has a model to read\. A reader reads at once"
    ):
        read_result(IMPORT_RESULT, {"jobIdentifier": job_arn})


def test_the_check_signals_a_completed_copy_and_the_reader_reads_the_copy(bedrock, stack, signal_server, notify):
    source = str(bedrock.job(completed_job(bedrock, "support-job", "support-v1"))["outputModelArn"])
    properties = {"ServiceToken": SERVICE_TOKEN, "sourceModelArn": source, "waitUntil": "Accepted"}
    event = CloudFormationEvents(resource_type=COPY).create(properties, "Copy")
    job_arn = index.on_event(event)["PhysicalResourceId"]
    assert stack.add_job("Copy", job_arn, resource_type=COPY) is not None
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": []}

    bedrock.set_copy_job_status(job_arn, "Completed")
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": [job_arn]}

    (signal,) = signal_server.signals_to(stack.waits["Copy"].handle_url)
    (job,) = bedrock.copy_jobs()
    assert (signal["Status"], signal["Data"]) == ("SUCCESS", job["targetModelArn"])
    assert signal["Reason"] == f"Model copy job to {job['targetModelName']} completed"
    result = read_result(COPY_RESULT, {"jobArn": job_arn})
    assert result["Data"]["targetModelArn"] == job["targetModelArn"]
    assert result["Data"]["sourceModelArn"] == source
