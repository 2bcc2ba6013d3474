"""A bucket's auto_delete_objects (Custom::S3AutoDeleteObjects), played in moto's S3 as aws-cdk-lib's handler does
it (rehearsal/auto_delete_objects.py): a stack whose bucket holds objects deletes, and rolls back, cleanly."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cdk_bedrock_customization.rehearsal import auto_delete_objects
from cdk_bedrock_customization.rehearsal.clock import VirtualClock
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud
from cdk_bedrock_customization.rehearsal.engine import LocalStack, Printer
from cdk_bedrock_customization.rehearsal.template import Environment, Template

ACCOUNT, REGION = "111122223333", "us-east-1"
STACK = "S"
ENV = Environment(ACCOUNT, REGION, STACK, f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/1")
TAG = {"Key": "aws-cdk:auto-delete-objects", "Value": "true"}
# The provider function's ARN: the rehearsal plays the requests itself and never calls it.
TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:AutoDeleteObjects"


def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def bucket_names() -> list[str]:
    return sorted(bucket["Name"] for bucket in s3().list_buckets()["Buckets"])


def bucket(tags: list[dict[str, str]] | None = None, **properties: Any) -> dict[str, Any]:
    """A bucket, as the Bucket construct writes one with auto_delete_objects (RemovalPolicy.DESTROY)."""
    tagged = {"Tags": tags} if tags else {}
    return {
        "Type": "AWS::S3::Bucket",
        "Properties": {**tagged, **properties},
        "UpdateReplacePolicy": "Delete",
        "DeletionPolicy": "Delete",
    }


def auto_delete(bucket_id: str = "Bucket") -> dict[str, Any]:
    return {
        "Type": "Custom::S3AutoDeleteObjects",
        "Properties": {"ServiceToken": TOKEN, "BucketName": {"Ref": bucket_id}},
        "UpdateReplacePolicy": "Delete",
        "DeletionPolicy": "Delete",
    }


@pytest.fixture
def stack(moto_aws: None) -> Iterator[LocalStack]:
    clock = VirtualClock()
    local = LocalStack(ENV, clock, Printer(clock, lambda _line: None), threading.RLock())
    yield local
    local.close()


def deploy(stack: LocalStack, tmp_path: Path, **resources: dict[str, Any]) -> Any:
    return stack.deploy(Template({"Resources": resources}), tmp_path)


def fill(name: str) -> None:
    for key in ("a.jsonl", "b/c.jsonl"):
        s3().put_object(Bucket=name, Key=key, Body=b"{}\n")


def test_a_stack_whose_tagged_bucket_holds_objects_deletes_and_the_bucket_is_gone(stack, tmp_path):
    created = deploy(stack, tmp_path, Bucket=bucket([TAG]), AutoDelete=auto_delete())
    assert created.succeeded, created.reason
    name = stack.state["Bucket"].physical_id
    assert stack.state["AutoDelete"].physical_id != name  # Create answers the request's id
    fill(name)

    deleted = stack.delete()

    assert deleted.succeeded, deleted.reason
    assert bucket_names() == []


def test_every_version_and_delete_marker_of_a_versioned_bucket_is_deleted(stack, tmp_path):
    assert deploy(stack, tmp_path, Bucket=bucket([TAG]), AutoDelete=auto_delete()).succeeded
    name = stack.state["Bucket"].physical_id
    s3().put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"1", b"2"):
        s3().put_object(Bucket=name, Key="model.jsonl", Body=body)
    s3().delete_object(Bucket=name, Key="model.jsonl")  # a delete marker over two versions
    # More than a page of ListObjectVersions (1000), so that the handler's loop lists again.
    for index in range(1001):
        s3().put_object(Bucket=name, Key=f"many/{index}", Body=b"")

    deleted = stack.delete()

    assert deleted.succeeded, deleted.reason
    assert bucket_names() == []


def test_a_bucket_without_the_tag_keeps_its_objects_and_fails_its_own_delete(stack, tmp_path):
    """auto_delete_objects turned off removes the tag: the handler then leaves the bucket alone."""
    other = {"Key": "team", "Value": "ml"}
    assert deploy(stack, tmp_path, Bucket=bucket([other]), AutoDelete=auto_delete()).succeeded
    name = stack.state["Bucket"].physical_id
    fill(name)

    failed = stack.delete()

    assert (failed.succeeded, failed.delete_failed) == (False, ["Bucket"])
    assert "BucketNotEmpty" in failed.reason
    assert list(stack.state) == ["Bucket"]  # the custom resource went first, leaving the objects
    assert bucket_names() == [name]


def test_a_bucket_with_no_tags_at_all_fails_the_delete_naming_the_resource(stack, tmp_path):
    """GetBucketTagging fails on a bucket without tags (NoSuchTagSet), and the handler fails with it."""
    assert deploy(stack, tmp_path, Bucket=bucket(), AutoDelete=auto_delete()).succeeded

    failed = stack.delete()

    assert (failed.succeeded, failed.delete_failed) == (False, ["AutoDelete"])
    assert failed.reason.startswith("AutoDelete: NoSuchTagSet: ")


def test_a_bucket_already_gone_counts_as_emptied(stack, tmp_path):
    assert deploy(stack, tmp_path, Bucket=bucket([TAG]), AutoDelete=auto_delete()).succeeded
    s3().delete_bucket(Bucket=stack.state["Bucket"].physical_id)

    deleted = stack.delete()

    assert deleted.succeeded, deleted.reason


def test_a_replaced_bucket_is_emptied_in_the_cleanup_and_the_new_one_keeps_its_objects(stack, tmp_path):
    assert deploy(stack, tmp_path, Bucket=bucket([TAG], BucketName="data-v1"), AutoDelete=auto_delete()).succeeded
    fill("data-v1")

    updated = deploy(stack, tmp_path, Bucket=bucket([TAG], BucketName="data-v2"), AutoDelete=auto_delete())

    assert updated.succeeded, updated.reason
    # The handler answers the new bucket's name: a new physical id, whose old one gets a Delete in the cleanup.
    assert stack.state["AutoDelete"].physical_id == "data-v2"
    assert sorted(updated.deleted) == ["AutoDelete", "Bucket"]
    assert bucket_names() == ["data-v2"]


def write_then_fail(event: dict[str, Any]) -> dict[str, Any]:
    """The ServiceToken's function of Custom::Writer: its Create writes into the bucket, then fails."""
    if event["RequestType"] == "Create":
        s3().put_object(Bucket=event["ResourceProperties"]["Bucket"], Key="written", Body=b"data")
        return {"Status": "FAILED", "PhysicalResourceId": "writer", "Reason": "the writer broke"}
    return {"Status": "SUCCESS", "PhysicalResourceId": "writer", "Data": {}}


def test_a_create_that_fails_after_writing_to_the_bucket_rolls_back_completely(moto_aws, tmp_path):
    """Without auto-delete, this rollback fails on the bucket (test_buckets.py)."""
    writer_token = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Writer"
    clock = VirtualClock()
    local = LocalStack(
        ENV,
        clock,
        Printer(clock, lambda _line: None),
        threading.RLock(),
        service_token_stand_ins={writer_token: write_then_fail},
    )
    writer = {"Type": "Custom::Writer", "Properties": {"ServiceToken": writer_token, "Bucket": {"Ref": "Bucket"}}}
    try:
        outcome = deploy(local, tmp_path, Bucket=bucket([TAG]), AutoDelete=auto_delete(), Writer=writer)
    finally:
        local.close()

    assert (outcome.succeeded, outcome.reason, outcome.status) == (
        False,
        "Writer: the writer broke",
        "ROLLBACK_COMPLETE",
    )
    assert local.state == {}
    assert bucket_names() == []


def test_a_cdk_app_with_auto_delete_objects_is_rehearsed_not_refused(tmp_path):
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    import aws_cdk as cdk
    from aws_cdk import aws_s3

    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    cdk_stack = cdk.Stack(app, "AutoDeleted")
    aws_s3.Bucket(cdk_stack, "Data", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY)
    template = app.synth().get_stack_by_name("AutoDeleted").template
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    with LocalCloud(write=lambda _line: None) as local:
        created = local.deploy_template(path, "AutoDeleted")
        assert created.succeeded, created.reason
        state = local.stacks["AutoDeleted"].state
        (name,) = [deployed.physical_id for deployed in state.values() if deployed.resource_type == "AWS::S3::Bucket"]
        s3().put_object(Bucket=name, Key="written", Body=b"data")

        (deleted,) = local.delete(["AutoDeleted"]).values()

        assert deleted.succeeded, deleted.reason
        assert name not in bucket_names()


def test_an_update_without_a_bucket_name_keeps_the_physical_id():
    """The handler answers BucketName ?? the old one; with neither, nodejs-entrypoint answers the request's id."""
    assert auto_delete_objects.apply("Update", {}, {}, "the-id", REGION) == "the-id"
