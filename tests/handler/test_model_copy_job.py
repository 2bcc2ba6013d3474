"""Custom::BedrockCopiedCustomModel: a custom model of another Region copied by a model copy job, through the
handler's entry points, against the Bedrock stand-in.

The source model is trained in us-east-1 (the stand-in's Region); the stack, and so the handler's client, is in
us-west-2. Expected values come from the API reference's patterns and the requests made, not from the handler.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from bedrock_custom_resource import index, lifecycle, model_copy_job
from bedrock_custom_resource.model_jobs import ModelJobFailed
from cdk_bedrock_customization.emulation.bedrock_stand_in import BedrockStandIn

from .conftest import SERVICE_TOKEN, CloudFormationEvents, completed_job
from .serving_helpers import create, poll

RESOURCE_TYPE = "Custom::BedrockCopiedCustomModel"
TARGET = "us-west-2"
# The API reference's ModelCopyJobArn and CustomModelArn (of a trained model's copy), in the target Region.
JOB_ARN = re.compile(r"arn:aws:bedrock:us-west-2:123456789012:model-copy-job/[a-z0-9]{12}")
COPY_ARN = re.compile(r"arn:aws:bedrock:us-west-2:123456789012:custom-model/[a-z0-9.:-]+/[a-z0-9]{12}")


@pytest.fixture
def west(bedrock: BedrockStandIn, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The handler's client, in the stack's Region (us-west-2)."""
    client = bedrock.client(region=TARGET)
    monkeypatch.setattr(model_copy_job, "bedrock_client", lambda: client)
    return client


@pytest.fixture
def source(bedrock: BedrockStandIn) -> str:
    """A trained custom model of us-east-1: its ARN."""
    return str(bedrock.job(completed_job(bedrock, "support-job", "support-v1"))["outputModelArn"])


@pytest.fixture
def events() -> CloudFormationEvents:
    return CloudFormationEvents(resource_type=RESOURCE_TYPE)


def copy_properties(source: str, **overrides: Any) -> dict[str, Any]:
    return {
        "ServiceToken": SERVICE_TOKEN,
        "sourceModelArn": source,
        "targetModelTags": [{"key": "team", "value": "ml"}],
    } | overrides


def copy_jobs(west: Any) -> list[dict[str, Any]]:
    return list(west.list_model_copy_jobs()["modelCopyJobSummaries"])


def test_create_copies_under_a_generated_name_and_waits_for_the_copy(bedrock, west, source, events):
    event, job_arn = create(events, copy_properties(source))
    assert JOB_ARN.fullmatch(job_arn)
    (job,) = copy_jobs(west)
    assert job["sourceModelArn"] == source
    assert job["targetModelName"].startswith("my-stack-Model-")
    assert poll(event, job_arn) == {"IsComplete": False}

    bedrock.set_copy_job_status(job_arn, "Completed")
    result = poll(event, job_arn)
    assert result["IsComplete"] is True
    data = result["Data"]
    assert COPY_ARN.fullmatch(data["targetModelArn"])
    assert data["targetModelName"] == job["targetModelName"]
    assert (data["jobArn"], data["status"], data["sourceModelArn"]) == (job_arn, "Completed", source)
    model = west.get_custom_model(modelIdentifier=data["targetModelArn"])
    assert model["modelName"] == job["targetModelName"]
    # The copy carries its own tags and the configuration tag it is found by again.
    assert bedrock.tags(data["targetModelArn"]) == {"team": "ml"}
    assert lifecycle.FINGERPRINT_TAG in bedrock.all_tags(data["targetModelArn"])


def test_a_retried_or_replayed_create_adopts_the_copy_it_started(bedrock, west, source, events):
    properties = copy_properties(source)
    _, first = create(events, properties)
    _, again = create(events, properties)
    assert again == first
    bedrock.set_copy_job_status(first, "Completed")
    _, after_completion = create(events, properties)
    assert after_completion == first
    assert len(copy_jobs(west)) == 1


def test_a_failed_copy_fails_with_bedrocks_message_and_the_next_create_copies_under_the_next_name(
    bedrock, west, source, events
):
    event, job_arn = create(events, copy_properties(source))
    bedrock.set_copy_job_status(job_arn, "Failed", "The source model's key cannot be used")
    with pytest.raises(ModelJobFailed, match=r"Model copy job to my-stack-Model-\S+ failed: The source model's key"):
        poll(event, job_arn)
    _, retried = create(events, copy_properties(source))
    assert retried != job_arn
    names = [job["targetModelName"] for job in copy_jobs(west)]
    assert len(set(names)) == 2


def test_a_given_name_held_by_another_model_creates_nothing(bedrock, west, source, events):
    west.create_model_copy_job(sourceModelArn=source, targetModelName="support-copy")
    with pytest.raises(lifecycle.NameTaken, match=r"targetModelName: 'support-copy' is held by model copy job"):
        create(events, copy_properties(source, targetModelName="support-copy"))
    assert len(copy_jobs(west)) == 1


def test_a_tag_change_retags_the_copy_in_place(bedrock, west, source, events):
    event, job_arn = create(events, copy_properties(source))
    bedrock.set_copy_job_status(job_arn, "Completed")
    model_arn = poll(event, job_arn)["Data"]["targetModelArn"]
    retagged = copy_properties(source, targetModelTags=[{"key": "team", "value": "search"}])
    result = index.on_event(events.update(job_arn, retagged, copy_properties(source)))
    assert result["PhysicalResourceId"] == job_arn
    assert bedrock.tags(model_arn) == {"team": "search"}
    assert len(copy_jobs(west)) == 1


KEY_ID = "0123abcd-0123-abcd-0123-0123456789ab"


def test_a_key_named_otherwise_and_then_a_tag_change_keep_the_copy(bedrock, west, source, events):
    """The key by its id, then by its ARN (in place: the same key), then a tag change: the copy job's record keeps
    the tags it was made with, and its model the configuration it has now, which the later update is judged by."""
    events.stack_id = events.stack_id.replace(":us-east-1:", f":{TARGET}:")  # the stack in the copy's Region
    by_id = copy_properties(source, modelKmsKeyId=KEY_ID)
    event, job_arn = create(events, by_id)
    bedrock.set_copy_job_status(job_arn, "Completed")
    poll(event, job_arn)
    by_arn = copy_properties(source, modelKmsKeyId=f"arn:aws:kms:{TARGET}:123456789012:key/{KEY_ID}")
    assert index.on_event(events.update(job_arn, by_arn, by_id))["PhysicalResourceId"] == job_arn
    retagged = by_arn | {"targetModelTags": [{"key": "team", "value": "search"}]}
    assert index.on_event(events.update(job_arn, retagged, by_arn))["PhysicalResourceId"] == job_arn
    assert len(copy_jobs(west)) == 1


def test_the_rollback_of_a_refused_update_changes_nothing(bedrock, west, source, events):
    _event, job_arn = create(events, copy_properties(source))
    bedrock.set_copy_job_status(job_arn, "Completed")
    # CloudFormation rolls back with the previous properties, and the refused ones as the old (DESIGN.md, fact 10).
    refused = copy_properties(source, targetModelName="bad name!")
    result = index.on_event(events.update(job_arn, copy_properties(source), refused))
    assert result["PhysicalResourceId"] == job_arn
    assert len(copy_jobs(west)) == 1


def test_a_foundation_model_source_is_refused_naming_it_before_anything_is_made(west, events):
    # copy-model.html: Bedrock copies custom models and shared models, though the pattern takes a foundation model.
    source = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"
    with pytest.raises(ValueError, match=rf"sourceModelArn: '{re.escape(source)}' is a foundation model's ARN"):
        index.on_event(events.create(copy_properties(source)))
    assert copy_jobs(west) == []


def test_a_new_source_copies_again_under_a_new_name(bedrock, west, source, events):
    _, job_arn = create(events, copy_properties(source))
    bedrock.set_copy_job_status(job_arn, "Completed")
    other = str(bedrock.job(completed_job(bedrock, "support-job-2", "support-v2"))["outputModelArn"])
    result = index.on_event(events.update(job_arn, copy_properties(other), copy_properties(source)))
    assert result["PhysicalResourceId"] != job_arn
    assert sorted(job["sourceModelArn"] for job in copy_jobs(west)) == sorted([source, other])


def test_delete_waits_for_a_running_copy_then_deletes_the_copied_model(bedrock, west, source, events):
    _event, job_arn = create(events, copy_properties(source))
    model_arn = west.get_model_copy_job(jobArn=job_arn)["targetModelArn"]
    delete = events.delete(job_arn, copy_properties(source))
    index.on_event(delete)
    assert poll(delete, job_arn) == {"IsComplete": False}  # a copy job cannot be stopped
    bedrock.set_copy_job_status(job_arn, "Completed")
    assert poll(delete, job_arn) == {"IsComplete": True}
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.get_custom_model(modelIdentifier=model_arn)
    # Deleting again, and deleting a create that never started a job, succeed.
    assert poll(delete, job_arn) == {"IsComplete": True}
    never_started = events.delete("my-stack-Model-never-created", copy_properties(source))
    assert index.on_event(never_started)["PhysicalResourceId"] == "my-stack-Model-never-created"
    assert poll(never_started, "my-stack-Model-never-created") == {"IsComplete": True}


def test_an_accepted_copy_returns_at_once_for_a_wait_condition_to_wait(bedrock, west, source, events):
    event, job_arn = create(events, copy_properties(source, waitUntil="Accepted"))
    result = poll(event, job_arn)
    assert result["IsComplete"] is True
    assert (result["Data"]["jobArn"], result["Data"]["status"]) == (job_arn, "InProgress")
