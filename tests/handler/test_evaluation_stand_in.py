"""The stand-in's emulation of model evaluation (cdk_bedrock_customization.emulation): automated model evaluation jobs,
which moto does not implement, and the results they write to S3.

Each rule is checked through a real botocore client, as the handler will meet it, and every result file is read back
from moto's S3 with an S3 client and parsed here. Expected ARNs, keys, members and scores are written from the Bedrock
API reference (CreateEvaluationJob, GetEvaluationJob, StopEvaluationJob, ListEvaluationJobs, EvaluationJobArn) and the
user guide's "Review the results of a model evaluation job saved in Amazon S3", or from the stand-in's documented
choices (the model segment of the result keys, the default score 0.5), not computed by the stand-in.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from cdk_bedrock_customization.emulation.bedrock_stand_in import EVALUATION_JOB_ARN_PATTERN, BedrockStandIn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ACCOUNT, REGION, ROLE_ARN

# The API reference's EvaluationJobArn, for this account and Region.
JOB_ARN = re.compile(r"arn:aws:bedrock:us-east-1:123456789012:evaluation-job/([a-z0-9]{12})")
UNKNOWN_JOB_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/zzzzzzzzzzzz"  # well formed, never made
BUCKET = "eval-bucket"
DATASET_KEY = "datasets/qa.jsonl"
DATASET_URI = f"s3://{BUCKET}/{DATASET_KEY}"
OUTPUT_URI = f"s3://{BUCKET}/results/"
MODEL = "amazon.nova-micro-v1:0"
MODEL_SEGMENT = "amazon.nova-micro-v1-0"  # the stand-in's documented spelling: ":" and "/" made "-"
JUDGE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0123abcd-0123-abcd-0123-0123456789ab"
DATASET_LINES = [
    {"prompt": "Aurillac is the capital of", "category": "Capitals", "referenceResponse": "Cantal"},
    {"prompt": "Paris is the capital of", "referenceResponse": "France", "ignored": "not an input member"},
    {"prompt": "Say hello"},
]
# A result file's key under the output prefix: <job name>/<job id>/models/<model>/taskTypes/<task>/datasets/<dataset>/
RESULT_KEY = re.compile(
    r"results/(?P<job>[a-z0-9-]+)/(?P<id>[a-z0-9]{12})/models/(?P<model>[^/]+)/taskTypes/(?P<task>[A-Za-z]+)"
    r"/datasets/(?P<dataset>[0-9a-zA-Z._-]+)/[0-9a-f-]{36}_output\.jsonl"
)


@pytest.fixture
def s3(bedrock: BedrockStandIn) -> Any:
    """moto's S3 (the bedrock fixture's mock), with the bucket and the custom dataset of DATASET_LINES."""
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    put_dataset(client, DATASET_KEY, DATASET_LINES)
    return client


@pytest.fixture
def client(bedrock: BedrockStandIn, s3: Any) -> Any:
    return bedrock.client()


def put_dataset(s3: Any, key: str, lines: list[Any]) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body="".join(json.dumps(line) + "\n" for line in lines).encode())
    return f"s3://{BUCKET}/{key}"


def dataset_config(
    metrics: list[str] | None = None, name: str = "qa", uri: str | None = DATASET_URI, task: str = "QuestionAndAnswer"
) -> dict[str, Any]:
    dataset: dict[str, Any] = {"name": name}
    if uri is not None:
        dataset["datasetLocation"] = {"s3Uri": uri}
    return {"taskType": task, "dataset": dataset, "metricNames": metrics or ["Builtin.Accuracy", "Builtin.Robustness"]}


def job_request(name: str = "eval-one", model: str = MODEL, **overrides: Any) -> dict[str, Any]:
    """An automated job of one model and one custom dataset, as the API reference's CreateEvaluationJob takes it."""
    request = {
        "jobName": name,
        "roleArn": ROLE_ARN,
        "evaluationConfig": {"automated": {"datasetMetricConfigs": [dataset_config()]}},
        "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": model}}]},
        "outputDataConfig": {"s3Uri": OUTPUT_URI},
    }
    return request | overrides


def judged(metrics: list[str], datasets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An evaluationConfig of a model-as-judge job."""
    return {
        "automated": {
            "datasetMetricConfigs": datasets or [dataset_config(metrics)],
            "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": JUDGE}]},
        }
    }


def start(client: Any, name: str = "eval-one", **overrides: Any) -> str:
    arn: str = client.create_evaluation_job(**job_request(name, **overrides))["jobArn"]
    return arn


def keys(s3: Any, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def result_files(s3: Any, job_name: str) -> dict[str, list[dict[str, Any]]]:
    """A job's result files (the keys ending _output.jsonl under results/<job name>/), each parsed line by line."""
    files = {}
    for key in keys(s3, f"results/{job_name}/"):
        if key.endswith("_output.jsonl"):
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
            files[key] = [json.loads(line) for line in body.splitlines()]
    return files


def only_file(s3: Any, job_name: str) -> tuple[str, list[dict[str, Any]]]:
    ((key, records),) = result_files(s3, job_name).items()
    return key, records


def results_of(records: list[dict[str, Any]], metric_name: str) -> list[float | None]:
    """The results of metric_name (as written) in each record, in order."""
    return [
        score["result"]
        for record in records
        for score in record["automatedEvaluationResult"]["scores"]
        if score["metricName"] == metric_name
    ]


def job_id(arn: str) -> str:
    found = JOB_ARN.fullmatch(arn)
    assert found is not None, arn
    return found.group(1)


# --- creating and reading a job ---------------------------------------------------------------------------------


def test_a_job_is_created_in_progress_and_described_as_get_evaluation_job_says(bedrock, client, s3):
    request = job_request(
        jobDescription="Nova Micro on our questions",
        customerEncryptionKeyId=KEY_ARN,
        jobTags=[{"key": "team", "value": "ml"}],
    )
    response = client.create_evaluation_job(**request)
    job_arn = response["jobArn"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert set(response) == {"jobArn", "ResponseMetadata"}
    assert JOB_ARN.fullmatch(job_arn)
    assert EVALUATION_JOB_ARN_PATTERN.fullmatch(job_arn)
    job = client.get_evaluation_job(jobIdentifier=job_arn)
    assert isinstance(job["creationTime"], datetime)
    assert job["lastModifiedTime"] == job["creationTime"]
    assert {name: value for name, value in job.items() if name not in ("ResponseMetadata", "creationTime")} == {
        "jobName": "eval-one",
        "status": "InProgress",
        "jobArn": job_arn,
        "jobDescription": "Nova Micro on our questions",
        "roleArn": ROLE_ARN,
        "customerEncryptionKeyId": KEY_ARN,
        "jobType": "Automated",
        "applicationType": "ModelEvaluation",
        "evaluationConfig": request["evaluationConfig"],
        "inferenceConfig": request["inferenceConfig"],
        "outputDataConfig": request["outputDataConfig"],
        "lastModifiedTime": job["creationTime"],
    }
    (described,) = bedrock.evaluation_jobs()
    assert (described["jobArn"], described["status"], described["jobName"]) == (job_arn, "InProgress", "eval-one")
    assert bedrock.evaluation_jobs("us-west-2") == []


def test_each_job_gets_its_own_arn_and_optional_members_are_left_out(client):
    first, second = start(client, "eval-one"), start(client, "eval-two")
    assert first != second
    job = client.get_evaluation_job(jobIdentifier=first)
    for absent in ("jobDescription", "customerEncryptionKeyId", "failureMessages"):
        assert absent not in job


@pytest.mark.parametrize(
    ("output_uri", "sentinel"),
    [
        ("s3://eval-bucket/results/", "results/eval-one/amazon-bedrock-evaluations-permission-check"),
        ("s3://eval-bucket/results", "results/eval-one/amazon-bedrock-evaluations-permission-check"),
        ("s3://eval-bucket/a/b/", "a/b/eval-one/amazon-bedrock-evaluations-permission-check"),
        ("s3://eval-bucket", "eval-one/amazon-bedrock-evaluations-permission-check"),
        ("s3://eval-bucket/", "eval-one/amazon-bedrock-evaluations-permission-check"),
    ],
)
def test_a_new_job_writes_an_empty_permission_check_object(client, s3, output_uri, sentinel):
    start(client, outputDataConfig={"s3Uri": output_uri})
    assert keys(s3) == sorted([DATASET_KEY, sentinel])
    assert s3.get_object(Bucket=BUCKET, Key=sentinel)["Body"].read() == b""


def test_a_job_is_read_by_its_arn_only(bedrock, client):
    job_arn = start(client)
    with pytest.raises(client.exceptions.ValidationException, match="at 'jobIdentifier'"):
        client.get_evaluation_job(jobIdentifier="eval-one")
    with pytest.raises(
        client.exceptions.ResourceNotFoundException, match=f"Evaluation job {UNKNOWN_JOB_ARN} not found"
    ):
        client.get_evaluation_job(jobIdentifier=UNKNOWN_JOB_ARN)
    west = bedrock.client(region="us-west-2")
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.get_evaluation_job(jobIdentifier=job_arn)  # a job is in its own Region only


def test_a_taken_job_name_is_a_conflict(bedrock, client):
    job_arn = start(client, "eval-one")
    bedrock.set_evaluation_job_status(job_arn, "Completed")  # a finished job holds its name all the same
    with pytest.raises(client.exceptions.ConflictException, match="An evaluation job named eval-one already exists"):
        start(client, "eval-one")
    assert len(bedrock.evaluation_jobs()) == 1
    west_arn = start(bedrock.client(region="us-west-2"), "eval-one")  # names are unique per Region
    assert re.fullmatch(r"arn:aws:bedrock:us-west-2:123456789012:evaluation-job/[a-z0-9]{12}", west_arn)
    assert [job["jobArn"] for job in bedrock.evaluation_jobs("us-west-2")] == [west_arn]


def test_a_repeated_client_request_token_returns_the_job_and_creates_nothing(bedrock, client, s3):
    first = start(client, "eval-one", clientRequestToken="token-1")
    assert start(client, "eval-one", clientRequestToken="token-1") == first
    assert start(client, "another-name", clientRequestToken="token-1") == first
    assert len(bedrock.evaluation_jobs()) == 1
    assert "results/another-name/amazon-bedrock-evaluations-permission-check" not in keys(s3)


def test_job_tags_tag_the_job_and_the_tag_operations_take_its_arn(bedrock, client):
    job_arn = start(client, jobTags=[{"key": "team", "value": "ml"}, {"key": "stage", "value": "dev"}])

    def tags() -> dict[str, str]:
        return {tag["key"]: tag["value"] for tag in client.list_tags_for_resource(resourceARN=job_arn)["tags"]}

    assert tags() == {"team": "ml", "stage": "dev"}
    client.tag_resource(resourceARN=job_arn, tags=[{"key": "owner", "value": "me"}])
    client.untag_resource(resourceARN=job_arn, tagKeys=["stage"])
    assert tags() == {"team": "ml", "owner": "me"}
    assert bedrock.tags(job_arn) == {"team": "ml", "owner": "me"}
    untagged = start(client, "eval-two")
    assert client.list_tags_for_resource(resourceARN=untagged)["tags"] == []


# --- what the stand-in does not emulate ----------------------------------------------------------------------------


def two_models() -> dict[str, Any]:
    return {"models": [{"bedrockModel": {"modelIdentifier": MODEL}}, {"bedrockModel": {"modelIdentifier": JUDGE}}]}


@pytest.mark.parametrize(
    ("override", "refusal"),
    [
        (
            {
                "evaluationConfig": {
                    "human": {
                        "datasetMetricConfigs": [dataset_config()],
                        "customMetrics": [{"name": "Friendliness", "ratingMethod": "ThumbsUpDown"}],
                    }
                }
            },
            "human-based model evaluation job (evaluationConfig.human)",
        ),
        ({"inferenceConfig": two_models()}, "only a single model is supported"),
        (
            {"inferenceConfig": {"models": [{"precomputedInferenceSource": {"inferenceSourceIdentifier": "my-app"}}]}},
            "precomputedInferenceSource",
        ),
        (
            {
                "inferenceConfig": {
                    "ragConfigs": [
                        {
                            "knowledgeBaseConfig": {
                                "retrieveConfig": {
                                    "knowledgeBaseId": "KB12345678",
                                    "knowledgeBaseRetrievalConfiguration": {
                                        "vectorSearchConfiguration": {"numberOfResults": 5}
                                    },
                                }
                            }
                        }
                    ]
                }
            },
            "inferenceConfig.ragConfigs",
        ),
        ({"applicationType": "RagEvaluation"}, "applicationType RagEvaluation"),
    ],
)
def test_what_the_stand_in_does_not_emulate_is_refused_by_name(bedrock, client, s3, override, refusal):
    with pytest.raises(client.exceptions.ValidationException, match=re.escape(refusal)):
        client.create_evaluation_job(**job_request(**override))
    assert bedrock.evaluation_jobs() == []
    assert keys(s3) == [DATASET_KEY]


def test_the_general_task_type_of_the_user_guides_judge_requests_is_accepted(bedrock, client):
    job = client.get_evaluation_job(jobIdentifier=start(client, **with_first_config({"taskType": "General"})))
    (config,) = job["evaluationConfig"]["automated"]["datasetMetricConfigs"]
    assert config["taskType"] == "General"


def test_an_explicit_model_evaluation_application_type_is_accepted(client):
    job = client.get_evaluation_job(jobIdentifier=start(client, applicationType="ModelEvaluation"))
    assert job["applicationType"] == "ModelEvaluation"


# --- the evaluated model ---------------------------------------------------------------------------------------------


def throughput(client: Any, bedrock: BedrockStandIn, status: str) -> str:
    arn: str = client.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName=f"pt-{status.lower()}", modelId=MODEL
    )["provisionedModelArn"]
    if status != "Creating":
        bedrock.set_throughput_status(arn, status)
    return arn


def import_job_model(client: Any, bedrock: BedrockStandIn) -> str:
    job_arn = client.create_model_import_job(
        jobName="import-job",
        importedModelName="imported-llama",
        roleArn=ROLE_ARN,
        modelDataSource={"s3DataSource": {"s3Uri": "s3://my-weights-bucket/llama/"}},
    )["jobArn"]
    bedrock.set_import_job_status(job_arn, "Completed")
    arn: str = client.get_model_import_job(jobIdentifier=job_arn)["importedModelArn"]
    return arn


@pytest.mark.parametrize(
    "model",
    [
        MODEL,
        f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL}",
        "us.amazon.nova-micro-v1:0",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.amazon.nova-micro-v1:0",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:application-inference-profile/abcdefabcdef",
    ],
)
def test_a_foundation_model_or_profile_is_taken_on_trust(client, model):
    job = client.get_evaluation_job(jobIdentifier=start(client, model=model))
    assert job["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"] == model


def test_an_in_service_provisioned_throughput_and_an_imported_model_can_be_evaluated(bedrock, client):
    for name, model in (
        ("eval-pt", throughput(client, bedrock, "InService")),
        ("eval-im", import_job_model(client, bedrock)),
    ):
        job = client.get_evaluation_job(jobIdentifier=start(client, name, model=model))
        assert job["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"] == model


@pytest.mark.parametrize("status", ["Creating", "Failed", "Updating"])
def test_a_provisioned_throughput_that_is_not_in_service_is_refused(bedrock, client, status):
    arn = throughput(client, bedrock, status)
    with pytest.raises(client.exceptions.ValidationException, match=f"is {status}, not InService"):
        start(client, model=arn)
    assert bedrock.evaluation_jobs() == []


@pytest.mark.parametrize(
    "model",
    [
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/zzzzzzzzzzzz",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:imported-model/zzzzzzzzzzzz",
        f"arn:aws:bedrock:us-west-2:{ACCOUNT}:provisioned-model/zzzzzzzzzzzz",
    ],
)
def test_an_unknown_provisioned_or_imported_model_is_not_found(bedrock, client, model):
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=re.escape(model)):
        start(client, model=model)
    assert bedrock.evaluation_jobs() == []


def test_a_throughput_of_another_region_is_not_found(bedrock, client):
    arn = throughput(bedrock.client(region="us-west-2"), bedrock, "InService")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        start(client, model=arn)


@pytest.mark.parametrize(
    "model",
    [
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.titan-text-express-v1:0:8k/abcdefabcdef",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/imported/abcdefabcdef",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/abcdefabcdef",
        "support-v1",
    ],
)
def test_a_custom_model_or_deployment_cannot_be_evaluated(bedrock, client, model):
    """The service model's EvaluationBedrockModelIdentifier admits neither (a provisioned throughput serves one)."""
    with pytest.raises(
        client.exceptions.ValidationException,
        match=re.escape("at 'inferenceConfig.models.1.member.bedrockModel.modelIdentifier'"),
    ):
        start(client, model=model)
    assert bedrock.evaluation_jobs() == []


# --- datasets and the output location ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        (f"s3://{BUCKET}/datasets/missing.jsonl", "there is no such object"),
        ("s3://no-such-bucket/datasets/qa.jsonl", "there is no such object"),
        (f"s3://{BUCKET}/datasets/", "there is no such object"),
        (f"s3://{BUCKET}", "there is no such object"),
    ],
)
def test_a_custom_dataset_must_be_an_object_in_s3(bedrock, client, s3, uri, problem):
    request = job_request(evaluationConfig={"automated": {"datasetMetricConfigs": [dataset_config(uri=uri)]}})
    with pytest.raises(
        client.exceptions.ValidationException, match=re.escape(f"The dataset {uri} is not usable: {problem}")
    ):
        client.create_evaluation_job(**request)
    assert bedrock.evaluation_jobs() == []
    assert keys(s3) == [DATASET_KEY]  # no permission check either


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"prompt": "one"}\nnot json\n', "line 2 is not a JSON object with a string prompt"),
        (b'{"referenceResponse": "no prompt"}\n', "line 1 is not a JSON object with a string prompt"),
        (b'{"prompt": 7}\n', "line 1 is not a JSON object with a string prompt"),
        (b'["prompt"]\n', "line 1 is not a JSON object with a string prompt"),
        (b"", "it holds 0 prompts; it must hold 1 to 1000"),
        (b'{"prompt": "p"}\n' * 1001, "it holds 1001 prompts; it must hold 1 to 1000"),
    ],
)
def test_a_custom_dataset_must_hold_json_lines_of_prompts(bedrock, client, s3, body, problem):
    s3.put_object(Bucket=BUCKET, Key="datasets/bad.jsonl", Body=body)
    uri = f"s3://{BUCKET}/datasets/bad.jsonl"
    request = job_request(evaluationConfig={"automated": {"datasetMetricConfigs": [dataset_config(uri=uri)]}})
    with pytest.raises(client.exceptions.ValidationException, match=re.escape(problem)):
        client.create_evaluation_job(**request)
    assert bedrock.evaluation_jobs() == []


def test_a_dataset_of_a_thousand_prompts_and_blank_lines_is_accepted(bedrock, client, s3):
    s3.put_object(Bucket=BUCKET, Key="datasets/big.jsonl", Body=b'{"prompt": "p"}\n\n' * 1000)
    uri = f"s3://{BUCKET}/datasets/big.jsonl"
    job_arn = start(client, evaluationConfig={"automated": {"datasetMetricConfigs": [dataset_config(uri=uri)]}})
    bedrock.set_evaluation_job_status(job_arn, "Completed")
    _, records = only_file(s3, "eval-one")
    assert len(records) == 1000


def test_a_dataset_without_a_location_must_be_built_in(bedrock, client):
    request = job_request(
        evaluationConfig={"automated": {"datasetMetricConfigs": [dataset_config(name="mine", uri=None)]}}
    )
    with pytest.raises(client.exceptions.ValidationException, match="Dataset mine has no datasetLocation"):
        client.create_evaluation_job(**request)
    assert bedrock.evaluation_jobs() == []


def test_the_output_bucket_must_exist(bedrock, client, s3):
    with pytest.raises(client.exceptions.ValidationException, match=re.escape("s3://no-such-bucket/out/")):
        start(client, outputDataConfig={"s3Uri": "s3://no-such-bucket/out/"})
    assert bedrock.evaluation_jobs() == []


def test_the_dataset_is_read_when_the_job_is_created(bedrock, client, s3):
    job_arn = start(client)
    put_dataset(s3, DATASET_KEY, [{"prompt": "changed meanwhile"}])
    bedrock.set_evaluation_job_status(job_arn, "Completed")
    _, records = only_file(s3, "eval-one")
    assert [record["inputRecord"]["prompt"] for record in records] == [line["prompt"] for line in DATASET_LINES]


# --- results -------------------------------------------------------------------------------------------------------


def test_a_completed_job_writes_one_record_per_prompt_where_the_user_guide_says(bedrock, client, s3):
    job_arn = start(client)
    before = client.get_evaluation_job(jobIdentifier=job_arn)["lastModifiedTime"]
    bedrock.set_evaluation_job_status(job_arn, "Completed")
    job = client.get_evaluation_job(jobIdentifier=job_arn)
    assert job["status"] == "Completed"
    assert job["lastModifiedTime"] >= before
    assert "failureMessages" not in job
    key, records = only_file(s3, "eval-one")
    found = RESULT_KEY.fullmatch(key)
    assert found is not None, key
    assert found.groupdict() == {
        "job": "eval-one",
        "id": job_id(job_arn),
        "model": MODEL_SEGMENT,
        "task": "QuestionAndAnswer",
        "dataset": "qa",
    }
    assert keys(s3, "results/") == sorted([key, "results/eval-one/amazon-bedrock-evaluations-permission-check"])
    assert records == [
        {
            "automatedEvaluationResult": {
                "scores": [{"metricName": "Accuracy", "result": 0.5}, {"metricName": "Robustness", "result": 0.5}]
            },
            "inputRecord": expected_input,
            "modelResponses": [{"modelIdentifier": MODEL, "response": records[index]["modelResponses"][0]["response"]}],
        }
        for index, expected_input in enumerate(
            [
                {"prompt": "Aurillac is the capital of", "category": "Capitals", "referenceResponse": "Cantal"},
                {"prompt": "Paris is the capital of", "referenceResponse": "France"},
                {"prompt": "Say hello"},
            ]
        )
    ]
    assert all(isinstance(record["modelResponses"][0]["response"], str) for record in records)


def test_the_model_segment_of_an_arn_has_no_slash_or_colon(bedrock, client, s3):
    model = throughput(client, bedrock, "InService")
    job_arn = start(client, model=model)
    bedrock.set_evaluation_job_status(job_arn, "Completed")
    key, records = only_file(s3, "eval-one")
    found = RESULT_KEY.fullmatch(key)
    assert found is not None
    provisioned_id = model.rsplit("/", 1)[1]
    assert found["model"] == f"arn-aws-bedrock-us-east-1-123456789012-provisioned-model-{provisioned_id}"
    assert {record["modelResponses"][0]["modelIdentifier"] for record in records} == {model}


def test_a_built_in_dataset_has_a_hundred_prompts(bedrock, client, s3):
    config = dataset_config(["Builtin.Accuracy"], name="Builtin.BoolQ", uri=None)
    job_arn = start(client, evaluationConfig={"automated": {"datasetMetricConfigs": [config]}})
    bedrock.set_evaluation_job_status(job_arn, "Completed")
    key, records = only_file(s3, "eval-one")
    found = RESULT_KEY.fullmatch(key)
    assert found is not None and found["dataset"] == "Builtin.BoolQ"
    assert len(records) == 100
    assert all(isinstance(record["inputRecord"]["prompt"], str) for record in records)
    assert len({record["inputRecord"]["prompt"] for record in records}) == 100
    assert results_of(records, "Accuracy") == [0.5] * 100


def test_each_dataset_config_has_its_own_file(bedrock, client, s3):
    other = put_dataset(s3, "datasets/summaries.jsonl", [{"prompt": "Summarize this"}] * 4)
    configs = [
        dataset_config(["Builtin.Accuracy"]),
        dataset_config(["Builtin.Toxicity"], name="summaries", uri=other, task="Summarization"),
        dataset_config(["Builtin.Robustness"], name="Builtin.Gigaword", uri=None, task="Summarization"),
    ]
    job_arn = start(client, evaluationConfig={"automated": {"datasetMetricConfigs": configs}})
    bedrock.set_evaluation_job_status(job_arn, "Completed", scores={"Builtin.Toxicity": 0.125})
    files = result_files(s3, "eval-one")
    layout = {}
    for key, records in files.items():
        found = RESULT_KEY.fullmatch(key)
        assert found is not None, key
        assert (found["job"], found["id"], found["model"]) == ("eval-one", job_id(job_arn), MODEL_SEGMENT)
        metric_names = {
            score["metricName"] for record in records for score in record["automatedEvaluationResult"]["scores"]
        }
        layout[(found["task"], found["dataset"])] = (len(records), metric_names)
    assert layout == {
        ("QuestionAndAnswer", "qa"): (3, {"Accuracy"}),
        ("Summarization", "summaries"): (4, {"Toxicity"}),
        ("Summarization", "Builtin.Gigaword"): (100, {"Robustness"}),
    }
    toxicity = next(records for key, records in files.items() if "/datasets/summaries/" in key)
    assert results_of(toxicity, "Toxicity") == [0.125] * 4


def test_a_judged_metric_keeps_its_name_and_names_its_evaluator(bedrock, client, s3):
    job_arn = start(client, evaluationConfig=judged(["Builtin.Correctness", "Builtin.Helpfulness"]))
    bedrock.set_evaluation_job_status(job_arn, "Completed", scores={"Builtin.Correctness": [1.0, None, 0.25]})
    _, records = only_file(s3, "eval-one")
    assert results_of(records, "Builtin.Correctness") == [1.0, None, 0.25]
    assert results_of(records, "Builtin.Helpfulness") == [0.5, 0.5, 0.5]  # not given: the default
    for record in records:
        for score in record["automatedEvaluationResult"]["scores"]:
            assert set(score) == {"metricName", "result", "evaluatorDetails"}
            ((detail),) = score["evaluatorDetails"]
            assert detail["modelIdentifier"] == JUDGE
            assert isinstance(detail["explanation"], str) and detail["explanation"]


def test_a_custom_metric_is_judged_by_its_own_evaluator(bedrock, client, s3):
    config = {
        "automated": {
            "datasetMetricConfigs": [dataset_config(["Builtin.Accuracy", "Politeness"])],
            "customMetricConfig": {
                "customMetrics": [{"customMetricDefinition": {"name": "Politeness", "instructions": "Is it polite?"}}],
                "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": "amazon.nova-pro-v1:0"}]},
            },
        }
    }
    job_arn = start(client, evaluationConfig=config)
    bedrock.set_evaluation_job_status(job_arn, "Completed", scores={"Politeness": 0.75, "Accuracy": 0.25})
    _, records = only_file(s3, "eval-one")
    scores = records[0]["automatedEvaluationResult"]["scores"]
    assert scores[0] == {"metricName": "Accuracy", "result": 0.25}  # automatic: no evaluator
    assert scores[1]["metricName"] == "Politeness"
    assert scores[1]["result"] == 0.75
    assert [detail["modelIdentifier"] for detail in scores[1]["evaluatorDetails"]] == ["amazon.nova-pro-v1:0"]
    (summary,) = client.list_evaluation_jobs()["jobSummaries"]
    assert summary["customMetricsEvaluatorModelIdentifiers"] == ["amazon.nova-pro-v1:0"]
    assert "evaluatorModelIdentifiers" not in summary


@pytest.mark.parametrize("key", ["Builtin.Accuracy", "Accuracy"])
def test_scores_name_a_metric_as_requested_or_without_its_prefix(bedrock, client, s3, key):
    job_arn = start(client)
    bedrock.set_evaluation_job_status(job_arn, "Completed", scores={key: 0.875})
    _, records = only_file(s3, "eval-one")
    assert results_of(records, "Accuracy") == [0.875] * 3
    assert results_of(records, "Robustness") == [0.5] * 3


def test_a_sequence_of_scores_is_cycled_and_nan_is_null(bedrock, client, s3):
    lines = [{"prompt": f"prompt {index}"} for index in range(7)]
    uri = put_dataset(s3, "datasets/seven.jsonl", lines)
    config = dataset_config(["Builtin.Accuracy"], name="seven", uri=uri)
    job_arn = start(client, evaluationConfig={"automated": {"datasetMetricConfigs": [config]}})
    bedrock.set_evaluation_job_status(job_arn, "Completed", scores={"Builtin.Accuracy": [0.1, float("nan"), 1]})
    _, records = only_file(s3, "eval-one")
    assert results_of(records, "Accuracy") == [0.1, None, 1.0, 0.1, None, 1.0, 0.1]


_examples = itertools.count()  # a job name of its own for each hypothesis example (they share the fixtures)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.one_of(st.none(), st.floats(min_value=0, max_value=1, allow_nan=False)), min_size=1, max_size=12
    ),
    prompts=st.integers(min_value=1, max_value=25),
)
def test_a_file_holds_the_given_sequence_cycled_over_its_records(bedrock, client, s3, values, prompts):
    number = next(_examples)
    name = f"eval-{number}"
    uri = put_dataset(s3, f"datasets/{name}.jsonl", [{"prompt": f"prompt {index}"} for index in range(prompts)])
    config = dataset_config(["Builtin.Correctness"], name="cycled", uri=uri)
    job_arn = start(client, name, evaluationConfig=judged([], [config]))
    bedrock.set_evaluation_job_status(job_arn, "Completed", scores={"Builtin.Correctness": values})
    _, records = only_file(s3, name)
    written = results_of(records, "Builtin.Correctness")
    # Independently: the values repeated over the records, in order.
    expected = [values[index % len(values)] for index in range(prompts)]
    assert written == expected
    applicable_written = [value for value in written if value is not None]
    applicable_expected = [value for value in expected if value is not None]
    assert len(applicable_written) == len(applicable_expected)
    if applicable_expected:
        assert math.isclose(
            sum(applicable_written) / len(applicable_written),
            sum(applicable_expected) / len(applicable_expected),
            abs_tol=1e-12,
        )


# --- scores the stand-in is given ----------------------------------------------------------------------------------


def test_stand_in_scores_apply_to_jobs_completed_without_their_own(bedrock, client, s3):
    provisioned = throughput(client, bedrock, "InService")
    bedrock.set_evaluation_scores({"Builtin.Accuracy": 0.25})
    bedrock.set_evaluation_scores({"Accuracy": [0.75, 1.0]}, model_identifier=provisioned)
    arns = {
        "eval-any": start(client, "eval-any"),
        "eval-pt": start(client, "eval-pt", model=provisioned),
        "eval-own": start(client, "eval-own", model=provisioned),
    }
    bedrock.set_evaluation_job_status(arns["eval-any"], "Completed")
    bedrock.set_evaluation_job_status(arns["eval-pt"], "Completed")
    bedrock.set_evaluation_job_status(arns["eval-own"], "Completed", scores={"Builtin.Robustness": 0.0})
    assert results_of(only_file(s3, "eval-any")[1], "Accuracy") == [0.25, 0.25, 0.25]
    assert results_of(only_file(s3, "eval-pt")[1], "Accuracy") == [0.75, 1.0, 0.75]
    assert results_of(only_file(s3, "eval-pt")[1], "Robustness") == [0.5, 0.5, 0.5]
    # A job's own scores replace the stand-in's entirely: Accuracy is the default.
    assert results_of(only_file(s3, "eval-own")[1], "Accuracy") == [0.5, 0.5, 0.5]
    assert results_of(only_file(s3, "eval-own")[1], "Robustness") == [0.0, 0.0, 0.0]


def test_stand_in_scores_can_be_forgotten_and_are_per_region(bedrock, client, s3):
    bedrock.set_evaluation_scores({"Builtin.Accuracy": 0.25})
    bedrock.set_evaluation_scores({"Builtin.Accuracy": 0.125}, region="us-west-2")
    bedrock.set_evaluation_scores(None)
    job_arn = start(client)
    bedrock.set_evaluation_job_status(job_arn, "Completed")
    assert results_of(only_file(s3, "eval-one")[1], "Accuracy") == [0.5, 0.5, 0.5]


def test_stand_in_scores_are_checked_and_copied(bedrock, client, s3):
    for bad in ({"Builtin.Accuracy": []}, {"Builtin.Accuracy": "high"}, {"Builtin.Accuracy": [0.5, "x"]}):
        with pytest.raises(ValueError, match=re.escape("Builtin.Accuracy")):
            bedrock.set_evaluation_scores(bad)
    with pytest.raises(ValueError, match="finite"):
        bedrock.set_evaluation_scores({"Builtin.Accuracy": float("inf")})
    given_scores = {"Builtin.Accuracy": [0.25]}
    bedrock.set_evaluation_scores(given_scores)
    given_scores["Builtin.Accuracy"].append(1.0)  # changing the caller's list afterwards changes nothing
    job_arn = start(client)
    bedrock.set_evaluation_job_status(job_arn, "Completed")
    assert results_of(only_file(s3, "eval-one")[1], "Accuracy") == [0.25, 0.25, 0.25]


# --- a job moves on ------------------------------------------------------------------------------------------------


def test_a_failed_job_has_failure_messages_and_writes_no_results(bedrock, client, s3):
    first, second = start(client, "eval-one"), start(client, "eval-two")
    bedrock.set_evaluation_job_status(first, "Failed", failure_message="The model could not be invoked")
    bedrock.set_evaluation_job_status(second, "Failed")
    assert client.get_evaluation_job(jobIdentifier=first)["failureMessages"] == ["The model could not be invoked"]
    job = client.get_evaluation_job(jobIdentifier=second)
    assert (job["status"], job["failureMessages"]) == ("Failed", ["Internal failure"])
    assert result_files(s3, "eval-one") == {}
    assert result_files(s3, "eval-two") == {}


def test_a_stopped_job_goes_through_stopping_and_writes_no_results(bedrock, client, s3):
    job_arn = start(client)
    response = client.stop_evaluation_job(jobIdentifier=job_arn)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert client.get_evaluation_job(jobIdentifier=job_arn)["status"] == "Stopping"
    with pytest.raises(client.exceptions.ConflictException, match="is Stopping; only an InProgress job can be stopped"):
        client.stop_evaluation_job(jobIdentifier=job_arn)
    with pytest.raises(ValueError, match="Stopping"):
        bedrock.set_evaluation_job_status(job_arn, "Completed")
    bedrock.set_evaluation_job_status(job_arn, "Stopped")
    job = client.get_evaluation_job(jobIdentifier=job_arn)
    assert job["status"] == "Stopped"
    assert "failureMessages" not in job
    assert result_files(s3, "eval-one") == {}
    assert job["jobArn"] == job_arn  # the job stays: a stop is no delete


@pytest.mark.parametrize("status", ["Completed", "Failed"])
def test_only_a_running_job_can_be_stopped(bedrock, client, status):
    job_arn = start(client)
    bedrock.set_evaluation_job_status(job_arn, status)
    with pytest.raises(client.exceptions.ConflictException, match=f"is {status}"):
        client.stop_evaluation_job(jobIdentifier=job_arn)
    assert client.get_evaluation_job(jobIdentifier=job_arn)["status"] == status


def test_stopping_an_unknown_job_or_a_name_is_refused(client):
    start(client)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.stop_evaluation_job(jobIdentifier=UNKNOWN_JOB_ARN)
    with pytest.raises(client.exceptions.ValidationException, match="at 'jobIdentifier'"):
        client.stop_evaluation_job(jobIdentifier="eval-one")


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (None, "Stopped"),  # only a Stopping job stops
        (None, "Stopping"),  # StopEvaluationJob's move, not a driver's
        (None, "Deleting"),
        (None, "InProgress"),
        ("Completed", "Failed"),
        ("Failed", "Completed"),
    ],
)
def test_only_the_documented_moves_are_made(bedrock, client, first, then):
    job_arn = start(client)
    if first:
        bedrock.set_evaluation_job_status(job_arn, first)
    with pytest.raises(ValueError):
        bedrock.set_evaluation_job_status(job_arn, then)
    assert client.get_evaluation_job(jobIdentifier=job_arn)["status"] == (first or "InProgress")


def test_a_driver_refuses_what_it_cannot_do(bedrock, client, s3):
    job_arn = start(client)
    with pytest.raises(ValueError, match="not an evaluation job status"):
        bedrock.set_evaluation_job_status(job_arn, "Done")
    with pytest.raises(ValueError, match="requests no metric"):
        bedrock.set_evaluation_job_status(job_arn, "Completed", scores={"Builtin.Correctness": 1.0})
    with pytest.raises(ValueError, match="only for a job that completes"):
        bedrock.set_evaluation_job_status(job_arn, "Failed", scores={"Builtin.Accuracy": 1.0})
    assert client.get_evaluation_job(jobIdentifier=job_arn)["status"] == "InProgress"
    assert result_files(s3, "eval-one") == {}


# --- the list ------------------------------------------------------------------------------------------------------


def test_the_list_summarizes_jobs_as_evaluation_summary_says(bedrock, client):
    plain = start(client, "eval-plain")
    config = judged(["Builtin.Correctness"], [dataset_config(["Builtin.Correctness"], task="Generation")])
    config["automated"]["datasetMetricConfigs"].append(
        dataset_config(["Builtin.Coherence"], name="other", task="Generation")
    )
    judge_job = start(client, "eval-judge", evaluationConfig=config)
    summaries = {summary["jobName"]: summary for summary in client.list_evaluation_jobs()["jobSummaries"]}
    for summary in summaries.values():
        assert isinstance(summary.pop("creationTime"), datetime)
    assert summaries == {
        "eval-plain": {
            "jobArn": plain,
            "jobName": "eval-plain",
            "status": "InProgress",
            "jobType": "Automated",
            "evaluationTaskTypes": ["QuestionAndAnswer"],
            "inferenceConfigSummary": {"modelConfigSummary": {"bedrockModelIdentifiers": [MODEL]}},
            "applicationType": "ModelEvaluation",
        },
        "eval-judge": {
            "jobArn": judge_job,
            "jobName": "eval-judge",
            "status": "InProgress",
            "jobType": "Automated",
            "evaluationTaskTypes": ["Generation"],
            "evaluatorModelIdentifiers": [JUDGE],
            "inferenceConfigSummary": {"modelConfigSummary": {"bedrockModelIdentifiers": [MODEL]}},
            "applicationType": "ModelEvaluation",
        },
    }


def test_jobs_are_listed_newest_first_and_filtered(bedrock, client):
    arns = [start(client, name) for name in ("alpha-eval", "beta-eval", "gamma")]
    bedrock.set_evaluation_job_status(arns[0], "Completed")
    bedrock.set_evaluation_job_status(arns[1], "Failed")

    def listed(**filters: Any) -> list[str]:
        return [summary["jobName"] for summary in client.list_evaluation_jobs(**filters)["jobSummaries"]]

    assert listed() == ["gamma", "beta-eval", "alpha-eval"]
    assert listed(sortBy="CreationTime", sortOrder="Ascending") == ["alpha-eval", "beta-eval", "gamma"]
    assert listed(sortOrder="Descending") == ["gamma", "beta-eval", "alpha-eval"]
    assert listed(statusEquals="InProgress") == ["gamma"]
    assert listed(statusEquals="Completed") == ["alpha-eval"]
    assert listed(statusEquals="Stopped") == []
    assert listed(nameContains="eval") == ["beta-eval", "alpha-eval"]
    assert listed(nameContains="eval", statusEquals="Failed") == ["beta-eval"]
    assert listed(nameContains="alpha-eval") == ["alpha-eval"]
    assert listed(applicationTypeEquals="ModelEvaluation") == ["gamma", "beta-eval", "alpha-eval"]
    assert listed(applicationTypeEquals="RagEvaluation") == []


def test_the_list_filters_by_creation_time(client):
    start(client)
    earlier, later = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1)
    assert len(client.list_evaluation_jobs(creationTimeAfter=earlier)["jobSummaries"]) == 1
    assert len(client.list_evaluation_jobs(creationTimeBefore=later)["jobSummaries"]) == 1
    assert client.list_evaluation_jobs(creationTimeAfter=later)["jobSummaries"] == []
    assert client.list_evaluation_jobs(creationTimeBefore=earlier)["jobSummaries"] == []


def test_the_list_is_paged(client):
    for index in range(5):
        start(client, f"eval-{index}")
    seen: list[str] = []
    request: dict[str, Any] = {"maxResults": 2, "sortOrder": "Ascending"}
    pages = 0
    while True:
        page = client.list_evaluation_jobs(**request)
        pages += 1
        seen += [summary["jobName"] for summary in page["jobSummaries"]]
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]
    assert pages == 3
    assert seen == ["eval-0", "eval-1", "eval-2", "eval-3", "eval-4"]
    with pytest.raises(client.exceptions.ValidationException, match="pagination token"):
        client.list_evaluation_jobs(nextToken="not-a-token")


# --- validation against the service model --------------------------------------------------------------------------


def with_first_config(change: dict[str, Any]) -> dict[str, Any]:
    config = dataset_config() | change
    return {"evaluationConfig": {"automated": {"datasetMetricConfigs": [config]}}}


@pytest.mark.parametrize(
    ("override", "member"),
    [
        ({"jobName": "Has-Capitals"}, "jobName"),
        ({"jobName": "x" * 64}, "jobName"),
        ({"jobName": "ends-with-"}, "jobName"),
        ({"roleArn": "not-a-role"}, "roleArn"),
        ({"clientRequestToken": "-token"}, "clientRequestToken"),
        ({"outputDataConfig": {"s3Uri": "s3://eval-bucket/has space/"}}, "outputDataConfig.s3Uri"),
        (
            with_first_config({"taskType": "Generl"}),
            "evaluationConfig.automated.datasetMetricConfigs.1.member.taskType",
        ),
        (
            with_first_config({"metricNames": []}),
            "evaluationConfig.automated.datasetMetricConfigs.1.member.metricNames",
        ),
        (
            {"evaluationConfig": {"automated": {"datasetMetricConfigs": [dataset_config()] * 6}}},
            "evaluationConfig.automated.datasetMetricConfigs",
        ),
        ({"evaluationConfig": {}}, "evaluationConfig"),
        ({"inferenceConfig": {"models": []}}, "inferenceConfig.models"),
        ({"jobTags": [{"key": f"k{index}", "value": "v"} for index in range(201)]}, "jobTags"),
        ({"applicationType": "Other"}, "applicationType"),
    ],
)
def test_a_request_that_breaks_the_service_model_is_refused(bedrock, s3, override, member):
    client = bedrock.client(parameter_validation=False)
    request = copy.deepcopy(job_request()) | override
    with pytest.raises(client.exceptions.ValidationException, match=re.escape(f"at '{member}")):
        client.create_evaluation_job(**request)
    assert bedrock.evaluation_jobs() == []


def test_an_evaluator_must_be_one_the_service_model_admits(bedrock, s3):
    client = bedrock.client(parameter_validation=False)
    config = judged(["Builtin.Correctness"])
    config["automated"]["evaluatorModelConfig"]["bedrockEvaluatorModels"][0]["modelIdentifier"] = (
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/abcdefabcdef"
    )
    with pytest.raises(client.exceptions.ValidationException, match="modelIdentifier"):
        client.create_evaluation_job(**job_request(evaluationConfig=config))
    assert bedrock.evaluation_jobs() == []


def test_list_requests_are_validated_too(bedrock):
    client = bedrock.client(parameter_validation=False)
    with pytest.raises(client.exceptions.ValidationException, match="statusEquals"):
        client.list_evaluation_jobs(statusEquals="Done")
    with pytest.raises(client.exceptions.ValidationException, match="nameContains"):
        client.list_evaluation_jobs(nameContains="Has Capitals")
    with pytest.raises(client.exceptions.ValidationException, match="maxResults"):
        client.list_evaluation_jobs(maxResults=1001)
