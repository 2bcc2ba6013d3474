"""The stand-in's emulation of model copy (cdk_bedrock_customization.emulation): model copy jobs, which moto does
not implement, and the custom models they make in another Region.

Each rule is checked through a real botocore client, as the handler will meet it: the source models are made in
us-east-1 (the stand-in's Region) and copied by a client of us-west-2, the target Region. Expected ARNs, names
and members are written from the Bedrock API reference (CreateModelCopyJob, GetModelCopyJob, ListModelCopyJobs,
CustomModelArn), not taken from the stand-in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn
from moto import mock_aws

from .conftest import active_model, completed_job

TARGET = "us-west-2"
# The API reference's ModelCopyJobArn and CustomModelArn, for this account and the target Region.
JOB_ARN = re.compile(r"arn:aws:bedrock:us-west-2:123456789012:model-copy-job/[a-z0-9]{12}")
TRAINED_COPY_ARN = re.compile(
    r"arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon\.titan-text-express-v1:0:8k/[a-z0-9]{12}"
)
IMPORTED_COPY_ARN = re.compile(r"arn:aws:bedrock:us-west-2:123456789012:custom-model/imported/[a-z0-9]{12}")
KEY_ID = "0123abcd-0123-abcd-0123-0123456789ab"
KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/0123abcd-0123-abcd-0123-0123456789ab"
TARGET_BASE_MODEL_ARN = "arn:aws:bedrock:us-west-2::foundation-model/amazon.titan-text-express-v1:0:8k"
UNKNOWN_JOB_ARN = "arn:aws:bedrock:us-west-2:123456789012:model-copy-job/zzzzzzzzzzzz"  # well formed, never made
UNKNOWN_SOURCE_ARN = (
    "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/zzzzzzzzzzzz"
)
FOUNDATION_MODEL_ARN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k"


@pytest.fixture
def west(bedrock: BedrockStandIn) -> Any:
    """A client of the target Region."""
    return bedrock.client(region=TARGET)


@pytest.fixture
def trained(bedrock: BedrockStandIn) -> str:
    """A trained custom model of us-east-1, named support-v1: its ARN."""
    return str(bedrock.job(completed_job(bedrock, "support-job", "support-v1"))["outputModelArn"])


def start_copy(client: Any, source: str, name: str = "support-copy", **extra: Any) -> str:
    arn: str = client.create_model_copy_job(sourceModelArn=source, targetModelName=name, **extra)["jobArn"]
    return arn


def copied(client: Any, bedrock: BedrockStandIn, source: str, name: str = "support-copy", **extra: Any) -> str:
    """A completed copy job's model: its ARN."""
    job_arn = start_copy(client, source, name, **extra)
    bedrock.set_copy_job_status(job_arn, "Completed")
    model_arn: str = client.get_model_copy_job(jobArn=job_arn)["targetModelArn"]
    return model_arn


def tags_of(client: Any, arn: str) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in client.list_tags_for_resource(resourceARN=arn)["tags"]}


# creating and reading a job


def test_a_copy_job_is_made_in_the_target_region_with_its_model_arn_known_at_once(bedrock, west, trained):
    response = west.create_model_copy_job(
        sourceModelArn=trained,
        targetModelName="support-copy",
        modelKmsKeyId=KEY_ID,
        targetModelTags=[{"key": "team", "value": "ml"}],
    )
    job_arn = response["jobArn"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert JOB_ARN.fullmatch(job_arn)
    job = west.get_model_copy_job(jobArn=job_arn)
    assert TRAINED_COPY_ARN.fullmatch(job["targetModelArn"])
    assert {name: value for name, value in job.items() if name not in ("ResponseMetadata", "creationTime")} == {
        "jobArn": job_arn,
        "status": "InProgress",
        "targetModelArn": job["targetModelArn"],
        "targetModelName": "support-copy",
        "sourceAccountId": "123456789012",
        "sourceModelArn": trained,
        "sourceModelName": "support-v1",
        "targetModelKmsKeyArn": KEY_ARN,
        "targetModelTags": [{"key": "team", "value": "ml"}],
    }
    assert [copy_job["jobArn"] for copy_job in bedrock.copy_jobs(TARGET)] == [job_arn]
    assert bedrock.copy_jobs() == []  # none in the source's Region
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.get_custom_model(modelIdentifier=job["targetModelArn"])  # not made yet
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.get_custom_model(modelIdentifier="support-copy")


def test_each_job_and_copy_gets_its_own_arn(bedrock, west, trained):
    first, second = start_copy(west, trained, "copy-one"), start_copy(west, trained, "copy-two")
    assert first != second
    targets = [west.get_model_copy_job(jobArn=arn)["targetModelArn"] for arn in (first, second)]
    assert targets[0] != targets[1]
    assert all(TRAINED_COPY_ARN.fullmatch(arn) for arn in targets)


def test_a_copy_of_a_create_custom_model_model_is_one_too(bedrock, west):
    source = active_model(bedrock, "imported-one")
    job = west.get_model_copy_job(jobArn=start_copy(west, source, "imported-copy"))
    assert IMPORTED_COPY_ARN.fullmatch(job["targetModelArn"])
    assert (job["sourceModelArn"], job["sourceModelName"], job["targetModelName"]) == (
        source,
        "imported-one",
        "imported-copy",
    )
    for absent in ("targetModelKmsKeyArn", "targetModelTags", "failureMessage"):
        assert absent not in job


def test_an_unknown_job_is_not_found(bedrock, west, trained):
    with pytest.raises(west.exceptions.ResourceNotFoundException, match=f"Model copy job {UNKNOWN_JOB_ARN} not found"):
        west.get_model_copy_job(jobArn=UNKNOWN_JOB_ARN)
    job_arn = start_copy(west, trained)
    east = bedrock.client()
    with pytest.raises(east.exceptions.ResourceNotFoundException):
        east.get_model_copy_job(jobArn=job_arn)  # a job is in its target Region only


# a job moves on


def test_a_completed_copy_is_a_custom_model_of_the_target_region(bedrock, west, trained):
    job_arn = start_copy(west, trained, modelKmsKeyId=KEY_ID, targetModelTags=[{"key": "team", "value": "ml"}])
    target_arn = west.get_model_copy_job(jobArn=job_arn)["targetModelArn"]
    bedrock.set_copy_job_status(job_arn, "Completed")
    job = west.get_model_copy_job(jobArn=job_arn)
    assert (job["status"], job["targetModelArn"]) == ("Completed", target_arn)
    for identifier in (target_arn, "support-copy"):
        model = west.get_custom_model(modelIdentifier=identifier)
        assert (model["modelArn"], model["modelName"], model["modelStatus"]) == (target_arn, "support-copy", "Active")
        assert (model["baseModelArn"], model["modelKmsKeyArn"]) == (TARGET_BASE_MODEL_ARN, KEY_ARN)
        assert model["hyperParameters"] == {"epochCount": "1"}  # the source's, as conftest trained it
    assert [summary["modelArn"] for summary in west.list_custom_models()["modelSummaries"]] == [target_arn]
    assert tags_of(west, target_arn) == {"team": "ml"}
    assert bedrock.tags(target_arn) == {"team": "ml"}
    west.tag_resource(resourceARN=target_arn, tags=[{"key": "owner", "value": "me"}, {"key": "tmp", "value": "1"}])
    west.untag_resource(resourceARN=target_arn, tagKeys=["tmp"])
    assert tags_of(west, target_arn) == {"team": "ml", "owner": "me"}
    assert bedrock.client().get_custom_model(modelIdentifier=trained)["modelName"] == "support-v1"  # source stays


def test_a_completed_copy_of_a_create_custom_model_model_is_active(bedrock, west):
    job_arn = start_copy(west, active_model(bedrock, "imported-one"), "imported-copy")
    bedrock.set_copy_job_status(job_arn, "Completed")
    target_arn = west.get_model_copy_job(jobArn=job_arn)["targetModelArn"]
    model = west.get_custom_model(modelIdentifier="imported-copy")
    assert (model["modelArn"], model["customizationType"], model["modelStatus"]) == (target_arn, "IMPORTED", "Active")


@pytest.mark.parametrize("sort", ["trained", "CreateCustomModel"])
def test_a_copied_model_serves_deployments_and_throughput_and_is_kept_while_it_does(bedrock, west, trained, sort):
    source = trained if sort == "trained" else active_model(bedrock, "imported-one")
    model_arn = copied(west, bedrock, source)
    deployment = west.create_custom_model_deployment(modelDeploymentName="deployment", modelArn=model_arn)
    described = west.get_custom_model_deployment(customModelDeploymentIdentifier=deployment["customModelDeploymentArn"])
    assert described["modelArn"] == model_arn
    west.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="provisioned", modelId=model_arn)
    throughput = west.get_provisioned_model_throughput(provisionedModelId="provisioned")
    assert throughput["modelArn"] == model_arn
    if sort == "trained":
        assert throughput["foundationModelArn"] == TARGET_BASE_MODEL_ARN
    with pytest.raises(west.exceptions.ConflictException, match="in use by custom model deployment deployment"):
        west.delete_custom_model(modelIdentifier=model_arn)
    assert west.get_custom_model(modelIdentifier=model_arn)["modelArn"] == model_arn


def test_a_failed_copy_has_a_failure_message_and_makes_no_model(bedrock, west, trained):
    job_arn = start_copy(west, trained)
    bedrock.set_copy_job_status(job_arn, "Failed", failure_message="The source model's key is not usable")
    job = west.get_model_copy_job(jobArn=job_arn)
    assert (job["status"], job["failureMessage"]) == ("Failed", "The source model's key is not usable")
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.get_custom_model(modelIdentifier="support-copy")
    assert west.list_custom_models()["modelSummaries"] == []
    again = start_copy(west, trained)  # the name is free again
    bedrock.set_copy_job_status(again, "Failed")
    assert west.get_model_copy_job(jobArn=again)["failureMessage"]  # always one


def test_only_a_running_job_moves_and_only_to_a_copy_job_status(bedrock, west, trained):
    job_arn = start_copy(west, trained)
    with pytest.raises(ValueError, match="Stopped"):
        bedrock.set_copy_job_status(job_arn, "Stopped")
    bedrock.set_copy_job_status(job_arn, "Completed")
    with pytest.raises(ValueError, match="Completed"):
        bedrock.set_copy_job_status(job_arn, "Failed")
    assert west.get_model_copy_job(jobArn=job_arn)["status"] == "Completed"


def test_a_copy_whose_name_was_taken_meanwhile_cannot_complete(bedrock, west, trained):
    """CreateCustomModel does not know of running copy jobs: a test that takes the name meanwhile must fail the job."""
    job_arn = start_copy(west, trained, "support-copy")
    west.create_custom_model(modelName="support-copy", modelSourceConfig={"s3DataSource": {"s3Uri": "s3://bucket/m/"}})
    with pytest.raises(ValueError, match="a custom model named support-copy exists now"):
        bedrock.set_copy_job_status(job_arn, "Completed")
    bedrock.set_copy_job_status(job_arn, "Failed")
    assert west.get_custom_model(modelIdentifier="support-copy")["customizationType"] == "IMPORTED"


def test_a_copied_model_can_be_copied_again(bedrock, west, trained):
    first = copied(west, bedrock, trained)
    ireland = bedrock.client(region="eu-west-1")
    job = ireland.get_model_copy_job(jobArn=start_copy(ireland, first, "support-copy"))
    assert (job["sourceModelArn"], job["sourceModelName"]) == (first, "support-copy")
    assert re.fullmatch(
        r"arn:aws:bedrock:eu-west-1:123456789012:custom-model/amazon\.titan-text-express-v1:0:8k/[a-z0-9]{12}",
        job["targetModelArn"],
    )
    bedrock.set_copy_job_status(job["jobArn"], "Completed")
    assert ireland.get_custom_model(modelIdentifier="support-copy")["modelArn"] == job["targetModelArn"]


# refusals


@pytest.mark.parametrize(
    "source", ["unknown", "another Region", "another account", "foundation model", "not Active", "deleted"]
)
def test_a_source_that_is_no_custom_model_there_is_not_found(bedrock, west, trained, source):
    arn = {
        "unknown": UNKNOWN_SOURCE_ARN,
        "another Region": trained.replace(":us-east-1:", ":eu-west-1:"),
        "another account": trained.replace(":123456789012:", ":111111111111:"),
        "foundation model": FOUNDATION_MODEL_ARN,
    }.get(source)
    if source == "not Active":
        arn = bedrock.client().create_custom_model(
            modelName="still-creating", modelSourceConfig={"s3DataSource": {"s3Uri": "s3://bucket/m/"}}
        )["modelArn"]
    elif source == "deleted":
        arn = trained
        bedrock.client().delete_custom_model(modelIdentifier=trained)
    with pytest.raises(west.exceptions.ResourceNotFoundException, match=re.escape(f"Custom model {arn}")):
        start_copy(west, arn)
    assert bedrock.copy_jobs(TARGET) == []


def train_in_target(bedrock: BedrockStandIn, name: str) -> None:
    """A trained custom model of the target Region, named name."""
    completed_job(bedrock, f"{name}-job", name, region=TARGET)


@pytest.mark.parametrize(
    ("holder", "refusal"),
    [
        ("trained model", "A custom model named taken already exists"),
        ("CreateCustomModel model", "A custom model named taken already exists"),
        ("copied model", "A custom model named taken already exists"),
        ("running copy job", "A custom model named taken is being copied by model copy job arn:aws:bedrock:us-west-2:"),
    ],
)
def test_a_taken_target_name_is_refused(bedrock, west, trained, holder, refusal):
    if holder == "trained model":
        train_in_target(bedrock, "taken")
    elif holder == "CreateCustomModel model":  # still Creating: it holds its name all the same
        west.create_custom_model(modelName="taken", modelSourceConfig={"s3DataSource": {"s3Uri": "s3://bucket/m/"}})
    elif holder == "copied model":
        copied(west, bedrock, trained, "taken")
    else:
        start_copy(west, trained, "taken")
    jobs_before = len(bedrock.copy_jobs(TARGET))
    with pytest.raises(west.exceptions.ValidationException, match=re.escape(refusal)):
        start_copy(west, trained, "taken", clientRequestToken="token-2")
    assert len(bedrock.copy_jobs(TARGET)) == jobs_before


def test_a_name_taken_only_in_the_source_region_is_free_in_the_target(bedrock, west, trained):
    job = west.get_model_copy_job(jobArn=start_copy(west, trained, "support-v1"))
    assert job["targetModelName"] == "support-v1"


def test_a_repeated_client_request_token_returns_the_job_and_creates_nothing(bedrock, west, trained):
    first = start_copy(west, trained, clientRequestToken="token-1")
    # The name is now taken by the running job: the token is answered before that.
    assert start_copy(west, trained, clientRequestToken="token-1") == first
    assert start_copy(west, trained, "other-name", clientRequestToken="token-1") == first
    assert len(bedrock.copy_jobs(TARGET)) == 1


def test_a_copy_job_cannot_be_tagged(bedrock, west, trained):
    job_arn = start_copy(west, trained, targetModelTags=[{"key": "team", "value": "ml"}])
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.tag_resource(resourceARN=job_arn, tags=[{"key": "owner", "value": "me"}])
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.list_tags_for_resource(resourceARN=job_arn)


# deleting the copied model


@pytest.mark.parametrize("by", ["name", "arn"])
def test_deleting_a_copied_model_takes_its_tags_and_frees_its_name(bedrock, west, trained, by):
    model_arn = copied(west, bedrock, trained, targetModelTags=[{"key": "stage", "value": "dev"}])
    job_arn = bedrock.copy_jobs(TARGET)[0]["jobArn"]
    response = west.delete_custom_model(modelIdentifier=model_arn if by == "arn" else "support-copy")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.get_custom_model(modelIdentifier=model_arn)
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.list_tags_for_resource(resourceARN=model_arn)
    assert west.get_model_copy_job(jobArn=job_arn)["targetModelArn"] == model_arn  # the job stays
    assert bedrock.client().get_custom_model(modelIdentifier=trained)["modelName"] == "support-v1"  # so does the source
    again = copied(west, bedrock, trained)
    assert again != model_arn


def test_deleting_a_copy_of_a_create_custom_model_model(bedrock, west):
    model_arn = copied(west, bedrock, active_model(bedrock, "imported-one"), "imported-copy")
    west.delete_custom_model(modelIdentifier="imported-copy")
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.get_custom_model(modelIdentifier=model_arn)


# the list


def test_jobs_are_listed_newest_first_and_filtered(bedrock, west, trained):
    imported = active_model(bedrock, "imported-one")
    arns = [start_copy(west, trained, "alpha-copy"), start_copy(west, imported, "beta-copy")]
    arns.append(start_copy(west, trained, "gamma"))
    bedrock.set_copy_job_status(arns[0], "Completed")
    bedrock.set_copy_job_status(arns[1], "Failed")

    def listed(**filters: Any) -> list[str]:
        return [job["targetModelName"] for job in west.list_model_copy_jobs(**filters)["modelCopyJobSummaries"]]

    assert listed() == ["gamma", "beta-copy", "alpha-copy"]
    assert listed(sortBy="CreationTime", sortOrder="Ascending") == ["alpha-copy", "beta-copy", "gamma"]
    assert listed(statusEquals="InProgress") == ["gamma"]
    assert listed(statusEquals="Completed") == ["alpha-copy"]
    assert listed(targetModelNameContains="copy") == ["beta-copy", "alpha-copy"]
    assert listed(targetModelNameContains="copy", statusEquals="Failed") == ["beta-copy"]
    assert listed(sourceModelArnEquals=trained) == ["gamma", "alpha-copy"]
    assert listed(sourceAccountEquals="123456789012") == ["gamma", "beta-copy", "alpha-copy"]
    assert listed(sourceAccountEquals="111111111111") == []
    (failed,) = west.list_model_copy_jobs(statusEquals="Failed")["modelCopyJobSummaries"]
    assert (failed["jobArn"], failed["sourceModelArn"], failed["sourceModelName"]) == (
        arns[1],
        imported,
        "imported-one",
    )
    assert IMPORTED_COPY_ARN.fullmatch(failed["targetModelArn"])
    assert {"status", "creationTime", "sourceAccountId", "failureMessage"} <= failed.keys()


def test_the_list_filters_by_creation_time(bedrock, west, trained):
    start_copy(west, trained)
    earlier, later = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1)
    member = "modelCopyJobSummaries"
    assert len(west.list_model_copy_jobs(creationTimeAfter=earlier)[member]) == 1
    assert len(west.list_model_copy_jobs(creationTimeBefore=later)[member]) == 1
    assert west.list_model_copy_jobs(creationTimeAfter=later)[member] == []
    assert west.list_model_copy_jobs(creationTimeBefore=earlier)[member] == []


@pytest.mark.parametrize(("count", "expected_pages"), [(5, 3), (4, 2)])
def test_the_list_is_paged(bedrock, west, trained, count, expected_pages):
    """A nextToken only while results remain: 4 results in pages of 2 end with the second page, no token on it."""
    for index in range(count):
        start_copy(west, trained, f"copy-{index}")
    seen: list[str] = []
    request: dict[str, Any] = {"maxResults": 2, "sortOrder": "Ascending"}
    pages = 0
    while True:
        page = west.list_model_copy_jobs(**request)
        pages += 1
        seen += [summary["targetModelName"] for summary in page["modelCopyJobSummaries"]]
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]
    assert pages == expected_pages
    assert seen == ["copy-0", "copy-1", "copy-2", "copy-3", "copy-4"][:count]
    with pytest.raises(west.exceptions.ValidationException, match="pagination token"):
        west.list_model_copy_jobs(nextToken="not-a-token")


# validation


@pytest.mark.parametrize(
    ("change", "member"),
    [
        ({"targetModelName": "has space"}, "targetModelName"),
        ({"targetModelName": "x" * 64}, "targetModelName"),
        ({"sourceModelArn": "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefabcdef"}, "sourceModelArn"),
        ({"modelKmsKeyId": "not a key"}, "modelKmsKeyId"),
        ({"clientRequestToken": "-token"}, "clientRequestToken"),
        ({"targetModelTags": [{"key": f"k{index}", "value": "v"} for index in range(201)]}, "targetModelTags"),
    ],
)
def test_a_request_that_breaks_the_service_model_is_refused(bedrock, trained, change, member):
    """CreateModelCopyJob lists no ValidationException, yet Bedrock answers it to any operation (a common error)."""
    client = bedrock.client(region=TARGET, parameter_validation=False)
    request = {"sourceModelArn": trained, "targetModelName": "support-copy"} | change
    with pytest.raises(client.exceptions.ValidationException, match=re.escape(f"at '{member}'")):
        client.create_model_copy_job(**request)
    assert bedrock.copy_jobs(TARGET) == []


def test_list_requests_are_validated_too(bedrock):
    client = bedrock.client(region=TARGET, parameter_validation=False)
    with pytest.raises(client.exceptions.ValidationException, match="statusEquals"):
        client.list_model_copy_jobs(statusEquals="Stopped")
    with pytest.raises(client.exceptions.ValidationException, match="targetModelNameContains"):
        client.list_model_copy_jobs(targetModelNameContains="has space")
    with pytest.raises(client.exceptions.ValidationException, match="jobArn"):
        client.get_model_copy_job(jobArn="not-a-job-arn")


def test_a_copy_jobs_arn_is_the_same_in_every_run_whatever_its_token(aws_environment, monkeypatch):
    """A copy job has no name, and the handler's token changes with each CloudFormation request (a rehearsal's
    RequestIds are new in each run): the job's ARN comes from the request's other members, so that a rehearsal's
    report is the same in every run."""
    jobs = []
    for run in ("first", "second"):
        with mock_aws():
            bedrock = BedrockStandIn(monkeypatch, region="us-east-1", account_id="123456789012")
            source = str(bedrock.job(completed_job(bedrock, "support-job", "support-v1"))["outputModelArn"])
            client = bedrock.client(region=TARGET)
            # As the handler sends them: the token and the origin tag change with the request.
            origin = [{"key": "cdk-bedrock-customization:origin", "value": f"request:{run}"}]
            made = start_copy(client, source, clientRequestToken=f"token-of-the-{run}-run", targetModelTags=origin)
            jobs.append((source, made))
    (first_source, first_job), (second_source, second_job) = jobs
    assert first_source == second_source  # the same request but its token
    assert first_job == second_job
