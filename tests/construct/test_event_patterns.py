"""The notifier's EventBridge rules, synthesized for a default CustomModel, an ImportedModel, a CopiedCustomModel and
a ModelEvaluation, matched by moto's EventBridge pattern matcher against the events AWS documents:

- Bedrock user guide, "How EventBridge for Amazon Bedrock works" (monitoring-eventbridge-how-it-works.html): the
  sample "Model Customization Job State Change" event, copied below field for field;
- EventBridge events reference, "Amazon Bedrock events" (events-ref-bedrock.html): Bedrock sends "Model
  Customization Job State Change", "Batch Inference Job State Change" and four Bedrock Data Automation events
  directly to EventBridge, delivery "Best effort"; none for model import, copy or evaluation jobs.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_bedrock_customization import CopiedCustomModel, ImportedModel, S3Data
from moto.events.models import EventPattern

from .conftest import ENV, custom_model
from .test_evaluation import evaluation

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/TestStack/0f1e2d3c-aaaa-bbbb-cccc-000000000000"

# The user guide's sample event, verbatim (its jobStatus is "Failed").
DOCUMENTED_SAMPLE: dict[str, Any] = {
    "version": "0",
    "id": "UUID",
    "detail-type": "Model Customization Job State Change",
    "source": "aws.bedrock",
    "account": "123456789012",
    "time": "2023-08-11T12:34:56Z",
    "region": "us-east-1",
    "resources": ["arn:aws:bedrock:us-east-1:123456789012:model-customization-job/abcdefghwxyz"],
    "detail": {
        "version": "0.0",
        "jobName": "abcd-wxyz",
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/abcdefghwxyz",
        "outputModelName": "dummy-output-model-name",
        "outputModelArn": "arn:aws:bedrock:us-east-1:123456789012:dummy-output-model-name",
        "roleArn": "arn:aws:iam::123456789012:role/JobExecutionRole",
        "jobStatus": "Failed",
        "failureMessage": "Failure Message here.",
        "creationTime": "2023-08-11T10:11:12Z",
        "lastModifiedTime": "2023-08-11T12:34:56Z",
        "endTime": "2023-08-11T12:34:56Z",
    },
}


def sample(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(DOCUMENTED_SAMPLE)
    detail = changes.pop("detail", {})
    event.update(changes)
    event["detail"].update(detail)
    return event


def full_stack() -> cdk.Stack:
    stack = cdk.Stack(cdk.App(), "TestStack", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    custom_model(stack, bucket)
    ImportedModel(stack, "OpenWeights", model_data=S3Data.from_uri("s3://weights-bucket/llama/"))
    CopiedCustomModel(
        stack,
        "Copy",
        source_model="arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0:300k/abcdefghijkl",
    )
    evaluation(stack, bucket)
    return stack


@pytest.fixture(scope="module")
def patterns() -> dict[str, EventPattern]:
    template = Template.from_stack(full_stack()).to_json()["Resources"]
    rules = {k: v["Properties"] for k, v in template.items() if v["Type"] == "AWS::Events::Rule"}
    return {
        logical_id: EventPattern.load(
            json.dumps(rule["EventPattern"]).replace('{"Ref": "AWS::StackId"}', json.dumps(STACK_ID))
        )
        for logical_id, rule in rules.items()
        if "EventPattern" in rule
    }


def reaching(patterns: dict[str, EventPattern], event: dict[str, Any]) -> list[str]:
    return sorted(logical_id for logical_id, pattern in patterns.items() if pattern.matches_event(event))


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped"])
def test_every_documented_terminal_status_reaches_the_notifier(patterns, status):
    (rule,) = reaching(patterns, sample(detail={"jobStatus": status}))
    assert "JobStateChanges" in rule


def test_the_documented_sample_verbatim_reaches_the_notifier(patterns):
    (rule,) = reaching(patterns, DOCUMENTED_SAMPLE)
    assert "JobStateChanges" in rule


def test_batch_inference_and_data_automation_events_do_not(patterns):
    for detail_type in ("Batch Inference Job State Change", "Bedrock Data Automation Job Succeeded"):
        assert reaching(patterns, sample(**{"detail-type": detail_type})) == []


@pytest.mark.parametrize(
    "elsewhere",
    [
        {"account": "210987654321"},  # forwarded to this account's default bus from another account
        {"region": "us-west-2"},  # forwarded from another Region's bus
    ],
    ids=["another-account", "another-region"],
)
def test_an_event_of_another_account_or_region_does_not_reach_the_notifier(patterns, elsewhere):
    """EventBridge keeps an event's own account and region when a rule forwards it to another bus: the pattern keeps
    it from invoking the notifier (which would signal nothing for it, after reading the stack)."""
    assert reaching(patterns, sample(**elsewhere)) == []


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_a_non_terminal_state_change_does_not_invoke_the_notifier(patterns, status):
    """Only Completed, Failed and Stopped end a job (GetModelCustomizationJob's ModelCustomizationJobStatus); the
    notifier returns at once for any other, so the rule need not deliver them."""
    assert reaching(patterns, sample(detail={"jobStatus": status})) == []
