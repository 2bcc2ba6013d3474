"""The job state change events the rehearsal's Bedrock emits, judged against the Bedrock user guide's sample ("How
EventBridge for Amazon Bedrock works", Model Customization Job State Change): source aws.bedrock, detail-type
"Model Customization Job State Change", resources [the job's ARN], account and region, and detail with jobArn,
jobName, jobStatus (and failureMessage for a failed job); one event per change of the job's state. Statuses are
botocore's bedrock ModelCustomizationJobStatus members."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from cdk_bedrock_customization.rehearsal.bedrock_world import Timings
from cdk_bedrock_customization.rehearsal.cloud import ACCOUNT, REGION, LocalCloud

MINUTE = 60.0
BUCKET = "gap-training-data"


def start(client: Any, name: str) -> str:
    return client.create_model_customization_job(
        jobName=name,
        customModelName=f"{name}-model",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/customization",
        baseModelIdentifier="amazon.nova-micro-v1:0:128k",
        trainingDataConfig={"s3Uri": f"s3://{BUCKET}/train.jsonl"},
        outputDataConfig={"s3Uri": f"s3://{BUCKET}/output/"},
        hyperParameters={"epochCount": "1"},
    )["jobArn"]


@pytest.mark.parametrize("failing", [False, True])
def test_a_job_emits_one_state_change_event_per_status_as_the_user_guide_shows(failing):
    events: list[dict[str, Any]] = []
    timings = Timings(job_minutes=30, failing_jobs=("broken",), failure_message="row 3 is not JSON")
    with LocalCloud(timings, write=lambda _line: None) as local:
        local.world.emit = events.append
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="train.jsonl", Body=b'{"prompt": "a", "completion": "b"}\n')
        client = local.world.watch(local.bedrock.client())
        name = "broken-job" if failing else "good-job"
        arn = start(client, name)
        local.clock.sleep(31 * MINUTE)
    final = "Failed" if failing else "Completed"
    assert [event["detail"]["jobStatus"] for event in events] == ["InProgress", final]
    for event in events:
        assert event["source"] == "aws.bedrock"
        assert event["detail-type"] == "Model Customization Job State Change"
        assert event["resources"] == [arn]
        assert (event["account"], event["region"]) == (ACCOUNT, REGION)
        assert (event["detail"]["jobArn"], event["detail"]["jobName"]) == (arn, name)
    if failing:
        assert events[-1]["detail"]["failureMessage"] == "row 3 is not JSON"
    else:
        assert "failureMessage" not in events[-1]["detail"]
