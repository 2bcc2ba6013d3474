"""Custom::BedrockModelEvaluationJob and Custom::BedrockModelEvaluationGate, through the handler's entry points,
against the Bedrock stand-in (which writes results to moto's S3 in the user guide's layout).

Expected values come from the API reference's patterns, the user guide's formats and the scores the test gives the
stand-in, never from the handler.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import boto3
import pytest
from bedrock_custom_resource import index, lifecycle
from bedrock_custom_resource.evaluation_gate import EvaluationGateFailed
from bedrock_custom_resource.model_evaluation import EvaluationUnsuccessful
from moto.s3.models import s3_backends

from .conftest import ACCOUNT, REGION, ROLE_ARN, SERVICE_TOKEN, CloudFormationEvents
from .notifier_helpers import Stack
from .serving_helpers import create, poll

JOB = "Custom::BedrockModelEvaluationJob"
GATE = "Custom::BedrockModelEvaluationGate"
# The API reference's EvaluationJobArn and EvaluationJobName patterns.
JOB_ARN = re.compile(rf"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/[a-z0-9]{{12}}")
JOB_NAME = re.compile(r"[a-z0-9](-*[a-z0-9]){0,62}")
BUCKET = "evaluation-results"
FOUNDATION = "amazon.nova-micro-v1:0"
BASELINE = "amazon.nova-lite-v1:0"
BACKSTOP = {"backstop": True}


@pytest.fixture
def results(bedrock: Any) -> Any:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    return s3


@pytest.fixture
def events() -> CloudFormationEvents:
    return CloudFormationEvents(stack_name="My-Stack", resource_type=JOB)


def job_properties(model: str = FOUNDATION, **overrides: Any) -> dict[str, Any]:
    """An automatic evaluation of model on BoolQ, as CloudFormation delivers it."""
    return {
        "ServiceToken": SERVICE_TOKEN,
        "roleArn": ROLE_ARN,
        "evaluationConfig": {
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
        "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": model}}]},
        "outputDataConfig": {"s3Uri": f"s3://{BUCKET}/evaluations/"},
        "jobTags": [{"key": "team", "value": "ml"}],
    } | overrides


def completed(bedrock: Any, events: CloudFormationEvents, scores: dict[str, Any], **overrides: Any) -> str:
    """A job created through the handler and completed with these scores: its ARN."""
    _, job_arn = create(events, job_properties(**overrides))
    bedrock.set_evaluation_job_status(job_arn, "Completed", scores=scores)
    return job_arn


def gate(job_arn: str, requirements: list[dict[str, Any]], baseline: str | None = None) -> dict[str, Any]:
    properties = {"ServiceToken": SERVICE_TOKEN, "jobIdentifier": job_arn, "requirements": requirements}
    if baseline is not None:
        properties["baselineJobIdentifier"] = baseline
    return index.on_event(CloudFormationEvents(resource_type=GATE).create(properties, "Gate"))


# --- the job ----------------------------------------------------------------------------------------------------


def test_create_starts_a_job_under_a_lowercase_generated_name_and_waits_for_it(bedrock, results, events):
    event, job_arn = create(events, job_properties())
    assert JOB_ARN.fullmatch(job_arn)
    (job,) = bedrock.evaluation_jobs()
    assert JOB_NAME.fullmatch(job["jobName"]) and job["jobName"].startswith("my-stack-model-")
    assert bedrock.tags(job_arn) == {"team": "ml"}
    assert lifecycle.FINGERPRINT_TAG in bedrock.all_tags(job_arn)
    assert poll(event, job_arn) == {"IsComplete": False}
    bedrock.set_evaluation_job_status(job_arn, "Completed")
    result = poll(event, job_arn)
    assert result["IsComplete"] is True
    assert result["Data"] == {
        "jobArn": job_arn,
        "jobName": job["jobName"],
        "status": "Completed",
        "outputS3Uri": f"s3://{BUCKET}/evaluations/",
        "creationTime": result["Data"]["creationTime"],
    }


def test_an_accepted_job_returns_at_once_for_a_wait_condition(bedrock, results, events):
    event, job_arn = create(events, job_properties(waitUntil="Accepted"))
    result = poll(event, job_arn)
    assert (result["IsComplete"], result["Data"]["status"]) == (True, "InProgress")


def test_a_retried_or_replayed_create_adopts_the_job_it_started(bedrock, results, events):
    _, first = create(events, job_properties())
    _, again = create(events, job_properties())
    bedrock.set_evaluation_job_status(first, "Completed")
    _, after_completion = create(events, job_properties())
    assert first == again == after_completion
    assert len(bedrock.evaluation_jobs()) == 1


def test_a_failed_job_fails_with_bedrocks_messages_and_the_next_create_uses_the_next_name(bedrock, results, events):
    event, job_arn = create(events, job_properties())
    bedrock.set_evaluation_job_status(job_arn, "Failed", failure_message="The role cannot read the dataset")
    with pytest.raises(EvaluationUnsuccessful, match=r"my-stack-model-\S+ is Failed: The role cannot read the dataset"):
        poll(event, job_arn)
    _, retried = create(events, job_properties())
    assert retried != job_arn
    assert len({job["jobName"] for job in bedrock.evaluation_jobs()}) == 2


def test_a_change_of_the_model_runs_a_new_evaluation_and_a_tag_change_does_not(bedrock, results, events):
    _, job_arn = create(events, job_properties())
    retagged = job_properties(jobTags=[{"key": "team", "value": "search"}])
    assert index.on_event(events.update(job_arn, retagged, job_properties()))["PhysicalResourceId"] == job_arn
    assert bedrock.tags(job_arn) == {"team": "search"}
    replaced = index.on_event(events.update(job_arn, job_properties(BASELINE), retagged))["PhysicalResourceId"]
    assert replaced != job_arn
    assert len(bedrock.evaluation_jobs()) == 2


def test_a_new_model_behind_the_same_throughput_is_evaluated_by_a_new_job(bedrock, results, events):
    """A throughput changes its model in place: its ARN, the job's modelIdentifier, stays the same."""
    first_model = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/aaaaaaaaaaaa"
    second_model = first_model.replace("aaaaaaaaaaaa", "bbbbbbbbbbbb")
    _, job_arn = create(events, job_properties(evaluatedModelArn=first_model))
    same = index.on_event(events.update(job_arn, job_properties(evaluatedModelArn=first_model), job_properties()))
    assert same["PhysicalResourceId"] == job_arn
    retrained = job_properties(evaluatedModelArn=second_model)
    replaced = index.on_event(events.update(job_arn, retrained, job_properties(evaluatedModelArn=first_model)))
    assert replaced["PhysicalResourceId"] != job_arn
    (second,) = [job for job in bedrock.evaluation_jobs() if job["jobArn"] == replaced["PhysicalResourceId"]]
    assert second["inferenceConfig"] == job_properties()["inferenceConfig"]  # the same identifier, evaluated again


def test_the_rollback_of_a_replacement_adopts_the_earlier_job_and_starts_no_third(bedrock, results, events):
    """CloudFormation rolls a failed update back with an Update to the old properties (DESIGN.md, fact 10)."""
    _, old = create(events, job_properties())
    bedrock.set_evaluation_job_status(old, "Completed")
    new = index.on_event(events.update(old, job_properties(BASELINE), job_properties()))["PhysicalResourceId"]
    rolled_back = index.on_event(events.update(new, job_properties(), job_properties(BASELINE)))["PhysicalResourceId"]
    assert rolled_back == old
    assert len(bedrock.evaluation_jobs()) == 2
    # The rollback's cleanup deletes the replacement, which stops it.
    index.on_event(events.delete(new, job_properties(BASELINE)))
    assert {job["jobArn"]: job["status"] for job in bedrock.evaluation_jobs()} == {old: "Completed", new: "Stopping"}


@pytest.mark.parametrize("status", ["Completed", "InProgress"])
def test_a_stack_made_again_takes_the_evaluation_its_first_ran_though_its_role_was_drawn_anew(
    bedrock, results, events, status
):
    """A stack of the same name deployed again (its first deleted; an evaluation job's record stays) makes its
    service role anew, under a name CloudFormation draws again: the evaluation its first ran, done or running, is
    taken, and nothing is evaluated (and paid for) again, in any stack made after it."""
    _, job_arn = create(events, job_properties())  # InProgress
    if status != "InProgress":
        bedrock.set_evaluation_job_status(job_arn, status)
    for drawn in range(3):
        again = CloudFormationEvents(stack_name="My-Stack", resource_type=JOB)  # a new stack id, the same name
        taken = index.on_event(again.create(job_properties(roleArn=f"{ROLE_ARN}-drawn-anew-{drawn}")))
        assert taken["PhysicalResourceId"] == job_arn
    assert len(bedrock.calls_to("CreateEvaluationJob")) == 1


@pytest.mark.parametrize(("status", "evaluations"), [("Completed", 1), ("InProgress", 2)])
def test_a_new_role_evaluates_again_only_an_evaluation_that_has_not_completed(
    bedrock, results, events, status, evaluations
):
    """The role is what the evaluation ran as: a completed evaluation's results are the same whatever role a later
    template names; a running one is replaced, to run as the new role."""
    _, job_arn = create(events, job_properties())  # InProgress
    if status != "InProgress":
        bedrock.set_evaluation_job_status(job_arn, status)
    shared = job_properties(roleArn=ROLE_ARN + "-shared")
    answered = index.on_event(events.update(job_arn, shared, job_properties()))["PhysicalResourceId"]
    assert (answered == job_arn) is (evaluations == 1)
    assert len(bedrock.calls_to("CreateEvaluationJob")) == evaluations


def test_delete_stops_a_running_job_and_anything_ended_or_gone_needs_nothing(bedrock, results, events):
    _, running = create(events, job_properties())
    index.on_event(events.delete(running, job_properties()))
    assert [job["status"] for job in bedrock.evaluation_jobs()] == ["Stopping"]
    index.on_event(events.delete(running, job_properties()))  # a retried delete: still stopping, nothing to do
    bedrock.set_evaluation_job_status(running, "Stopped")
    index.on_event(events.delete(running, job_properties()))
    never_created = "my-stack-Model-a1b2c3"  # a failed create's physical id
    assert index.on_event(events.delete(never_created, job_properties()))["PhysicalResourceId"] == never_created
    gone = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/zzzzzzzzzzzz"
    assert index.on_event(events.delete(gone, job_properties()))["PhysicalResourceId"] == gone


@pytest.mark.parametrize(("first_served", "stopped"), [(True, True), (False, False)], ids=["served", "not-served"])
def test_a_stop_answered_with_server_errors_counts_when_bedrock_carried_it_out(
    bedrock, results, events, first_served, stopped
):
    """Every attempt of the stop got a server error, though the first may have stopped the job: then the Delete
    succeeds; a stop that was not carried out fails it with the service's error, as before."""
    _, running = create(events, job_properties())
    attempts = bedrock.client().meta.config.retries["total_max_attempts"]
    bedrock.answer_with_server_errors("StopEvaluationJob", [first_served] + [False] * (attempts - 1))

    if stopped:
        assert index.on_event(events.delete(running, job_properties())) == {"PhysicalResourceId": running}
    else:
        with pytest.raises(Exception, match="InternalServerException"):
            index.on_event(events.delete(running, job_properties()))
    assert [job["status"] for job in bedrock.evaluation_jobs()] == ["Stopping" if stopped else "InProgress"]


def test_a_custom_model_deployment_is_refused_before_anything_is_created(bedrock, results, events):
    deployment = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/a1b2c3d4e5f6"
    with pytest.raises(ValueError, match=r"inferenceConfig\.models\[0\]\.bedrockModel\.modelIdentifier: "):
        create(events, job_properties(deployment))
    assert bedrock.evaluation_jobs() == []


# --- the gate ---------------------------------------------------------------------------------------------------


def test_the_gate_passes_and_exposes_each_metrics_mean(bedrock, results, events):
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": [1.0, 0.5, None], "Builtin.Robustness": 12.5})
    result = gate(job_arn, [{"metricName": "Builtin.Accuracy", "atLeast": "0.7"}])
    assert result["PhysicalResourceId"] == job_arn
    # BoolQ's 100 prompts (the user guide), scored 1.0, 0.5, n/a, 1.0...: 34 ones and 33 halves, 33 not applicable.
    accuracy = float(result["Data"]["Scores.Builtin.BoolQ.Builtin.Accuracy"])
    assert accuracy == pytest.approx((34 * 1.0 + 33 * 0.5) / 67, abs=1e-6)
    assert result["Data"]["Scores.Builtin.BoolQ.Builtin.Robustness"] == "12.5"
    assert result["Data"]["passed"] == "true"


def test_a_gate_that_passes_logs_each_check_and_of_how_many_results_its_score_is(bedrock, results, events, caplog):
    """BoolQ's 100 prompts scored 1.0, 0.5, n/a in turn: 34 ones and 33 halves applicable, (34 + 16.5) / 67."""
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": [1.0, 0.5, None], "Builtin.Robustness": 12.5})
    with caplog.at_level("INFO"):
        gate(job_arn, [{"metricName": "Builtin.Accuracy", "atLeast": "0.7"}])
    (logged,) = [record.getMessage() for record in caplog.records if "met every requirement" in record.getMessage()]
    assert "Builtin.Accuracy on Builtin.BoolQ: 0.7537 (from 67 of 100 results), required >= 0.7000" in logged


def test_a_score_below_its_threshold_fails_listing_each_metric_score_and_threshold(bedrock, results, events):
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": 0.6, "Builtin.Robustness": 30})
    requirements = [
        {"metricName": "Builtin.Accuracy", "atLeast": "0.8"},
        {"metricName": "Builtin.Robustness", "atMost": "25"},
        {"metricName": "Builtin.Accuracy", "atMost": "0.9"},
    ]
    with pytest.raises(EvaluationGateFailed) as failure:
        gate(job_arn, requirements)
    message = str(failure.value)
    assert "missed 2 of 3 requirement(s)" in message
    for line in (
        "Builtin.Accuracy on Builtin.BoolQ: 0.6000, required >= 0.8000 (Builtin.Accuracy at least 0.8): FAILED",
        "Builtin.Robustness on Builtin.BoolQ: 30.0000, required <= 25.0000",
        "Builtin.Accuracy on Builtin.BoolQ: 0.6000, required <= 0.9000 (Builtin.Accuracy at most 0.9): passed",
    ):
        assert line in message


def test_the_gate_compares_with_the_baseline_jobs_scores(bedrock, results, events):
    candidate = completed(bedrock, events, {"Builtin.Accuracy": 0.82, "Builtin.Robustness": 10})
    baseline = completed(bedrock, events, {"Builtin.Accuracy": 0.75, "Builtin.Robustness": 11}, model=BASELINE)
    passing = [
        {"metricName": "Builtin.Accuracy", "atLeastBaselinePlus": "0.05"},
        {"metricName": "Builtin.Robustness", "atMostBaselineMinus": "0"},
    ]
    data = gate(candidate, passing, baseline)["Data"]
    assert (data["baselineJobArn"], data["BaselineScores.Builtin.BoolQ.Builtin.Accuracy"]) == (baseline, "0.75")
    with pytest.raises(EvaluationGateFailed, match=r"Builtin.Accuracy on Builtin.BoolQ: 0.8200, required >= 0.8500"):
        gate(candidate, [{"metricName": "Builtin.Accuracy", "atLeastBaselinePlus": "0.1"}], baseline)


# A judge's metrics (the user guide's "model as a judge" built-in metrics).
JUDGE_METRICS = [
    f"Builtin.{name}"
    for name in [
        "Correctness",
        "Completeness",
        "Faithfulness",
        "Helpfulness",
        "Coherence",
        "Relevance",
        "FollowingInstructions",
        "ProfessionalStyleAndTone",
        "Harmfulness",
        "Stereotyping",
        "Refusal",
    ]
]


def test_a_gate_that_passes_answers_without_scores_that_would_not_fit_cloudformations_response(
    bedrock, results, events
):
    """A plain template's gate (the constructs check the size at synth): three datasets of a judge's eleven metrics and
    a baseline make 66 score attributes of six digits, past CloudFormation's 4096-byte response body
    (crpg-ref-responses.html) even in the CDK framework's compact JSON. The jobs have run and passed: the gate passes,
    without them, rather than fail for them."""
    configs = []
    for number in range(3):
        results.put_object(Bucket=BUCKET, Key=f"d{number}.jsonl", Body=b'{"prompt": "hi", "referenceResponse": "hi"}')
        dataset = {"name": f"support-{number}", "datasetLocation": {"s3Uri": f"s3://{BUCKET}/d{number}.jsonl"}}
        configs.append({"taskType": "General", "dataset": dataset, "metricNames": JUDGE_METRICS})
    judge = {"bedrockEvaluatorModels": [{"modelIdentifier": "anthropic.claude-3-5-sonnet-20240620-v1:0"}]}
    judged = {"automated": {"datasetMetricConfigs": configs, "evaluatorModelConfig": judge}}
    candidate = completed(bedrock, events, dict.fromkeys(JUDGE_METRICS, 0.876543), evaluationConfig=judged)
    baseline = completed(
        bedrock, events, dict.fromkeys(JUDGE_METRICS, 0.512345), evaluationConfig=judged, model=BASELINE
    )
    answer = gate(candidate, [{"metricName": "Builtin.Correctness", "atLeast": "0.7"}], baseline)
    assert answer["Data"] == {"jobArn": candidate, "baselineJobArn": baseline, "passed": "true"}
    with pytest.raises(EvaluationGateFailed, match=r"Builtin.Correctness on support-0: 0.5123, required >= 0.7000"):
        gate(baseline, [{"metricName": "Builtin.Correctness", "atLeast": "0.7"}])


def test_the_gate_refuses_a_job_that_has_not_completed(bedrock, results, events):
    _, running = create(events, job_properties())
    with pytest.raises(EvaluationUnsuccessful, match="is InProgress, but the gate runs only once it has completed"):
        gate(running, [])
    bedrock.set_evaluation_job_status(running, "Failed", failure_message="Throttled")
    with pytest.raises(EvaluationUnsuccessful, match="is Failed: Throttled"):
        gate(running, [])


def test_the_gate_fails_when_the_job_wrote_no_results(bedrock, results, events):
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": 1.0})
    for item in results.list_objects_v2(Bucket=BUCKET)["Contents"]:
        results.delete_object(Bucket=BUCKET, Key=item["Key"])
    with pytest.raises(
        EvaluationUnsuccessful, match=rf"no result file \(\*_output.jsonl\) is under s3://{BUCKET}/evaluations/"
    ):
        gate(job_arn, [])


def test_results_of_an_earlier_job_of_the_same_name_are_not_read(bedrock, results, events):
    """The layout is <s3Uri>/<job name>/<job id>/...: a redeploy reuses a job name once the earlier job's record is
    gone, but its results stay beside the new job's. The gate reads the folder of its own job's id."""
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": 1.0})
    job_id = job_arn.rsplit("/", 1)[1]
    record = {"automatedEvaluationResult": {"scores": [{"metricName": "Accuracy", "result": 0.0}]}}
    written = [item["Key"] for item in results.list_objects_v2(Bucket=BUCKET)["Contents"]]
    for key in [key for key in written if key.endswith("_output.jsonl")]:
        assert f"/{job_id}/" in key
        stale = key.replace(f"/{job_id}/", "/a1b2c3d4e5f6/")
        results.put_object(Bucket=BUCKET, Key=stale, Body=json.dumps(record).encode())

    data = gate(job_arn, [{"metricName": "Builtin.Accuracy", "atLeast": "1"}])["Data"]

    assert float(data["Scores.Builtin.BoolQ.Builtin.Accuracy"]) == 1.0  # not the mean with the stale 0.0s


def written_before_the_job(key: str) -> None:
    """Dates the object in moto's S3 to before any job of the test was created (an earlier run's results)."""
    stored = s3_backends[ACCOUNT]["global"].buckets[BUCKET].keys[key]
    stored.last_modified = stored.last_modified.replace(year=2020)


def moved_to_run(results: Any, job_arn: str, run: str) -> list[str]:
    """Moves the job's result files from its id's folder to the run folder run (the user guide's job-uuid, or a
    <job name>/<random id> as practitioners report it); the moved keys."""
    job_id = job_arn.rsplit("/", 1)[1]
    moved = []
    for item in results.list_objects_v2(Bucket=BUCKET)["Contents"]:
        if item["Key"].endswith("_output.jsonl"):
            key = item["Key"].replace(f"/{job_id}/", f"/{run}/")
            results.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": item["Key"]})
            results.delete_object(Bucket=BUCKET, Key=item["Key"])
            moved.append(key)
    return moved


def stale_copies(results: Any, keys: list[str], run: str, new_run: str, accuracy: float) -> None:
    record = {"automatedEvaluationResult": {"scores": [{"metricName": "Accuracy", "result": accuracy}]}}
    for key in keys:
        stale = key.replace(f"/{new_run}/", f"/{run}/")
        results.put_object(Bucket=BUCKET, Key=stale, Body=json.dumps(record).encode())
        written_before_the_job(stale)


@pytest.mark.parametrize("run", ["0d2c6f1e-uuid", "support-eval/q8w7e6r5t4y3"], ids=["job-uuid", "name-and-random-id"])
def test_results_outside_the_job_ids_folder_are_read_without_an_earlier_runs(bedrock, results, events, run):
    """The guide's layout names the folder job-uuid, which may not be the ARN's id: the gate then reads what was written
    under the job name since the job was created, never the results an earlier job of the same name left there."""
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": 0.1})
    moved = moved_to_run(results, job_arn, run)
    stale_copies(results, moved, "earlier-run-uuid", run, accuracy=0.95)

    data = gate(job_arn, [{"metricName": "Builtin.Accuracy", "atMost": "1"}])["Data"]

    assert float(data["Scores.Builtin.BoolQ.Builtin.Accuracy"]) == pytest.approx(0.1)  # not the mean with 0.95s
    with pytest.raises(EvaluationGateFailed, match=r"Builtin.Accuracy on Builtin.BoolQ: 0.1000, required >= 0.5000"):
        gate(job_arn, [{"metricName": "Builtin.Accuracy", "atLeast": "0.5"}])


def test_results_in_a_folder_named_without_the_builtin_prefix_score_the_builtin_dataset(bedrock, results, events):
    """Which folder Bedrock writes a built-in dataset's results in is documented by no example; its metric names drop
    their Builtin. prefix, so a folder may too: BoolQ/ then holds Builtin.BoolQ's results, not none."""
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": 0.8})
    written = [item["Key"] for item in results.list_objects_v2(Bucket=BUCKET)["Contents"]]
    moved = [key for key in written if "/datasets/Builtin.BoolQ/" in key]
    assert moved
    for key in moved:
        renamed = key.replace("/datasets/Builtin.BoolQ/", "/datasets/BoolQ/")
        results.copy_object(Bucket=BUCKET, Key=renamed, CopySource={"Bucket": BUCKET, "Key": key})
        results.delete_object(Bucket=BUCKET, Key=key)

    data = gate(job_arn, [{"metricName": "Builtin.Accuracy", "atLeast": "0.7"}])["Data"]

    assert float(data["Scores.Builtin.BoolQ.Builtin.Accuracy"]) == pytest.approx(0.8)


def test_results_of_two_runs_since_the_job_was_created_fail_the_gate(bedrock, results, events):
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": 0.9})
    moved = moved_to_run(results, job_arn, "first-uuid")
    for key in moved:
        results.copy_object(
            Bucket=BUCKET, Key=key.replace("/first-uuid/", "/second-uuid/"), CopySource={"Bucket": BUCKET, "Key": key}
        )
    with pytest.raises(EvaluationUnsuccessful, match=r"result files of 2 runs .* \(first-uuid, second-uuid\) were"):
        gate(job_arn, [{"metricName": "Builtin.Accuracy", "atLeast": "0.5"}])


def test_only_an_earlier_runs_results_fail_the_gate_as_none(bedrock, results, events):
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": 0.9})
    for key in moved_to_run(results, job_arn, "earlier-uuid"):
        written_before_the_job(key)
    with pytest.raises(EvaluationUnsuccessful, match=r"no result file \(\*_output.jsonl\) is under"):
        gate(job_arn, [{"metricName": "Builtin.Accuracy", "atLeast": "0.5"}])


def test_a_requirement_on_a_metric_the_job_does_not_compute_fails_the_gate(bedrock, results, events):
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": 1.0})
    with pytest.raises(EvaluationGateFailed, match=r"Builtin.Toxicity on any dataset: no score"):
        gate(job_arn, [{"metricName": "Builtin.Toxicity", "atMost": "0.1"}])


def test_a_gate_update_checks_the_same_scores_again_and_its_delete_deletes_nothing(bedrock, results, events):
    job_arn = completed(bedrock, events, {"Builtin.Accuracy": 0.9})
    gate_events = CloudFormationEvents(resource_type=GATE)
    old = {"ServiceToken": SERVICE_TOKEN, "jobIdentifier": job_arn, "requirements": []}
    stricter = copy.deepcopy(old) | {"requirements": [{"metricName": "Builtin.Accuracy", "atLeast": "0.95"}]}
    with pytest.raises(EvaluationGateFailed):
        index.on_event(gate_events.update(job_arn, stricter, old, "Gate"))
    assert index.on_event(gate_events.update(job_arn, old, stricter, "Gate"))["PhysicalResourceId"] == job_arn
    assert index.on_event(gate_events.delete(job_arn, old, "Gate")) == {"PhysicalResourceId": job_arn}
    assert [job["status"] for job in bedrock.evaluation_jobs()] == ["Completed"]
    assert len(bedrock.evaluation_jobs()) == 1


@pytest.mark.parametrize("status", ["UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS"], ids=["rollback", "forward"])
def test_a_rollback_back_to_a_job_whose_results_are_gone_does_not_get_stuck(
    bedrock, results, events, monkeypatch, status
):
    """The update to a second job failed at the gate; the rollback's Update back to the first job finds its results
    gone (a lifecycle rule on the results bucket): that job passed this check when it was deployed, so the gate
    returns to it without reading its scores again. A forward update finding no results still fails (control)."""
    passed = completed(bedrock, events, {"Builtin.Accuracy": 0.9})
    failed = completed(bedrock, events, {"Builtin.Accuracy": 0.1}, model=BASELINE)
    gate_events = CloudFormationEvents(resource_type=GATE)
    requirements = [{"metricName": "Builtin.Accuracy", "atLeast": "0.7"}]
    old = {"ServiceToken": SERVICE_TOKEN, "jobIdentifier": passed, "requirements": requirements}
    new = old | {"jobIdentifier": failed}
    for item in results.list_objects_v2(Bucket=BUCKET)["Contents"]:
        results.delete_object(Bucket=BUCKET, Key=item["Key"])
    monkeypatch.setattr(index, "stack_status", lambda stack_id: status)
    back = gate_events.update(failed, old, new, "Gate")

    if status == "UPDATE_IN_PROGRESS":
        with pytest.raises(EvaluationUnsuccessful, match="no result file"):
            index.on_event(back)
        return
    assert index.on_event(back) == {"PhysicalResourceId": passed, "Data": {"jobArn": passed, "passed": "true"}}


# --- the wait ---------------------------------------------------------------------------------------------------


def test_the_check_signals_a_completed_evaluation_and_a_failed_one_with_bedrocks_message(
    bedrock, results, stack: Stack, signal_server, notify
):
    jobs = {}
    for logical_id in ("Passing", "Failing"):
        event = CloudFormationEvents(resource_type=JOB).create(job_properties(waitUntil="Accepted"), logical_id)
        jobs[logical_id] = index.on_event(event)["PhysicalResourceId"]
        assert stack.add_job(logical_id, jobs[logical_id], resource_type=JOB) is not None
    stack.expect_listing()
    assert notify(BACKSTOP) == {"signalled": []}

    bedrock.set_evaluation_job_status(jobs["Passing"], "Completed")
    bedrock.set_evaluation_job_status(jobs["Failing"], "Failed", failure_message="Prompt 7 is too long")
    stack.expect_listing()
    assert sorted(notify(BACKSTOP)["signalled"]) == sorted(jobs.values())
    (passed,) = signal_server.signals_to(stack.waits["Passing"].handle_url)
    (failed,) = signal_server.signals_to(stack.waits["Failing"].handle_url)
    assert (passed["Status"], passed["Data"]) == ("SUCCESS", "")
    assert passed["UniqueId"] == jobs["Passing"].rsplit("/", 1)[-1]
    assert failed["Status"] == "FAILURE"
    assert failed["Reason"].startswith("Model evaluation job my-stack-failing-")
    assert failed["Reason"].endswith("Failed: Prompt 7 is too long")


def test_a_wait_for_an_evaluation_whose_record_was_deleted_succeeds_and_leaves_the_gate_to_decide(
    bedrock, results, stack: Stack, signal_server, notify
):
    """BatchDeleteEvaluationJob deletes an ended job's record and keeps its results. A wait made for it later (its
    timeout changed: a new wait condition) must not fail the deployment for that; the gate, which reads the job,
    fails it where the record matters."""
    gone = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/a1b2c3d4e5f6"
    assert stack.add_job("Evaluation", gone, resource_type=JOB) is not None
    stack.expect_listing()

    assert notify(BACKSTOP) == {"signalled": [gone]}

    (signal,) = signal_server.signals_to(stack.waits["Evaluation"].handle_url)
    assert signal["Status"] == "SUCCESS"
    assert signal["Reason"] == (
        f"Model evaluation job {gone} is not found: its record was deleted once it had ended; what reads it decides"
    )
    with pytest.raises(EvaluationUnsuccessful):
        gate(gone, [])
