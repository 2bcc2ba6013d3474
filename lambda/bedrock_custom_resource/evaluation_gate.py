"""Custom::BedrockModelEvaluationGate: the scores of a completed evaluation job (and of its baseline job), checked
against the stack's requirements.

It reads each job's results from S3 (evaluation_scores says how) once the job has completed: a wait condition, or
the job resource's own polling, comes first. A score that misses its requirement fails the Create or Update with a
message that lists each metric, its score and its threshold, so that whatever depends on the gate (a provisioned
throughput, a production deployment) is never created, and CloudFormation rolls back. It owns nothing: deleting it
deletes nothing (the job resources stop their jobs).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from . import contract, evaluation_scores, lifecycle
from .aws import bedrock_client, s3_client
from .cr_types import CustomResourceEvent, GateAttributes, IsCompleteResponse, OnEventResponse
from .evaluation_scores import BASELINE_SCORES, SCORES, Check, JobScores
from .model_evaluation import EvaluationUnsuccessful, completed_or_running
from .responses import ResponseTooLarge, checked_data

RESOURCE_TYPE = contract.EVALUATION_GATE

logger = logging.getLogger(__name__)


class EvaluationGateFailed(RuntimeError):
    """The evaluation completed, and a score missed its requirement."""


def on_event(event: CustomResourceEvent) -> OnEventResponse:
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    job_arn = contract.create_request(RESOURCE_TYPE, event["ResourceProperties"])["jobIdentifier"]
    properties = contract.properties_with_defaults(RESOURCE_TYPE, event["ResourceProperties"])
    baseline_arn = str(properties["baselineJobIdentifier"])
    try:
        return _checked(event, job_arn, properties, baseline_arn)
    except Exception as error:
        # A rollback's Update back returns to a job that passed this check when it was deployed: a read that fails
        # now (results expired, a throttled call) must not leave the rollback stuck. Its scores are not read again.
        if event["RequestType"] != "Update" or not lifecycle.MAKES_NOTHING.get()():
            raise
        logger.warning(
            "The rollback returns to %s, which passed when it was deployed; its check now fails: %s", job_arn, error
        )
        data: GateAttributes = {"jobArn": job_arn, "passed": "true"}
        if baseline_arn:
            data["baselineJobArn"] = baseline_arn
        return {"PhysicalResourceId": job_arn, "Data": dict(data)}


def _checked(
    event: CustomResourceEvent, job_arn: str, properties: Mapping[str, Any], baseline_arn: str
) -> OnEventResponse:
    """The gate's answer once the job's scores (and its baseline's) meet the requirements."""
    requirements = evaluation_scores.parse_requirements(properties["requirements"])
    client = bedrock_client()
    job = _completed(client, job_arn)
    datasets = _datasets(job)
    scores = read_scores(job, datasets)
    baseline = read_scores(_completed(client, baseline_arn), datasets) if baseline_arn else None
    checks = evaluation_scores.checks(requirements, datasets, scores, baseline)
    failed = [check for check in checks if not check.passed]
    if failed:
        raise EvaluationGateFailed(
            f"Model evaluation job {job['jobName']} missed {len(failed)} of {len(checks)} requirement(s); nothing "
            "behind the gate is created. "
            + "; ".join(check.describe() for check in sorted(checks, key=lambda check: check.passed))
        )
    described = "; ".join(map(Check.describe, checks))
    logger.info("Model evaluation job %s met every requirement: %s", job["jobName"], described)
    data: GateAttributes = {"jobArn": job_arn, "passed": "true"}
    if baseline_arn:
        data["baselineJobArn"] = baseline_arn
    attributes = {
        **data,
        **evaluation_scores.score_attributes(SCORES, scores),
        **(evaluation_scores.score_attributes(BASELINE_SCORES, baseline) if baseline is not None else {}),
    }
    try:
        return {"PhysicalResourceId": job_arn, "Data": checked_data(event, job_arn, attributes)}
    except ResponseTooLarge as too_large:
        # A plain template's gate (the constructs check at synth that the scores fit): passed, it must not fail for
        # attributes beyond CloudFormation's limit, which it leaves out.
        logger.warning("%s: the gate passed, and answers without its scores", too_large)
        return {"PhysicalResourceId": job_arn, "Data": checked_data(event, job_arn, data)}


def is_complete(event: CustomResourceEvent) -> IsCompleteResponse:
    return {"IsComplete": True}


def _completed(client: Any, job_arn: str) -> dict[str, Any]:
    job = completed_or_running(client, job_arn)
    if job["status"] != "Completed":
        raise EvaluationUnsuccessful(
            f"Model evaluation job {job['jobName']} is {job['status']}, but the gate runs only once it has "
            "completed; only a completed job has scores to read"
        )
    return job


def _datasets(job: Mapping[str, Any]) -> dict[str, list[str]]:
    """The job's dataset names, each with the metric names requested for it."""
    automated = (job.get("evaluationConfig") or {}).get("automated") or {}
    return {
        str(config["dataset"]["name"]): [str(name) for name in config["metricNames"]]
        for config in automated.get("datasetMetricConfigs") or []
    }


def read_scores(job: Mapping[str, Any], datasets: Mapping[str, list[str]]) -> JobScores:
    """The job's scores, from the result files under ``<output s3Uri>/<job name>/<job id>/``; when there are none
    there (the guide names that folder the job's uuid, not its id), from those under ``<output s3Uri>/<job name>/``
    written since the job was created, which must all be of one run (the folder before their ``models/``). A job name
    is reused (a redeploy once the earlier job's record is deleted) while the earlier job's results stay: they are
    never mixed in."""
    bucket, _, key = str(job["outputDataConfig"]["s3Uri"]).removeprefix("s3://").partition("/")
    prefix = f"{key.rstrip('/')}/{job['jobName']}/" if key.strip("/") else f"{job['jobName']}/"
    job_id = str(job["jobArn"]).rsplit("/", 1)[1]
    files = _result_files(bucket, f"{prefix}{job_id}/")
    if not files:
        created = job["creationTime"].replace(microsecond=0)  # S3 dates an object to the second
        files = [file for file in _result_files(bucket, prefix) if file[2] >= created]
        runs = sorted({_run_of(name[len(prefix) :]) for name, _, _ in files})
        if len(runs) > 1:
            raise EvaluationUnsuccessful(
                f"Model evaluation job {job['jobName']} completed, but result files of {len(runs)} runs under "
                f"s3://{bucket}/{prefix} ({', '.join(runs)}) were written since it was created: the gate cannot "
                "tell which are its own"
            )
    if not files:
        raise EvaluationUnsuccessful(
            f"Model evaluation job {job['jobName']} completed, but no result file (*_output.jsonl) is under "
            f"s3://{bucket}/{prefix}"
        )
    s3, scores = s3_client(), JobScores()
    for name, folder, _ in files:
        dataset = evaluation_scores.requested_dataset(folder, datasets)
        body = s3.get_object(Bucket=bucket, Key=name)["Body"]
        try:
            scores.add_file(dataset, body.iter_lines(), datasets.get(dataset, []))
        except ValueError as error:
            raise EvaluationUnsuccessful(f"s3://{bucket}/{name}: {error}") from None
    return scores


def _run_of(relative_key: str) -> str:
    """The run folder of a result file's key below the job name's folder: what comes before its models/ folder."""
    return relative_key.split("/models/", 1)[0] if "/models/" in relative_key else relative_key.split("/", 1)[0]


def _result_files(bucket: str, prefix: str) -> list[tuple[str, str, Any]]:
    """Each result file under prefix: its key, the dataset it scores and when it was written."""
    s3 = s3_client()
    found = []
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:  # paged by hand, as every listing here
        page = s3.list_objects_v2(**request)
        for item in page.get("Contents", []):
            dataset = evaluation_scores.dataset_of_result(item["Key"])
            if dataset is not None:
                found.append((item["Key"], dataset, item["LastModified"]))
        if not page.get("IsTruncated"):
            return found
        request["ContinuationToken"] = page["NextContinuationToken"]
