"""S3 as the rehearsal plays it (rehearsal/buckets.py): the file assets `cdk deploy` publishes before it deploys a
stack, and the buckets of AWS::S3::Bucket resources as CloudFormation makes, tags and deletes them; and DeleteStack's
RetainResources, which a delete that failed on a bucket (or a committed throughput) is retried with."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cdk_bedrock_customization.rehearsal import buckets
from cdk_bedrock_customization.rehearsal.buckets import FileAsset, PublishingFailed
from cdk_bedrock_customization.rehearsal.clock import VirtualClock
from cdk_bedrock_customization.rehearsal.cloud import LocalCloud, stacks_of
from cdk_bedrock_customization.rehearsal.engine import LocalStack, Printer
from cdk_bedrock_customization.rehearsal.template import Environment, Template

ACCOUNT, REGION = "111122223333", "us-east-1"
ASSETS = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
DATASET = b'{"prompt": "Where is my order?", "referenceResponse": "In transit."}\n'
DATASET_KEY = "5f1c0a.jsonl"
STACK = "S"
ENV = Environment(ACCOUNT, REGION, STACK, f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/1")
TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Writer"


def s3(region: str = REGION) -> Any:
    return boto3.client("s3", region_name=region)


def bucket_names() -> list[str]:
    return sorted(bucket["Name"] for bucket in s3().list_buckets()["Buckets"])


def objects(bucket: str) -> dict[str, bytes]:
    listed = s3().list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: s3().get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def tags(bucket: str) -> list[dict[str, str]]:
    try:
        return list(s3().get_bucket_tagging(Bucket=bucket)["TagSet"])
    except s3().exceptions.ClientError:
        return []


def destination(key: str, bucket: str = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}") -> dict[str, Any]:
    return {"current_account-current_region": {"bucketName": bucket, "objectKey": key}}


def write_assembly(root: Path, template: dict[str, Any], files: dict[str, Any]) -> Path:
    """A cloud assembly as the CDK writes one: stack S, its template, and its asset manifest S.assets.json (the
    cdk:asset-manifest artifact the stack depends on), with the asset files given (name -> bytes)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "S.template.json").write_text(json.dumps(template))
    (root / "S.assets.json").write_text(json.dumps({"version": "48.0.0", "files": files, "dockerImages": {}}))
    manifest = {
        "version": "48.0.0",
        "artifacts": {
            "S.assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}},
            "S": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/unknown-region",
                "properties": {"templateFile": "S.template.json"},
                "dependencies": ["S.assets"],
            },
        },
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def dataset_assembly(root: Path, template: dict[str, Any] | None = None) -> Path:
    """An assembly whose stack has a file asset (a dataset), a folder asset (zip packaging) and its own template
    as a file asset, as the CDK writes them."""
    (root / "asset.5f1c0a.jsonl").parent.mkdir(parents=True, exist_ok=True)
    (root / "asset.5f1c0a.jsonl").write_bytes(DATASET)
    (root / "asset.9d3e7b").mkdir()
    (root / "asset.9d3e7b" / "index.py").write_text("def handler(event, context): ...\n")
    files = {
        "5f1c0a": {
            "source": {"path": "asset.5f1c0a.jsonl", "packaging": "file"},
            "destinations": destination(DATASET_KEY),
        },
        "9d3e7b": {"source": {"path": "asset.9d3e7b", "packaging": "zip"}, "destinations": destination("9d3e7b.zip")},
        "template": {"source": {"path": "S.template.json", "packaging": "file"}, "destinations": destination("t.json")},
    }
    return write_assembly(root, template or {"Resources": {}}, files)


# --- file assets -----------------------------------------------------------------------------------------


def test_a_stacks_file_assets_are_published_to_the_bootstrap_bucket_and_zip_assets_are_not(moto_aws, tmp_path):
    assembly = dataset_assembly(tmp_path / "cdk.out")
    (stack,) = stacks_of(assembly)
    assert stack.asset_manifests == ("S.assets.json",)

    published = buckets.publish_file_assets(assembly, stack.asset_manifests, ACCOUNT, REGION)

    assert [(asset.bucket, asset.key, asset.region) for asset in published] == [
        (ASSETS, DATASET_KEY, REGION),
        (ASSETS, "t.json", REGION),
    ]
    assert bucket_names() == [ASSETS]  # the bootstrap bucket, made as `cdk bootstrap` once made it
    assert objects(ASSETS) == {DATASET_KEY: DATASET, "t.json": b'{"Resources": {}}'}


def test_an_asset_already_published_is_not_uploaded_again(moto_aws, tmp_path):
    assembly = dataset_assembly(tmp_path / "cdk.out")
    s3().create_bucket(Bucket=ASSETS)
    s3().put_object(Bucket=ASSETS, Key=DATASET_KEY, Body=b"published before")

    published = buckets.publish_file_assets(assembly, ["S.assets.json"], ACCOUNT, REGION)

    assert [asset.key for asset in published] == ["t.json"]
    assert objects(ASSETS)[DATASET_KEY] == b"published before"  # its key is its content's hash: it is the same


def test_a_destination_of_a_region_is_published_to_the_bucket_there(moto_aws, tmp_path):
    (tmp_path / "data.jsonl").write_bytes(DATASET)
    west = "cdk-hnb659fds-assets-${AWS::AccountId}-us-west-2"
    files = {"a": {"source": {"path": "data.jsonl", "packaging": "file"}, "destinations": destination("a.jsonl", west)}}
    files["a"]["destinations"]["current_account-current_region"]["region"] = "us-west-2"
    write_assembly(tmp_path, {"Resources": {}}, files)

    (asset,) = buckets.publish_file_assets(tmp_path, ["S.assets.json"], ACCOUNT, REGION)

    assert asset == FileAsset(
        tmp_path / "data.jsonl", f"cdk-hnb659fds-assets-{ACCOUNT}-us-west-2", "a.jsonl", "us-west-2"
    )
    assert s3().get_bucket_location(Bucket=asset.bucket)["LocationConstraint"] == "us-west-2"


def test_a_missing_file_or_an_unknown_placeholder_fails_the_publishing_naming_it(moto_aws, tmp_path):
    files = {"gone": {"source": {"path": "asset.gone.jsonl", "packaging": "file"}, "destinations": destination("g")}}
    write_assembly(tmp_path, {"Resources": {}}, files)
    with pytest.raises(PublishingFailed, match=r"asset gone of S.assets.json: .*asset.gone.jsonl is not a file"):
        buckets.publish_file_assets(tmp_path, ["S.assets.json"], ACCOUNT, REGION)

    (tmp_path / "data.jsonl").write_bytes(DATASET)
    odd = "assets-${AWS::StackName}"
    files = {"odd": {"source": {"path": "data.jsonl", "packaging": "file"}, "destinations": destination("o", odd)}}
    write_assembly(tmp_path, {"Resources": {}}, files)
    with pytest.raises(PublishingFailed, match=r"asset odd: \$\{AWS::StackName\} is not a placeholder the CLI"):
        buckets.publish_file_assets(tmp_path, ["S.assets.json"], ACCOUNT, REGION)
    assert bucket_names() == []  # nothing was published


BUCKET_STACK = {
    "Resources": {
        "Data": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"Tags": [{"Key": "team", "Value": "ml"}]},
            "UpdateReplacePolicy": "Retain",
            "DeletionPolicy": "Retain",
        },
        "Scratch": {"Type": "AWS::S3::Bucket"},
    },
    "Outputs": {"DataName": {"Value": {"Ref": "Data"}}},
}


def test_the_cloud_publishes_a_stacks_file_assets_before_it_deploys_the_stack(tmp_path):
    """As `cdk deploy` does: the dataset is in S3 when the stack's resources are made; its buckets are made there
    too. The delete keeps the retained bucket (with its objects) and deletes the empty one."""
    assembly = dataset_assembly(tmp_path / "cdk.out", BUCKET_STACK)
    with LocalCloud(write=lambda _line: None) as local:
        (outcome,) = local.deploy(assembly).values()
        assert outcome.succeeded, outcome.reason
        data, scratch = local.stacks[STACK].state["Data"].physical_id, local.stacks[STACK].state["Scratch"].physical_id
        assert outcome.outputs == {"DataName": data}
        assert objects(ASSETS)[DATASET_KEY] == DATASET
        assert bucket_names() == sorted([ASSETS, data, scratch])
        assert tags(data) == [{"Key": "team", "Value": "ml"}]
        s3().put_object(Bucket=data, Key="support/evaluations/result.jsonl", Body=b"{}")

        (deleted,) = local.delete().values()

        assert deleted.succeeded, deleted.reason
        assert (deleted.retained, deleted.deleted) == (["Data"], ["Scratch"])
        assert bucket_names() == sorted([ASSETS, data])
        assert objects(data) == {"support/evaluations/result.jsonl": b"{}"}


def test_a_stack_whose_export_reads_a_resource_its_failed_delete_removed_is_deleted_again_retaining(tmp_path):
    """DeleteStack with RetainResources deletes a stack whose delete failed; it checks that no stack imports its exports
    by their names, and reads no value of a resource the failed delete already removed (the rehearsal crashed on it)."""
    template = {
        "Resources": {"Kept": {"Type": "AWS::S3::Bucket"}, "Scratch": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {"ScratchName": {"Value": {"Ref": "Scratch"}, "Export": {"Name": "ScratchName"}}},
    }
    assembly = write_assembly(tmp_path / "cdk.out", template, {})
    with LocalCloud(write=lambda _line: None) as local:
        (outcome,) = local.deploy(assembly).values()
        assert outcome.succeeded, outcome.reason
        s3().put_object(Bucket=local.stacks[STACK].state["Kept"].physical_id, Key="result.jsonl", Body=b"{}")

        (failed,) = local.delete().values()
        assert (failed.succeeded, failed.delete_failed) == (False, ["Kept"])
        (retried,) = local.delete(retain_resources={STACK: ["Kept"]}).values()

        assert (retried.succeeded, retried.retained) == (True, ["Kept"])


def test_an_import_reads_its_export_alone_beside_a_stack_whose_export_reads_a_resource_gone(tmp_path):
    """Fn::ImportValue "returns the value of an output exported by another stack": no other stack's export is read,
    such as one of a stack whose failed delete removed the resource its export reads."""
    broken = {
        "Resources": {"Kept": {"Type": "AWS::S3::Bucket"}, "Scratch": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {"ScratchName": {"Value": {"Ref": "Scratch"}, "Export": {"Name": "ScratchName"}}},
    }
    exporter = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"Shared": {"Value": "shared-topic", "Export": {"Name": "SharedName"}}},
    }
    importer = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::ImportValue": "SharedName"}}}
        }
    }
    with LocalCloud(write=lambda _line: None) as local:
        for name, template in (("Broken", broken), ("Exporter", exporter)):
            (tmp_path / f"{name}.json").write_text(json.dumps(template))
            assert local.deploy_template(tmp_path / f"{name}.json", name).succeeded
        s3().put_object(Bucket=local.stacks["Broken"].state["Kept"].physical_id, Key="result.jsonl", Body=b"{}")
        assert local.delete(["Broken"])["Broken"].delete_failed == ["Kept"]

        (tmp_path / "Importer.json").write_text(json.dumps(importer))
        outcome = local.deploy_template(tmp_path / "Importer.json", "Importer")

        assert outcome.succeeded, outcome.reason
        assert local.stacks["Importer"].state["Topic"].properties["TopicName"] == "shared-topic"


def test_a_failed_publishing_stops_before_the_stack(tmp_path):
    files = {"gone": {"source": {"path": "asset.gone.jsonl", "packaging": "file"}, "destinations": destination("g")}}
    assembly = write_assembly(tmp_path / "cdk.out", BUCKET_STACK, files)
    with LocalCloud(write=lambda _line: None) as local:
        (outcome,) = local.deploy(assembly).values()
        assert (outcome.operation, outcome.succeeded) == ("CREATE", False)
        assert outcome.reason.startswith("S: failed to publish its assets: asset gone of S.assets.json")
        assert local.stacks == {}  # the CLI stops before it creates the stack
        assert bucket_names() == []


# --- a stack's buckets ----------------------------------------------------------------------------------


class Writer:
    """The ServiceToken's function of Custom::Writer: it puts an object into the bucket of its Bucket property, and
    fails its Create when its Fail property is "true" (after writing, as a job that wrote results then failed)."""

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        properties = event["ResourceProperties"]
        if event["RequestType"] == "Create":
            s3().put_object(Bucket=properties["Bucket"], Key="written", Body=b"data")
            if properties.get("Fail") == "true":
                return {"Status": "FAILED", "PhysicalResourceId": "writer", "Reason": "the writer broke"}
        return {"Status": "SUCCESS", "PhysicalResourceId": "writer", "Data": {}}


def writer(fail: bool = False) -> dict[str, Any]:
    properties = {"ServiceToken": TOKEN, "Bucket": {"Ref": "Bucket"}, "Fail": "true" if fail else "false"}
    return {"Type": "Custom::Writer", "Properties": properties}


def bucket(policy: str = "Delete", **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::Bucket",
        "Properties": properties,
        "UpdateReplacePolicy": policy,
        "DeletionPolicy": policy,
    }


@pytest.fixture
def stack(moto_aws: None) -> Iterator[LocalStack]:
    clock = VirtualClock()
    local = LocalStack(
        ENV, clock, Printer(clock, lambda _line: None), threading.RLock(), service_token_stand_ins={TOKEN: Writer()}
    )
    yield local
    local.close()


def deploy(stack: LocalStack, tmp_path: Path, **resources: dict[str, Any]) -> Any:
    return stack.deploy(Template({"Resources": resources}), tmp_path)


def test_a_bucket_is_made_with_its_tags_and_tagged_again_on_an_update(stack, tmp_path):
    assert deploy(stack, tmp_path, Bucket=bucket(Tags=[{"Key": "v", "Value": "1"}])).succeeded
    name = stack.state["Bucket"].physical_id
    assert name == stack.state["Bucket"].attributes["Arn"].removeprefix("arn:aws:s3:::")
    assert tags(name) == [{"Key": "v", "Value": "1"}]

    updated = deploy(stack, tmp_path, Bucket=bucket(Tags=[{"Key": "v", "Value": "2"}]))

    assert updated.updated_in_place == ["Bucket"]
    assert stack.state["Bucket"].physical_id == name
    assert tags(name) == [{"Key": "v", "Value": "2"}]


def test_a_new_bucket_name_replaces_the_bucket_and_the_cleanup_deletes_the_old_one(stack, tmp_path):
    assert deploy(stack, tmp_path, Bucket=bucket(BucketName="data-v1")).succeeded

    outcome = deploy(stack, tmp_path, Bucket=bucket(BucketName="data-v2"))

    assert (outcome.succeeded, outcome.replaced, outcome.deleted) == (True, ["Bucket"], ["Bucket"])
    assert bucket_names() == ["data-v2"]


def test_a_bucket_name_in_use_fails_the_create(stack, tmp_path):
    s3().create_bucket(Bucket="taken")

    outcome = deploy(stack, tmp_path, Bucket=bucket(BucketName="taken"))

    assert (outcome.succeeded, outcome.reason, outcome.status) == (
        False,
        "Bucket: taken already exists",
        "ROLLBACK_COMPLETE",
    )
    assert bucket_names() == ["taken"]  # the bucket that had the name is left alone


def test_a_bucket_that_holds_objects_fails_the_delete_and_a_retry_retaining_it_deletes_the_stack(stack, tmp_path):
    assert deploy(stack, tmp_path, Bucket=bucket(), Writer=writer()).succeeded
    name = stack.state["Bucket"].physical_id

    refused = stack.delete(retain_resources=["Bucket"])  # RetainResources: only for a stack whose delete failed
    assert (refused.succeeded, refused.reason) == (
        False,
        "S: ValidationError: RetainResources is only for a stack whose delete failed (DELETE_FAILED); the stack is "
        "CREATE_COMPLETE",
    )
    failed = stack.delete()
    assert (failed.succeeded, failed.status, failed.delete_failed) == (False, "DELETE_FAILED", ["Bucket"])
    assert failed.reason.startswith("Bucket: The bucket you tried to delete is not empty")
    assert "Error Code: BucketNotEmpty" in failed.reason
    assert list(stack.state) == ["Bucket"]  # the writer went first; the bucket stays in the stack

    retried = stack.delete(retain_resources=failed.delete_failed)

    assert (retried.succeeded, retried.status, retried.retained) == (True, "DELETE_COMPLETE", ["Bucket"])
    assert stack.state == {}
    assert objects(name) == {"written": b"data"}  # retained, as it was


def test_a_retained_bucket_keeps_its_name_so_the_stack_created_again_gets_another(stack, tmp_path):
    created = deploy(stack, tmp_path, Bucket=bucket("Retain"), Writer=writer())
    first = stack.state["Bucket"].physical_id
    assert created.succeeded and stack.delete().retained == ["Bucket"]

    again = deploy(stack, tmp_path, Bucket=bucket("Retain"), Writer=writer())

    assert again.succeeded, again.reason
    second = stack.state["Bucket"].physical_id
    assert second != first and second.startswith("s-bucket-")  # CloudFormation's suffix is drawn anew
    assert stack.state["Bucket"].attributes["Arn"] == f"arn:aws:s3:::{second}"
    assert bucket_names() == sorted([first, second])
    # An update keeps the name it drew.
    assert deploy(stack, tmp_path, Bucket=bucket("Retain", Tags=[]), Writer=writer()).succeeded
    assert stack.state["Bucket"].physical_id == second


def test_a_rollback_that_cannot_delete_a_bucket_fails_and_leaves_it_in_the_stack(stack, tmp_path):
    outcome = deploy(stack, tmp_path, Bucket=bucket(), Writer=writer(fail=True))

    assert (outcome.succeeded, outcome.reason, outcome.status) == (False, "Writer: the writer broke", "ROLLBACK_FAILED")
    assert outcome.rollback_reason.startswith("Bucket: The bucket you tried to delete is not empty")
    assert outcome.rollback_failed and outcome.delete_failed == ["Bucket"]
    assert list(stack.state) == ["Bucket"]
    # Only a delete can follow: it fails again on the bucket, and a retry retaining it ends the stack.
    failed = stack.delete()
    assert failed.delete_failed == ["Bucket"]
    assert stack.delete(retain_resources=["Bucket"]).succeeded
