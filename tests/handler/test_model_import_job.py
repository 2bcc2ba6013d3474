"""Custom::BedrockImportedModel: open-weight weights imported by a model import job, through the handler's entry
points, against the Bedrock stand-in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from bedrock_custom_resource import contract, index, lifecycle
from bedrock_custom_resource.model_jobs import ModelJobFailed

from .conftest import ACCOUNT, REGION, ROLE_ARN, SERVICE_TOKEN, CloudFormationEvents
from .serving_helpers import create, poll

RESOURCE_TYPE = "Custom::BedrockImportedModel"
WEIGHTS = "s3://weights-bucket/llama-3-8b/"
# From the API reference's patterns (ModelImportJobArn, ImportedModelArn), not from the handler.
JOB_ARN = re.compile(rf"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-import-job/[a-z0-9]{{12}}")
MODEL_ARN = re.compile(rf"arn:aws:bedrock:{REGION}:{ACCOUNT}:imported-model/[a-z0-9]{{12}}")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def import_properties(**overrides: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "ServiceToken": SERVICE_TOKEN,
        "modelDataSource": {"s3DataSource": {"s3Uri": WEIGHTS}},
        "roleArn": ROLE_ARN,
        "jobTags": [{"key": "team", "value": "ml"}],
        "importedModelTags": [{"key": "use", "value": "support"}],
    }
    return properties | overrides


@pytest.fixture
def events() -> CloudFormationEvents:
    return CloudFormationEvents(resource_type=RESOURCE_TYPE)


def test_create_starts_an_import_under_generated_names_and_waits_for_it(bedrock, events):
    event, job_arn = create(events, import_properties())
    assert JOB_ARN.fullmatch(job_arn)
    (request,) = bedrock.calls_to("CreateModelImportJob")
    assert request["modelDataSource"] == {"s3DataSource": {"s3Uri": WEIGHTS}}
    assert request["jobName"].startswith("my-stack-Model-")
    assert request["importedModelName"].startswith("my-stack-Model-")
    assert re.fullmatch(r"[0-9a-f]{64}", request["clientRequestToken"])
    assert poll(event, job_arn) == {"IsComplete": False}

    bedrock.set_import_job_status(job_arn, "Completed", architecture="mistral", instruct_supported=False)
    result = poll(event, job_arn)
    assert result["IsComplete"] is True
    data = result["Data"]
    (model,) = bedrock.import_job_models()
    assert MODEL_ARN.fullmatch(data["importedModelArn"]) and data["importedModelArn"] == model["modelArn"]
    assert data["importedModelName"] == request["importedModelName"]
    assert data["jobArn"] == job_arn and data["jobName"] == request["jobName"] and data["status"] == "Completed"
    assert data["modelArchitecture"] == "mistral"
    assert data["instructSupported"] == "false"
    assert data["customModelUnitsPerModelCopy"] == "1"
    assert ISO_TIME.match(data["creationTime"]) and ISO_TIME.match(data["endTime"])
    assert set(data) <= set(contract.CONTRACTS[RESOURCE_TYPE].attributes.__annotations__)
    # Its own tags, and the configuration tag it is found by again; the model's tags on the model.
    assert bedrock.tags(job_arn)["team"] == "ml"
    assert lifecycle.FINGERPRINT_TAG in bedrock.all_tags(job_arn)
    assert bedrock.tags(model["modelArn"]) == {"use": "support"}


def test_a_failed_import_fails_the_create_with_bedrocks_message(bedrock, events):
    event, job_arn = create(events, import_properties())
    bedrock.set_import_job_status(job_arn, "Failed", "config.json names an unsupported architecture")
    with pytest.raises(ModelJobFailed, match=r"failed: config\.json names an unsupported architecture"):
        index.is_complete({**event, "PhysicalResourceId": job_arn})


def test_a_retried_create_adopts_the_job_it_started(bedrock, events):
    properties = import_properties()
    _, first = create(events, properties)
    _, again = create(events, properties)
    assert again == first
    assert len(bedrock.calls_to("CreateModelImportJob")) == 1


def test_a_second_import_beyond_the_quota_is_refused_with_what_to_do(bedrock, events):
    create(events, import_properties())
    with pytest.raises(lifecycle.QuotaFull) as refused:
        create(events, import_properties(modelDataSource={"s3DataSource": {"s3Uri": "s3://weights-bucket/qwen/"}}))
    assert "quota of concurrent model import jobs in us-east-1 is full" in str(refused.value)
    assert "Nothing was created" in str(refused.value)
    # A CDK stack's imports run one at a time already: no setting to lower. A plain template orders its own (the
    # second import here may be its own template's: CloudFormation creates resources in parallel without DependsOn).
    assert "max_concurrent_jobs" not in str(refused.value)
    assert "a plain CloudFormation template must order its own, with DependsOn" in str(refused.value)
    assert len(bedrock.import_jobs()) == 1


def test_a_given_model_name_held_by_another_model_is_refused_before_anything_is_created(bedrock, events):
    event, job_arn = create(events, import_properties(importedModelName="support-llama"))
    bedrock.set_import_job_status(job_arn, "Completed")
    poll(event, job_arn)
    other = CloudFormationEvents(stack_name="other-stack", resource_type=RESOURCE_TYPE)
    with pytest.raises(lifecycle.NameTaken, match="importedModelName: 'support-llama' is held by imported model"):
        create(other, import_properties(importedModelName="support-llama", jobTags=[{"key": "team", "value": "x"}]))
    assert len(bedrock.import_jobs()) == 1


def test_delete_deletes_the_imported_model_and_a_second_delete_succeeds(bedrock, events):
    event, job_arn = create(events, import_properties())
    bedrock.set_import_job_status(job_arn, "Completed")
    model_arn = poll(event, job_arn)["Data"]["importedModelArn"]
    delete = events.delete(job_arn, import_properties())
    for _ in range(2):  # a retried delete finds the model gone: success
        assert index.on_event(delete) == {"PhysicalResourceId": job_arn}
        assert poll(delete, job_arn) == {"IsComplete": True}
    assert bedrock.import_job_models() == []
    # Each step deletes the job's model; once it is gone, that is success.
    assert {call["modelIdentifier"] for call in bedrock.calls_to("DeleteImportedModel")} == {model_arn}


def test_a_delete_during_an_import_waits_for_it_then_deletes_its_model(bedrock, events):
    _, job_arn = create(events, import_properties())
    delete = events.delete(job_arn, import_properties())
    index.on_event(delete)
    assert poll(delete, job_arn) == {"IsComplete": False}  # import jobs cannot be stopped
    bedrock.set_import_job_status(job_arn, "Completed")
    assert poll(delete, job_arn) == {"IsComplete": True}
    assert bedrock.import_job_models() == []


@pytest.mark.parametrize("physical_id", ["", "my-stack-Model-create-failed", "arn:aws:bedrock:us-east-1:1:x/y"])
def test_a_rollback_of_a_create_that_started_nothing_succeeds(bedrock, events, physical_id):
    delete = events.delete(physical_id, import_properties())
    assert index.on_event(delete) == {"PhysicalResourceId": physical_id}
    assert poll(delete, physical_id) == {"IsComplete": True}
    assert bedrock.calls_to("DeleteImportedModel") == []


def test_a_tag_change_is_applied_in_place_and_a_new_source_imports_again(bedrock, events):
    properties = import_properties()
    event, job_arn = create(events, properties)
    bedrock.set_import_job_status(job_arn, "Completed")
    poll(event, job_arn)
    retagged = import_properties(jobTags=[{"key": "team", "value": "platform"}])
    assert index.on_event(events.update(job_arn, retagged, properties)) == {"PhysicalResourceId": job_arn}
    assert bedrock.tags(job_arn)["team"] == "platform"
    moved = import_properties(modelDataSource={"s3DataSource": {"s3Uri": "s3://weights-bucket/llama-v2/"}})
    replaced = index.on_event(events.update(job_arn, moved, properties))["PhysicalResourceId"]
    assert replaced != job_arn and JOB_ARN.fullmatch(replaced)


@pytest.mark.parametrize(("status", "imports"), [("Completed", 1), ("Failed", 2)])  # one import at a time: the quota
def test_a_new_role_imports_again_only_an_import_that_has_not_completed(bedrock, events, status, imports):
    """The role is what the import ran as: a completed import's model is the same whatever role a later template
    names."""
    properties = import_properties()
    _event, job_arn = create(events, properties)
    bedrock.set_import_job_status(job_arn, status)
    new_role = import_properties(roleArn=ROLE_ARN + "-shared")
    answered = index.on_event(events.update(job_arn, new_role, properties))["PhysicalResourceId"]
    assert (answered == job_arn) is (imports == 1)
    assert len(bedrock.calls_to("CreateModelImportJob")) == imports


@pytest.mark.parametrize("status", ["Completed", "InProgress"])
def test_a_stack_made_again_takes_the_import_its_first_made_though_its_role_was_drawn_anew(bedrock, events, status):
    """A stack of the same name deployed again makes its service role anew, under a name CloudFormation draws again:
    the import its first made, done or still importing, is taken; nothing imports again, nor in the stacks made
    after it."""
    properties = import_properties()
    _event, job_arn = create(events, properties)
    bedrock.set_import_job_status(job_arn, status)
    for drawn in range(3):
        again = CloudFormationEvents(resource_type=events.resource_type)  # a new stack id, the same stack name
        taken = index.on_event(again.create(import_properties(roleArn=f"{ROLE_ARN}-drawn-anew-{drawn}")))
        assert taken["PhysicalResourceId"] == job_arn
    assert len(bedrock.calls_to("CreateModelImportJob")) == 1


def test_the_rollback_of_new_weights_takes_back_the_import_a_new_role_was_given_in_place(bedrock, events, monkeypatch):
    """X imported (A); Y, a new role, in place on A, which keeps the name X generated; Z, new weights, a new import
    C. The rollback's Update back to Y, sent to C, takes A back: no import again, and the stack keeps A's model."""
    x = import_properties()
    y = import_properties(roleArn=ROLE_ARN + "-shared")
    z = y | {"modelDataSource": {"s3DataSource": {"s3Uri": "s3://weights-bucket/llama-v2/"}}}
    _event, first = create(events, x)
    bedrock.set_import_job_status(first, "Completed")
    assert index.on_event(events.update(first, y, x))["PhysicalResourceId"] == first
    replacement = index.on_event(events.update(first, z, y))["PhysicalResourceId"]
    bedrock.set_import_job_status(replacement, "Completed")
    monkeypatch.setattr(index, "stack_status", lambda stack_id: "UPDATE_ROLLBACK_IN_PROGRESS")
    assert index.on_event(events.update(replacement, y, z))["PhysicalResourceId"] == first
    assert len(bedrock.calls_to("CreateModelImportJob")) == 2


def test_a_replacement_refused_while_the_import_it_replaces_runs_names_that_import(bedrock, events):
    """One import at a time per account (the stand-in's quota, as Bedrock's): the running import this update
    replaces holds it, not another stack or person."""
    properties = import_properties()
    _event, job_arn = create(events, properties)  # still in progress
    moved = import_properties(modelDataSource={"s3DataSource": {"s3Uri": "s3://weights-bucket/llama-v2/"}})
    with pytest.raises(lifecycle.QuotaFull) as refused:
        index.on_event(events.update(job_arn, moved, properties))
    message = str(refused.value)
    assert f"The model import job {job_arn} that this update replaces is still running" in message
    assert "the one this update replaces holds it." in message
    assert "another stack or person" not in message
    assert [job["jobArn"] for job in bedrock.import_jobs()] == [job_arn]


def test_new_weights_under_the_same_prefix_import_again_and_their_rollback_returns_to_the_first(bedrock, events):
    """modelDataDigest names the content the stack uploaded under the prefix: a new one imports the new weights by a
    new job; the rollback's Update back to the first digest adopts the first job and imports nothing again."""
    first = import_properties(modelDataDigest="a" * 64)
    event, first_arn = create(events, first)
    bedrock.set_import_job_status(first_arn, "Completed")
    poll(event, first_arn)
    second = import_properties(modelDataDigest="b" * 64)
    second_arn = index.on_event(events.update(first_arn, second, first))["PhysicalResourceId"]
    assert second_arn != first_arn and JOB_ARN.fullmatch(second_arn)
    assert len(bedrock.calls_to("CreateModelImportJob")) == 2
    assert bedrock.calls_to("CreateModelImportJob")[-1]["modelDataSource"] == first["modelDataSource"]

    back = index.on_event(events.update(second_arn, first, second))["PhysicalResourceId"]

    assert back == first_arn
    assert len(bedrock.calls_to("CreateModelImportJob")) == 2


def test_invalid_properties_are_refused_naming_the_member(bedrock, events):
    with pytest.raises(contract.InvalidProperties, match="modelDataDigest: expected a string, got 7"):
        create(events, import_properties(modelDataDigest=7))
    with pytest.raises(contract.InvalidProperties, match="modelDataSource"):
        create(events, import_properties(modelDataSource={"s3DataSource": {"s3Uri": "https://example.com/w"}}))
    assert bedrock.calls_to("CreateModelImportJob") == []
