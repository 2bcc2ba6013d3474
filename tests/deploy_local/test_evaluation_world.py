"""Model evaluation jobs in the rehearsal's Bedrock (BedrockWorld): they complete after Timings.evaluation_minutes
of simulated time with the scores Timings.evaluation_scores gives their model (written to moto's S3 as Bedrock
writes its results), a stopped one ends Stopped after stop_minutes, and one whose output bucket is gone fails. Jobs
are started through a client the world watches, as the handlers' are; the test thread is an actor of the virtual
clock, whose sleeps are simulated minutes."""

from __future__ import annotations

import json
from typing import Any

import boto3
from cdk_bedrock_customization.rehearsal.bedrock_world import Timings
from cdk_bedrock_customization.rehearsal.cloud import ACCOUNT, REGION, LocalCloud

MINUTE = 60.0
BUCKET = "results"
# Foundation models and inference profiles are taken on trust by the stand-in.
CANDIDATE, BASELINE = "us.amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"
SCORES = {None: {"Builtin.Accuracy": 0.9}, BASELINE: {"Builtin.Accuracy": 0.25}}


def start(client: Any, name: str, model: str) -> str:
    """An automated job of a built-in dataset (its 100 prompts are the stand-in's own), results under BUCKET."""
    arn: str = client.create_evaluation_job(
        jobName=name,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/evaluation",
        evaluationConfig={
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": "QuestionAndAnswer",
                        "dataset": {"name": "Builtin.BoolQ"},
                        "metricNames": ["Builtin.Accuracy", "Builtin.Robustness"],
                    }
                ]
            }
        },
        inferenceConfig={"models": [{"bedrockModel": {"modelIdentifier": model}}]},
        outputDataConfig={"s3Uri": f"s3://{BUCKET}/evaluations/"},
    )["jobArn"]
    return arn


def statuses(local: LocalCloud) -> dict[str, str]:
    return {job["jobName"]: job["status"] for job in local.bedrock.evaluation_jobs()}


def scores_of(job_name: str) -> dict[str, set[float]]:
    """Each metric's results in the job's result files, as Bedrock writes them (automatic metrics without Builtin.)."""
    s3 = boto3.client("s3", region_name=REGION)
    found: dict[str, set[float]] = {}
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"evaluations/{job_name}/")["Contents"]:
        if item["Key"].endswith("_output.jsonl"):
            for line in s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode().splitlines():
                for score in json.loads(line)["automatedEvaluationResult"]["scores"]:
                    found.setdefault(score["metricName"], set()).add(score["result"])
    return found


def test_evaluation_jobs_complete_with_their_models_scores_and_stopped_ones_end_stopped():
    lines: list[str] = []
    timings = Timings(evaluation_minutes=40, stop_minutes=3, evaluation_scores=SCORES)
    with LocalCloud(timings, write=lines.append) as local:
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        client = local.world.watch(local.bedrock.client())
        start(client, "candidate", CANDIDATE)
        start(client, "baseline", BASELINE)
        stopped = start(client, "stopped", BASELINE)

        local.clock.sleep(39 * MINUTE)
        assert statuses(local) == {"candidate": "InProgress", "baseline": "InProgress", "stopped": "InProgress"}
        client.stop_evaluation_job(jobIdentifier=stopped)  # at minute 39: Stopped at 42
        local.clock.sleep(2 * MINUTE)
        assert statuses(local) == {"candidate": "Completed", "baseline": "Completed", "stopped": "Stopping"}
        local.clock.sleep(2 * MINUTE)
        assert statuses(local)["stopped"] == "Stopped"

        # Scores by model: the baseline's own, any other model's those of None; a metric not given scores 0.5.
        assert scores_of("candidate") == {"Accuracy": {0.9}, "Robustness": {0.5}}
        assert scores_of("baseline") == {"Accuracy": {0.25}, "Robustness": {0.5}}
    assert [line for line in lines if "Bedrock: evaluation job" in line] == [
        "[00:00:00] Bedrock: evaluation job candidate is InProgress",
        "[00:00:00] Bedrock: evaluation job baseline is InProgress",
        "[00:00:00] Bedrock: evaluation job stopped is InProgress",
        "[00:39:00] Bedrock: evaluation job stopped is Stopping",
        "[00:40:00] Bedrock: evaluation job candidate is Completed",
        "[00:40:00] Bedrock: evaluation job baseline is Completed",
        "[00:42:00] Bedrock: evaluation job stopped is Stopped",
    ]


def test_an_evaluation_job_whose_output_bucket_is_gone_fails():
    with LocalCloud(Timings(evaluation_minutes=40), write=lambda _line: None) as local:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        start(local.world.watch(local.bedrock.client()), "orphan", BASELINE)
        for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:  # the job's permission check
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
        s3.delete_bucket(Bucket=BUCKET)

        local.clock.sleep(40 * MINUTE)

        (job,) = local.bedrock.evaluation_jobs()
        assert job["status"] == "Failed"
        assert job["failureMessages"] == [
            f"The output location s3://{BUCKET}/evaluations/ is not usable: its bucket does not exist"
        ]
