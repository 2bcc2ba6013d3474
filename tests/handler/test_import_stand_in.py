"""The stand-in's emulation of Custom Model Import (cdk_bedrock_customization.emulation): model import jobs and
the models they import, none of which moto implements.

Each rule is checked through a real botocore client, as the handler will meet it. Expected ARNs, names and
versions are written from the Bedrock API reference (CreateModelImportJob, GetModelImportJob, GetImportedModel,
CustomModelUnits), not taken from the stand-in.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from cdk_bedrock_customization.emulation.patches import patched
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from .conftest import ACCOUNT, REGION, ROLE_ARN, active_model, completed_job

# The API reference's patterns.
JOB_ARN = re.compile(r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-import-job/[a-z0-9]{12}")
MODEL_ARN = re.compile(r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:imported-model/[a-z0-9]{12}")
UNITS_VERSION = re.compile(r"v\d+.\d+")
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*")
MODEL_NAME = re.compile(r"([0-9a-zA-Z][_-]?)+")
TOKEN = re.compile(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?")

S3_SOURCE = {"s3DataSource": {"s3Uri": "s3://my-weights-bucket/llama-3-8b/"}}
KEY_ID = "0123abcd-0123-abcd-0123-0123456789ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
UNKNOWN_JOB_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-import-job/zzzzzzzzzzzz"  # well formed, never made
UNKNOWN_MODEL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:imported-model/zzzzzzzzzzzz"


@pytest.fixture
def client(bedrock: BedrockStandIn) -> Any:
    return bedrock.client()


def start_import(client: Any, job: str = "import-job", model: str = "imported-llama", **extra: Any) -> str:
    request = {"jobName": job, "importedModelName": model, "roleArn": ROLE_ARN, "modelDataSource": S3_SOURCE}
    arn: str = client.create_model_import_job(**(request | extra))["jobArn"]
    return arn


def imported(
    client: Any, bedrock: BedrockStandIn, job: str = "import-job", model: str = "imported-llama", **extra: Any
) -> str:
    """A completed import job's model: its ARN."""
    job_arn = start_import(client, job, model, **extra)
    bedrock.set_import_job_status(job_arn, "Completed")
    model_arn: str = client.get_model_import_job(jobIdentifier=job_arn)["importedModelArn"]
    return model_arn


def tags_of(client: Any, arn: str) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in client.list_tags_for_resource(resourceARN=arn)["tags"]}


# creating and reading a job


def test_a_new_job_is_in_progress_with_an_import_job_arn_and_no_model_yet(bedrock, client):
    response = client.create_model_import_job(
        jobName="import-job", importedModelName="imported-llama", roleArn=ROLE_ARN, modelDataSource=S3_SOURCE
    )
    job_arn = response["jobArn"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert JOB_ARN.fullmatch(job_arn)
    assert job_arn.startswith(f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-import-job/")
    for identifier in (job_arn, "import-job"):
        job = client.get_model_import_job(jobIdentifier=identifier)
        assert (job["jobArn"], job["jobName"], job["status"]) == (job_arn, "import-job", "InProgress")
        assert (job["importedModelName"], job["roleArn"], job["modelDataSource"]) == (
            "imported-llama",
            ROLE_ARN,
            S3_SOURCE,
        )
        assert job["creationTime"] == job["lastModifiedTime"]
        for absent in ("importedModelArn", "endTime", "failureMessage", "importedModelKmsKeyArn", "vpcConfig"):
            assert absent not in job
    assert [job["jobArn"] for job in bedrock.import_jobs()] == [job_arn]
    assert bedrock.import_job_models() == []
    assert client.list_imported_models()["modelSummaries"] == []


def test_each_job_gets_its_own_arn(bedrock, client):
    bedrock.limit_concurrent_import_jobs(2)
    first = start_import(client, "first", "model-one")
    second = start_import(client, "second", "model-two")
    assert first != second
    assert all(JOB_ARN.fullmatch(arn) for arn in (first, second))


def test_a_job_keeps_its_vpc_config_and_gives_its_key_as_an_arn(bedrock, client):
    vpc = {"subnetIds": ["subnet-0123456789abcdef0"], "securityGroupIds": ["sg-0123456789abcdef0"]}
    job_arn = start_import(client, vpcConfig=vpc, importedModelKmsKeyId=KEY_ID)
    job = client.get_model_import_job(jobIdentifier=job_arn)
    assert (job["vpcConfig"], job["importedModelKmsKeyArn"]) == (vpc, KEY_ARN)


def test_an_unknown_job_is_not_found(bedrock, client):
    for identifier in ("no-such-job", UNKNOWN_JOB_ARN):
        with pytest.raises(
            client.exceptions.ResourceNotFoundException, match=f"Model import job {identifier} not found"
        ):
            client.get_model_import_job(jobIdentifier=identifier)


# a job moves on


def test_a_completed_job_imports_its_model_with_its_tags_and_key(bedrock, client):
    job_arn = start_import(
        client,
        importedModelKmsKeyId=KEY_ARN,
        jobTags=[{"key": "team", "value": "ml"}],
        importedModelTags=[{"key": "stage", "value": "dev"}],
    )
    bedrock.set_import_job_status(job_arn, "Completed")
    job = client.get_model_import_job(jobIdentifier=job_arn)
    model_arn = job["importedModelArn"]
    assert job["status"] == "Completed"
    assert MODEL_ARN.fullmatch(model_arn)
    assert model_arn.startswith(f"arn:aws:bedrock:{REGION}:{ACCOUNT}:imported-model/")
    assert job["endTime"] == job["lastModifiedTime"] >= job["creationTime"]
    for identifier in (model_arn, "imported-llama"):
        model = client.get_imported_model(modelIdentifier=identifier)
        assert (model["modelArn"], model["modelName"], model["jobArn"], model["jobName"]) == (
            model_arn,
            "imported-llama",
            job_arn,
            "import-job",
        )
        assert (model["modelDataSource"], model["modelKmsKeyArn"]) == (S3_SOURCE, KEY_ARN)
        assert (model["modelArchitecture"], model["instructSupported"]) == ("llama3", True)
        assert model["customModelUnits"]["customModelUnitsPerModelCopy"] == 1
        assert UNITS_VERSION.fullmatch(model["customModelUnits"]["customModelUnitsVersion"])
    assert tags_of(client, job_arn) == {"team": "ml"}
    assert tags_of(client, model_arn) == {"stage": "dev"}
    assert [model["modelArn"] for model in bedrock.import_job_models()] == [model_arn]
    assert bedrock.imported_models() == []  # CreateCustomModel's are apart


def test_a_test_says_what_bedrock_finds_in_the_weights(bedrock, client):
    job_arn = start_import(client)
    bedrock.set_import_job_status(
        job_arn,
        "Completed",
        architecture="mistral",
        instruct_supported=False,
        model_units_per_copy=2,
        model_units_version="v2.0",
    )
    model = client.get_imported_model(modelIdentifier="imported-llama")
    assert (model["modelArchitecture"], model["instructSupported"]) == ("mistral", False)
    assert model["customModelUnits"] == {"customModelUnitsPerModelCopy": 2, "customModelUnitsVersion": "v2.0"}
    (summary,) = client.list_imported_models()["modelSummaries"]
    assert (summary["modelArchitecture"], summary["instructSupported"]) == ("mistral", False)


def test_a_failed_job_has_a_failure_message_and_no_model(bedrock, client):
    job_arn = start_import(client)
    bedrock.set_import_job_status("import-job", "Failed", failure_message="config.json is missing")
    job = client.get_model_import_job(jobIdentifier=job_arn)
    assert (job["status"], job["failureMessage"]) == ("Failed", "config.json is missing")
    assert "endTime" in job
    assert "importedModelArn" not in job
    assert bedrock.import_job_models() == []
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_imported_model(modelIdentifier="imported-llama")


def test_a_failed_job_always_has_a_failure_message(bedrock, client):
    job_arn = start_import(client)
    bedrock.set_import_job_status(job_arn, "Failed")
    assert client.get_model_import_job(jobIdentifier=job_arn)["failureMessage"]


def test_only_a_running_job_moves_and_only_to_a_job_status(bedrock, client):
    job_arn = start_import(client)
    with pytest.raises(ValueError, match="Stopped"):
        bedrock.set_import_job_status(job_arn, "Stopped")
    bedrock.set_import_job_status(job_arn, "Completed")
    with pytest.raises(ValueError, match="Completed"):
        bedrock.set_import_job_status(job_arn, "Failed")
    assert len(bedrock.import_job_models()) == 1


# refusals


def test_a_repeated_client_request_token_returns_the_job_and_creates_nothing(bedrock, client):
    first = start_import(client, clientRequestToken="token-1")
    # The quota is full (one job runs), and the names are taken: the token is answered before either.
    assert start_import(client, clientRequestToken="token-1") == first
    assert start_import(client, "other-job", "other-model", clientRequestToken="token-1") == first
    assert len(bedrock.import_jobs()) == 1


def test_a_taken_job_name_is_refused_even_after_the_job_ended(bedrock, client):
    job_arn = start_import(client)
    bedrock.set_import_job_status(job_arn, "Failed")
    with pytest.raises(client.exceptions.ValidationException, match="job name is currently in use"):
        start_import(client, model="another-model")
    assert len(bedrock.import_jobs()) == 1


@pytest.mark.parametrize("holder", ["imported model", "CreateCustomModel model", "trained model", "running job"])
def test_a_taken_model_name_is_a_conflict(bedrock, client, holder):
    bedrock.limit_concurrent_import_jobs(2)
    if holder == "imported model":
        imported(client, bedrock, "earlier-job", "taken")
    elif holder == "CreateCustomModel model":
        active_model(bedrock, "taken")
    elif holder == "trained model":
        completed_job(bedrock, "training-job", "taken")
    else:
        start_import(client, "earlier-job", "taken")
    jobs_before = len(bedrock.import_jobs())
    with pytest.raises(client.exceptions.ConflictException, match="model name taken is taken by"):
        start_import(client, "new-job", "taken", clientRequestToken="token-2")
    assert len(bedrock.import_jobs()) == jobs_before


def test_one_job_runs_at_a_time_unless_the_quota_is_raised(bedrock, client):
    first = start_import(client, "first", "model-one")
    with pytest.raises(
        client.exceptions.ServiceQuotaExceededException,
        match=re.escape("concurrent model import jobs (1) has reached the quota (1)"),
    ):
        start_import(client, "second", "model-two")
    assert len(bedrock.import_jobs()) == 1
    bedrock.set_import_job_status(first, "Completed")
    start_import(client, "second", "model-two")  # an ended job leaves room

    bedrock.limit_concurrent_import_jobs(2)
    start_import(client, "third", "model-three")
    with pytest.raises(client.exceptions.ServiceQuotaExceededException, match=re.escape("(2)")):
        start_import(client, "fourth", "model-four")


def test_a_job_with_too_many_tags_is_refused_before_anything_is_created(bedrock, client):
    tags = [{"key": f"k{index}", "value": "v"} for index in range(201)]
    for member in ("jobTags", "importedModelTags"):
        with pytest.raises(client.exceptions.ValidationException, match=member):
            start_import(client, **{member: tags})
    assert bedrock.import_jobs() == []


# imported models


def test_an_unknown_imported_model_is_not_found(bedrock, client):
    for identifier in ("no-such-model", UNKNOWN_MODEL_ARN):
        with pytest.raises(client.exceptions.ResourceNotFoundException, match=f"Imported model {identifier} not found"):
            client.get_imported_model(modelIdentifier=identifier)
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.delete_imported_model(modelIdentifier=identifier)


def test_a_create_custom_model_model_is_no_imported_model(bedrock, client):
    active_model(bedrock, "from-create-custom-model")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_imported_model(modelIdentifier="from-create-custom-model")


@pytest.mark.parametrize("by", ["name", "arn"])
def test_deleting_an_imported_model_takes_its_tags_and_frees_its_name(bedrock, client, by):
    model_arn = imported(client, bedrock, importedModelTags=[{"key": "stage", "value": "dev"}])
    job_arn = bedrock.import_jobs()[0]["jobArn"]
    response = client.delete_imported_model(modelIdentifier=model_arn if by == "arn" else "imported-llama")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert bedrock.import_job_models() == []
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_imported_model(modelIdentifier=model_arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(resourceARN=model_arn)
    assert client.get_model_import_job(jobIdentifier=job_arn)["importedModelArn"] == model_arn  # the job stays
    again = imported(client, bedrock, "import-job-2", "imported-llama")
    assert again != model_arn


def test_nothing_serves_an_imported_model_so_nothing_keeps_it(bedrock, client):
    """Deployments and provisioned throughput name custom models (custom-model ARNs): an imported model is none
    of them, so the stand-in has no use of one to refuse its delete for."""
    model_arn = imported(client, bedrock)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="pt", modelId="imported-llama")
    with pytest.raises(client.exceptions.ValidationException, match="modelArn"):
        client.create_custom_model_deployment(modelDeploymentName="deployment", modelArn=model_arn)
    client.delete_imported_model(modelIdentifier=model_arn)


def test_both_arns_take_tags(bedrock, client):
    model_arn = imported(client, bedrock)
    job_arn = bedrock.import_jobs()[0]["jobArn"]
    for arn in (job_arn, model_arn):
        client.tag_resource(resourceARN=arn, tags=[{"key": "owner", "value": "me"}, {"key": "tmp", "value": "1"}])
        client.untag_resource(resourceARN=arn, tagKeys=["tmp"])
        assert tags_of(client, arn) == {"owner": "me"}
        assert bedrock.tags(arn) == {"owner": "me"}


# lists


def test_jobs_are_listed_newest_first_and_filtered_by_status_and_name(bedrock, client):
    bedrock.limit_concurrent_import_jobs(3)
    arns = [start_import(client, name, f"model-{name}") for name in ("alpha-job", "beta-job", "gamma")]
    bedrock.set_import_job_status(arns[0], "Completed")
    bedrock.set_import_job_status(arns[1], "Failed")

    def listed(**filters: Any) -> list[str]:
        return [job["jobName"] for job in client.list_model_import_jobs(**filters)["modelImportJobSummaries"]]

    assert listed() == ["gamma", "beta-job", "alpha-job"]
    assert listed(sortBy="CreationTime", sortOrder="Ascending") == ["alpha-job", "beta-job", "gamma"]
    assert listed(statusEquals="InProgress") == ["gamma"]
    assert listed(statusEquals="Completed") == ["alpha-job"]
    assert listed(nameContains="job") == ["beta-job", "alpha-job"]
    assert listed(nameContains="job", statusEquals="Failed") == ["beta-job"]
    (completed,) = client.list_model_import_jobs(statusEquals="Completed")["modelImportJobSummaries"]
    assert completed["importedModelName"] == "model-alpha-job"
    assert MODEL_ARN.fullmatch(completed["importedModelArn"])
    assert {"jobArn", "jobName", "status", "creationTime", "lastModifiedTime", "endTime"} <= completed.keys()


def test_lists_filter_by_creation_time(bedrock, client):
    imported(client, bedrock)
    earlier, later = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1)
    for operation, member in (
        (client.list_imported_models, "modelSummaries"),
        (client.list_model_import_jobs, "modelImportJobSummaries"),
    ):
        assert len(operation(creationTimeAfter=earlier)[member]) == 1
        assert len(operation(creationTimeBefore=later)[member]) == 1
        assert operation(creationTimeAfter=later)[member] == []
        assert operation(creationTimeBefore=earlier)[member] == []


def test_lists_are_paged(bedrock, client):
    bedrock.limit_concurrent_import_jobs(5)
    for index in range(5):
        imported(client, bedrock, f"job-{index}", f"model-{index}")
    for operation, member, name in (
        (client.list_model_import_jobs, "modelImportJobSummaries", "jobName"),
        (client.list_imported_models, "modelSummaries", "modelName"),
    ):
        seen: list[str] = []
        request: dict[str, Any] = {"maxResults": 2, "sortOrder": "Ascending"}
        pages = 0
        while True:
            page = operation(**request)
            pages += 1
            seen += [summary[name] for summary in page[member]]
            if "nextToken" not in page:
                break
            request["nextToken"] = page["nextToken"]
        assert pages == 3
        assert seen == [f"{'job' if name == 'jobName' else 'model'}-{index}" for index in range(5)]
        with pytest.raises(client.exceptions.ValidationException, match="pagination token"):
            operation(nextToken="not-a-token")


def test_imported_models_are_filtered_by_name(bedrock, client):
    bedrock.limit_concurrent_import_jobs(2)
    imported(client, bedrock, "job-1", "llama-chat")
    imported(client, bedrock, "job-2", "mistral-chat")
    names = [m["modelName"] for m in client.list_imported_models(nameContains="llama")["modelSummaries"]]
    assert names == ["llama-chat"]


# validation


@pytest.mark.parametrize(
    ("change", "member"),
    [
        ({"jobName": "-starts-with-a-dash"}, "jobName"),
        ({"jobName": "x" * 64}, "jobName"),
        ({"importedModelName": "has space"}, "importedModelName"),
        ({"roleArn": "arn:aws:iam::123456789012:user/someone"}, "roleArn"),
        ({"modelDataSource": {"s3DataSource": {"s3Uri": "https://bucket/path"}}}, "modelDataSource.s3DataSource.s3Uri"),
        ({"modelDataSource": {}}, "modelDataSource"),
        ({"importedModelKmsKeyId": "not a key"}, "importedModelKmsKeyId"),
        ({"clientRequestToken": "-token"}, "clientRequestToken"),
    ],
)
def test_a_request_that_breaks_the_service_model_is_refused(bedrock, change, member):
    client = bedrock.client(parameter_validation=False)
    with pytest.raises(client.exceptions.ValidationException, match=re.escape(f"at '{member}'")):
        start_import(client, **change)
    assert bedrock.import_jobs() == []


@pytest.mark.parametrize("missing", ["jobName", "importedModelName", "roleArn", "modelDataSource"])
def test_a_request_without_a_required_member_is_refused(bedrock, missing):
    client = bedrock.client(parameter_validation=False)
    request = {"jobName": "job", "importedModelName": "model", "roleArn": ROLE_ARN, "modelDataSource": S3_SOURCE}
    del request[missing]
    with pytest.raises(client.exceptions.ValidationException, match=f"Value null at '{missing}'"):
        client.create_model_import_job(**request)


def test_list_requests_are_validated_too(bedrock):
    client = bedrock.client(parameter_validation=False)
    with pytest.raises(client.exceptions.ValidationException, match="statusEquals"):
        client.list_model_import_jobs(statusEquals="Stopped")
    with pytest.raises(client.exceptions.ValidationException, match="maxResults"):
        client.list_imported_models(maxResults=1001)
    with pytest.raises(client.exceptions.ValidationException, match="modelIdentifier"):
        client.get_imported_model(modelIdentifier="not/a-name")


@contextlib.contextmanager
def fresh_stand_in() -> Iterator[BedrockStandIn]:
    """A stand-in of its own, for one hypothesis example (the bedrock fixture would be shared by them all)."""
    with mock_aws(), patched() as patches:
        yield BedrockStandIn(patches, region=REGION, account_id=ACCOUNT)


MEMBER_RULES = {
    "jobName": (JOB_NAME, 1, 63),
    "importedModelName": (MODEL_NAME, 1, 63),
    "clientRequestToken": (TOKEN, 1, 256),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    member=st.sampled_from(sorted(MEMBER_RULES)),
    value=st.one_of(
        st.text(max_size=70),
        st.from_regex(r"[a-zA-Z0-9][-a-zA-Z0-9_+.]{0,70}", fullmatch=True),
        st.from_regex(MODEL_NAME, fullmatch=True),
    ),
)
def test_a_name_is_taken_exactly_when_the_service_model_allows_it(aws_environment, member, value):
    pattern, low, high = MEMBER_RULES[member]
    allowed = low <= len(value) <= high and pattern.fullmatch(value) is not None
    with fresh_stand_in() as bedrock:
        client = bedrock.client(parameter_validation=False)
        if allowed:
            assert JOB_ARN.fullmatch(start_import(client, **{member: value}))
            assert len(bedrock.import_jobs()) == 1
        else:
            with pytest.raises(client.exceptions.ValidationException, match=re.escape(f"at '{member}'")):
                start_import(client, **{member: value})
            assert bedrock.import_jobs() == []
