"""The rehearsal's play of aws-cdk-lib's BucketDeployment (Custom::CDKBucketDeployment) in moto's S3, against the
behaviour of its handler (aws-cdk-lib 2.275.0, custom-resource-handlers/dist/aws-s3-deployment/
bucket-deployment-handler/index.py): the source asset's files land unzipped under the prefix (``aws s3 sync``),
Prune deletes the other objects under it (``--delete``), an Update that moves the destination deletes the old one
unless RetainOnDelete, a Delete deletes the prefix's objects unless RetainOnDelete or the bucket's
``aws-cdk:cr-owned:<prefix>`` tag. The cloud assembly is laid out by hand as the CDK stages it: a folder asset is
the folder ``asset.<hash>``, whose zip the CLI would upload as ``<hash>.zip``.

The template of the engine-level tests is that of ``BucketDeployment(destination_bucket=bucket,
destination_key_prefix="llama/", retain_on_delete=False, memory_limit=1024, ephemeral_storage_size=2 GiB)``,
as aws-cdk-lib 2.275.0 synthesizes it (its IAM resources left out)."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cdk_bedrock_customization.rehearsal import bucket_deployments
from cdk_bedrock_customization.rehearsal.bucket_deployments import DeploymentFailed, NotPlayed, Place
from cdk_bedrock_customization.rehearsal.clock import VirtualClock
from cdk_bedrock_customization.rehearsal.engine import LocalStack, Printer
from cdk_bedrock_customization.rehearsal.template import Environment, Template

HASH = "67da5e2b7782b2e2e4680642348fe25034f4ecd7711a0c34f15564c5e8d51cfb"
KEY = f"{HASH}.zip"
ASSETS = "cdk-hnb659fds-assets-111122223333-us-east-1"
BUCKET = "weights"
CONFIG = b'{"model_type": "llama"}'
TOKENIZER = b'{"version": "1.0"}'
SHARD = b"\x00\x01safetensors"
TOKEN = "arn:aws:lambda:us-east-1:111122223333:function:S-CustomCDKBucketDeployment8693BB6496894-A1B2C3D4E5F6"


@pytest.fixture(autouse=True)
def aws(moto_aws: None) -> None:
    """Every test here runs in moto."""


@pytest.fixture
def assembly(tmp_path: Path) -> Path:
    """A cloud assembly whose folder asset holds a model's files, one level and two levels down."""
    folder = tmp_path / "cdk.out" / f"asset.{HASH}"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "weights" / "shards").mkdir(parents=True)
    (folder / "config.json").write_bytes(CONFIG)
    (folder / "tokenizer" / "tokenizer.json").write_bytes(TOKENIZER)
    (folder / "weights" / "shards" / "model-00001-of-00002.safetensors").write_bytes(SHARD)
    return tmp_path / "cdk.out"


def props(**changes: Any) -> dict[str, Any]:
    """The custom resource's properties as the construct writes them (resolved)."""
    return {
        "ServiceToken": TOKEN,
        "SourceBucketNames": [ASSETS],
        "SourceObjectKeys": [KEY],
        "DestinationBucketName": BUCKET,
        "DestinationBucketKeyPrefix": "llama/",
        "WaitForDistributionInvalidation": True,
        "RetainOnDelete": True,
        "Prune": True,
        "OutputObjectKeys": True,
        **changes,
    }


def objects(bucket: str = BUCKET) -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def put(key: str, body: bytes = b"old", bucket: str = BUCKET) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=body)


MODEL = {
    "llama/config.json": CONFIG,
    "llama/tokenizer/tokenizer.json": TOKENIZER,
    "llama/weights/shards/model-00001-of-00002.safetensors": SHARD,
}


# --- Create --------------------------------------------------------------------------------------------------


def test_a_create_copies_every_file_of_the_folder_asset_unzipped_under_the_prefix(assembly):
    physical_id, data = bucket_deployments.apply("Create", props(), None, None, Place("us-east-1", [assembly]))

    assert objects() == MODEL  # the bucket did not exist in moto: it was made
    assert physical_id.startswith("aws.cdk.s3deployment.")
    assert len(physical_id) == len("aws.cdk.s3deployment.") + 36  # a uuid4
    assert data == {"DestinationBucketArn": None, "SourceObjectKeys": [KEY]}
    s3 = boto3.client("s3", region_name="us-east-1")
    # As the CLI guesses content types (Python's table); none for an unknown extension: S3's default.
    assert s3.head_object(Bucket=BUCKET, Key="llama/config.json")["ContentType"] == "application/json"
    shard = s3.head_object(Bucket=BUCKET, Key="llama/weights/shards/model-00001-of-00002.safetensors")
    assert shard["ContentType"] == "binary/octet-stream"


def test_a_prefix_without_its_slash_is_a_folder_and_no_prefix_is_the_bucket(assembly):
    bucket_deployments.apply(
        "Create", props(DestinationBucketKeyPrefix="llama"), None, None, Place("us-east-1", [assembly])
    )
    assert objects() == MODEL

    bucket_deployments.apply(
        "Create",
        props(DestinationBucketName="root", DestinationBucketKeyPrefix=""),
        None,
        None,
        Place("us-east-1", [assembly]),
    )
    assert sorted(objects("root")) == [
        "config.json",
        "tokenizer/tokenizer.json",
        "weights/shards/model-00001-of-00002.safetensors",
    ]


def test_the_data_answer_the_bucket_arn_asked_for_and_no_keys_without_output_object_keys(assembly):
    changes = {"OutputObjectKeys": False, "DestinationBucketArn": "arn:aws:s3:::weights"}
    _, data = bucket_deployments.apply("Create", props(**changes), None, None, Place("us-east-1", [assembly]))
    assert data == {"DestinationBucketArn": "arn:aws:s3:::weights", "SourceObjectKeys": []}


def test_the_made_bucket_gets_the_tags_of_the_stacks_bucket(assembly):
    tags = [{"Key": "aws-cdk:cr-owned:llama/:8974ddcf", "Value": "true"}]
    place = Place("us-east-1", [assembly], lambda bucket: tags if bucket == BUCKET else [])
    bucket_deployments.apply("Create", props(), None, None, place)
    tag_set = boto3.client("s3", region_name="us-east-1").get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    assert tag_set == [{"Key": "aws-cdk:cr-owned:llama/:8974ddcf", "Value": "true"}]


# --- Prune, Exclude, Include -------------------------------------------------------------------------------


def test_prune_deletes_the_other_objects_under_the_prefix_only(assembly):
    put("llama/old-shard.safetensors")
    put("llama-v2/config.json")
    put("notes.txt")

    bucket_deployments.apply("Create", props(), None, None, Place("us-east-1", [assembly]))

    assert objects() == {**MODEL, "llama-v2/config.json": b"old", "notes.txt": b"old"}


def test_without_prune_the_other_objects_stay_and_the_files_are_replaced(assembly):
    put("llama/old-shard.safetensors")
    put("llama/config.json", b"{}")

    bucket_deployments.apply("Create", props(Prune=False), None, None, Place("us-east-1", [assembly]))

    assert objects() == {**MODEL, "llama/old-shard.safetensors": b"old"}


def test_excluded_files_are_not_copied_and_excluded_objects_are_not_pruned_unless_included_again(assembly):
    put("llama/weights/shards/model-00002-of-00002.safetensors")
    put("llama/stale.json")
    changes = {"Exclude": ["*.safetensors", "tokenizer/*"], "Include": ["tokenizer/tokenizer.json"]}

    bucket_deployments.apply("Create", props(**changes), None, None, Place("us-east-1", [assembly]))

    assert objects() == {
        "llama/config.json": CONFIG,
        "llama/tokenizer/tokenizer.json": TOKENIZER,
        "llama/weights/shards/model-00002-of-00002.safetensors": b"old",
    }


# --- Update ----------------------------------------------------------------------------------------------------


def test_an_update_to_a_new_prefix_deletes_the_old_one_when_not_retained_and_keeps_the_physical_id(assembly):
    place = Place("us-east-1", [assembly])
    before = props(RetainOnDelete=False)
    physical_id, _ = bucket_deployments.apply("Create", before, None, None, place)
    put("llama/extra.bin")

    after = props(RetainOnDelete=False, DestinationBucketKeyPrefix="llama-3/")
    updated_id, data = bucket_deployments.apply("Update", after, before, physical_id, place)

    assert updated_id == physical_id
    assert data == {"DestinationBucketArn": None, "SourceObjectKeys": [KEY]}
    assert objects() == {
        "llama-3/config.json": CONFIG,
        "llama-3/tokenizer/tokenizer.json": TOKENIZER,
        "llama-3/weights/shards/model-00001-of-00002.safetensors": SHARD,
    }


def test_an_update_to_the_same_destination_does_not_empty_it_first(assembly):
    """aws-cdk's bucket-deployment handler removes the old destination only when it moved (old_s3_dest != s3_dest):
    without Prune, an object the source does not have stays."""
    place = Place("us-east-1", [assembly])
    settings = props(RetainOnDelete=False, Prune=False)
    physical_id, _ = bucket_deployments.apply("Create", settings, None, None, place)
    put("llama/extra.bin")

    bucket_deployments.apply("Update", settings, settings, physical_id, place)

    assert objects() == {**MODEL, "llama/extra.bin": b"old"}


def test_an_update_to_a_new_bucket_leaves_the_old_one_when_retained(assembly):
    place = Place("us-east-1", [assembly])
    physical_id, _ = bucket_deployments.apply("Create", props(), None, None, place)

    bucket_deployments.apply("Update", props(DestinationBucketName="weights-2"), props(), physical_id, place)

    assert objects() == MODEL
    assert objects("weights-2") == MODEL


def test_an_update_to_properties_of_an_older_assembly_finds_their_asset_there(assembly, tmp_path):
    """A rollback returns to the properties of the assembly deployed before, whose asset is not in the new one."""
    newer = tmp_path / "cdk.out.updated"
    (newer / "asset.0123abcd").mkdir(parents=True)
    (newer / "asset.0123abcd" / "config.json").write_bytes(b'{"model_type": "llama3"}')
    place = Place("us-east-1", [newer, assembly])
    physical_id, _ = bucket_deployments.apply("Create", props(SourceObjectKeys=["0123abcd.zip"]), None, None, place)
    assert objects()["llama/config.json"] == b'{"model_type": "llama3"}'

    bucket_deployments.apply("Update", props(), props(SourceObjectKeys=["0123abcd.zip"]), physical_id, place)

    assert objects() == MODEL


# --- Delete ----------------------------------------------------------------------------------------------------


def test_a_delete_keeps_the_objects_when_retained(assembly):
    place = Place("us-east-1", [assembly])
    physical_id, _ = bucket_deployments.apply("Create", props(), None, None, place)

    assert bucket_deployments.apply("Delete", props(), None, physical_id, place)[0] == physical_id

    assert objects() == MODEL


def test_a_delete_not_retained_deletes_the_objects_under_the_prefix(assembly):
    place = Place("us-east-1", [assembly])
    physical_id, _ = bucket_deployments.apply("Create", props(RetainOnDelete=False), None, None, place)
    put("llama-v2/config.json")

    bucket_deployments.apply("Delete", props(RetainOnDelete=False), None, physical_id, place)

    assert objects() == {"llama-v2/config.json": b"old"}


@pytest.mark.parametrize(("owned_prefix", "kept"), [("llama/", MODEL), ("mistral/", {})], ids=["this", "another"])
def test_a_delete_not_retained_keeps_the_objects_of_a_prefix_the_bucket_says_a_deployment_owns(
    assembly, owned_prefix, kept
):
    """aws-cdk's bucket-deployment handler (bucket_owned): the tag "aws-cdk:cr-owned:<prefix>" keeps that prefix's
    objects; one of another prefix does not keep this one's."""
    owned = [{"Key": f"aws-cdk:cr-owned:{owned_prefix}:8974ddcf", "Value": "true"}]
    place = Place("us-east-1", [assembly], lambda _bucket: owned)
    physical_id, _ = bucket_deployments.apply("Create", props(RetainOnDelete=False), None, None, place)

    bucket_deployments.apply("Delete", props(RetainOnDelete=False), None, physical_id, place)

    assert objects() == kept


# --- other sources, and what fails -----------------------------------------------------------------------------


def test_a_missing_asset_fails_naming_its_key_and_copies_nothing(assembly):
    with pytest.raises(DeploymentFailed) as failure:
        bucket_deployments.apply(
            "Create", props(SourceObjectKeys=["feedface.zip"]), None, None, Place("us-east-1", [assembly])
        )

    assert str(failure.value) == (
        f"SourceObjectKeys: feedface.zip (in {ASSETS}) is not an asset of the cloud assembly ({assembly}): it has no "
        "folder asset.feedface nor a file asset of that key"
    )
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []


def test_an_update_with_a_missing_asset_still_deletes_the_old_prefix_first_as_the_handler_does(assembly):
    place = Place("us-east-1", [assembly])
    before = props(RetainOnDelete=False)
    physical_id, _ = bucket_deployments.apply("Create", before, None, None, place)
    after = props(RetainOnDelete=False, DestinationBucketKeyPrefix="llama-3/", SourceObjectKeys=["feedface.zip"])

    with pytest.raises(DeploymentFailed, match=r"SourceObjectKeys: feedface\.zip"):
        bucket_deployments.apply("Update", after, before, physical_id, place)

    assert objects() == {}


def test_an_asset_is_found_through_the_asset_manifest(tmp_path):
    """The manifest maps the key the CLI uploads to the staged path (here a key under a bucket prefix)."""
    root = tmp_path / "cdk.out"
    (root / "asset.beef").mkdir(parents=True)
    (root / "asset.beef" / "a.txt").write_bytes(b"a")
    manifest = {
        "files": {
            "beef": {
                "source": {"path": "asset.beef", "packaging": "zip"},
                "destinations": {
                    "current_account-current_region": {"bucketName": ASSETS, "objectKey": "models/beef.zip"}
                },
            }
        }
    }
    (root / "S.assets.json").write_text(json.dumps(manifest))

    bucket_deployments.apply(
        "Create", props(SourceObjectKeys=["models/beef.zip"]), None, None, Place("us-east-1", [root])
    )

    assert objects() == {"llama/a.txt": b"a"}


def zip_asset(root: Path, name: str, files: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, body in files.items():
            archive.writestr(path, body)
    (root / f"asset.{name}.zip").write_bytes(buffer.getvalue())


def test_a_zip_file_asset_is_extracted_and_with_extract_false_copied_as_it_is(assembly):
    zip_asset(assembly, "cafe", {"adapter/adapter_config.json": b"{}", "README.md": b"# adapter"})
    place = Place("us-east-1", [assembly])

    bucket_deployments.apply("Create", props(SourceObjectKeys=["cafe.zip"]), None, None, place)
    assert objects() == {"llama/adapter/adapter_config.json": b"{}", "llama/README.md": b"# adapter"}

    bucket_deployments.apply("Create", props(SourceObjectKeys=["cafe.zip"], Extract=False), None, None, place)
    assert list(objects()) == ["llama/cafe.zip"]  # pruned: only the zip itself


def test_sources_are_extracted_in_turn_and_their_markers_replaced(assembly):
    zip_asset(assembly, "d00d", {"config.json": b'{"role": "<<marker:0xbaba:0>>"}'})
    changes = {
        "SourceBucketNames": [ASSETS, ASSETS],
        "SourceObjectKeys": [KEY, "d00d.zip"],
        "SourceMarkers": [{}, {"<<marker:0xbaba:0>>": 'arn:aws:iam::111122223333:role/"quoted"'}],
        "SourceMarkersConfig": [{}, {"jsonEscape": "true"}],
    }

    bucket_deployments.apply("Create", props(**changes), None, None, Place("us-east-1", [assembly]))

    # The second source's config.json replaced the first's.
    assert objects()["llama/config.json"] == b'{"role": "arn:aws:iam::111122223333:role/\\"quoted\\""}'


def test_what_the_rehearsal_does_not_play_is_refused_before_anything_is_touched(assembly):
    place = Place("us-east-1", [assembly])
    with pytest.raises(NotPlayed, match=f"SourceObjectKeys: {KEY}: Extract false with a folder asset"):
        bucket_deployments.apply("Create", props(Extract=False), None, None, place)
    with pytest.raises(NotPlayed, match="DistributionId E2EXAMPLE: CloudFront invalidations are not rehearsed"):
        bucket_deployments.apply("Create", props(DistributionId="E2EXAMPLE"), None, None, place)
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []


# --- in a stack: the provisioner's plumbing -----------------------------------------------------------------


STACK = "S"
ENV = Environment("111122223333", "us-east-1", STACK, f"arn:aws:cloudformation:us-east-1:111122223333:stack/{STACK}/1")
HANDLER = "CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C1024MiB2048MiB98A3C176"
OWNED = {"Key": "aws-cdk:cr-owned:llama/:8974ddcf", "Value": "true"}


def template(deployment: bool = True) -> Template:
    """The synthesized template: the bucket carries the deployment's "owned" tag while the deployment exists, and is
    retained (RemovalPolicy.RETAIN, a Bucket's default: CloudFormation would fail to delete it with objects)."""
    resources: dict[str, Any] = {
        "Weights79DEE8EF": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"Tags": [OWNED] if deployment else []},
            "UpdateReplacePolicy": "Retain",
            "DeletionPolicy": "Retain",
        },
    }
    if deployment:
        assets = {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}
        resources["UploadAwsCliLayerD98D1A55"] = {
            "Type": "AWS::Lambda::LayerVersion",
            "Properties": {"Content": {"S3Bucket": assets, "S3Key": "98f62bef.zip"}, "Description": "/opt/awscli/aws"},
        }
        resources[HANDLER] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {"S3Bucket": assets, "S3Key": "35328da1.zip"},
                "Handler": "index.handler",
                "Layers": [{"Ref": "UploadAwsCliLayerD98D1A55"}],
                "Runtime": "python3.13",
                "Timeout": 900,
            },
        }
        resources["UploadCustomResource1024MiB2048MiB0C275E32"] = {
            "Type": "Custom::CDKBucketDeployment",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": [HANDLER, "Arn"]},
                "SourceBucketNames": [assets],
                "SourceObjectKeys": [KEY],
                "DestinationBucketName": {"Ref": "Weights79DEE8EF"},
                "DestinationBucketKeyPrefix": "llama/",
                "WaitForDistributionInvalidation": True,
                "RetainOnDelete": False,
                "Prune": True,
                "OutputObjectKeys": True,
            },
            "UpdateReplacePolicy": "Delete",
            "DeletionPolicy": "Delete",
        }
    return Template({"Resources": resources})


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    clock = VirtualClock()
    local = LocalStack(ENV, clock, Printer(clock, lambda _line: None), threading.RLock())
    yield local
    local.close()


def test_a_stack_uploads_the_folder_and_its_delete_leaves_what_the_tagged_bucket_owns(stack, assembly):
    assert stack.deploy(template(), assembly).succeeded
    bucket = stack.state["Weights79DEE8EF"].physical_id
    assert objects(bucket) == MODEL
    deployment = stack.state["UploadCustomResource1024MiB2048MiB0C275E32"]
    assert deployment.attributes == {"DestinationBucketArn": None, "SourceObjectKeys": [KEY]}

    # CloudFormation deletes the deployment first: the bucket still has its tag, so the handler keeps the objects;
    # the bucket is retained with them.
    deleted = stack.delete()
    assert deleted.succeeded
    assert deleted.retained == ["Weights79DEE8EF"]
    assert objects(bucket) == MODEL


def test_a_deployment_removed_from_the_stack_deletes_its_objects_once_the_bucket_loses_its_tag(stack, assembly):
    assert stack.deploy(template(), assembly).succeeded
    bucket = stack.state["Weights79DEE8EF"].physical_id

    outcome = stack.deploy(template(deployment=False), assembly)

    assert outcome.succeeded
    assert "UploadCustomResource1024MiB2048MiB0C275E32" in outcome.deleted
    assert objects(bucket) == {}


def test_a_missing_asset_fails_the_stack_naming_the_key(stack, tmp_path):
    outcome = stack.deploy(template(), tmp_path)

    assert not outcome.succeeded
    assert outcome.reason == (
        f"UploadCustomResource1024MiB2048MiB0C275E32: SourceObjectKeys: {KEY} (in {ASSETS}) is not an asset of the "
        f"cloud assembly ({tmp_path}): it has no folder asset.{HASH} nor a file asset of that key"
    )
