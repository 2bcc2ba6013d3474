"""S3 as a rehearsal plays it in moto: the buckets of AWS::S3::Bucket resources, as CloudFormation makes and
deletes them, and the CDK CLI's file assets, as ``cdk deploy`` publishes them before it deploys their stack.

A stack's bucket is made in moto, so that what writes to it works as it would in AWS (a model evaluation job's
results, a bucket deployment's files). Provisioner calls these:
- on create, the bucket is made under its physical name (its BucketName, or the generated one) with its Tags. A
  BucketName that a bucket already has fails the create, as CloudFormation fails it (``<name> already exists``);
  a generated name is drawn again (CloudFormation's suffix is random: a stack created again after a rollback or a
  delete that retained its bucket gets another name);
- on update, the bucket keeps its name (and gets its Tags again, as CloudFormation sets them), unless BucketName
  changed: a replacement, made as on create; the old bucket goes in the update's cleanup, unless its
  UpdateReplacePolicy is Retain;
- on delete, an empty bucket is deleted; one that still holds objects (or object versions) fails the delete, as
  S3's DeleteBucket refuses it (BucketNotEmpty), and so the stack's delete or its rollback fails: CloudFormation
  never empties a bucket (the CDK's autoDeleteObjects does, through a custom resource). A bucket with DeletionPolicy
  Retain (RemovalPolicy.RETAIN, the CDK's default for a Bucket) is kept with its objects: its delete is never asked.
  A bucket already gone counts as deleted.
Only the name and the Tags are played: versioning, encryption, lifecycle rules, notifications, the bucket policy and
the access logs are recorded, not applied.

File assets (``publish_file_assets``): for each ``files`` entry of the stack's asset manifest
(``<stack>.assets.json``, the ``cdk:asset-manifest`` artifact the stack depends on) whose source packaging is
``file``, the file is uploaded as it is to each destination's bucketName and objectKey (``${AWS::AccountId}``,
``${AWS::Region}`` and ``${AWS::Partition}`` there being the rehearsal's account, the stack's Region and ``aws``),
as cdk-assets does: an object already there is not uploaded again (its key is the content's hash). The bootstrap
bucket (``cdk-hnb659fds-assets-<account>-<region>``, which ``cdk bootstrap`` made once) is made in moto when it is
not there, in the destination's Region. Zip assets (a folder the CLI zips, or a zip file) are not published: the
rehearsal runs Lambda code in-process from the cloud assembly, and a bucket deployment reads its sources there
(bucket_deployments.py); nothing else the rehearsal plays reads them from S3. Docker image assets are not published.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

BOOTSTRAP_BUCKET_PREFIX = "cdk-hnb659fds-assets-"
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class BucketNotEmpty(RuntimeError):
    """S3 refuses to delete a bucket that holds objects; the message is S3's."""


class PublishingFailed(RuntimeError):
    """A file asset could not be published; the message names it."""


def client(region: str) -> Any:
    # A session of its own: boto3's default session is not safe for threads that make clients at once.
    return boto3.session.Session().client("s3", region_name=region)


def exists(region: str, bucket: str) -> bool:
    try:
        client(region).head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True


def make(region: str, bucket: str, tags: Sequence[Mapping[str, str]] = ()) -> None:
    """Make the bucket in moto, in region, with these Tags (CloudFormation's Key/Value list)."""
    s3 = client(region)
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **location)
    if tags:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [dict(tag) for tag in tags]})


def tag(region: str, bucket: str, tags: Sequence[Mapping[str, str]]) -> None:
    """Give a bucket in moto the Tags of its stack's bucket, as CloudFormation sets them on an update (so that a
    bucket deployment's "owned" tag comes and goes with it). A bucket not in moto is left alone."""
    if not exists(region, bucket):
        return
    s3 = client(region)
    if tags:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [dict(tag) for tag in tags]})
    else:
        s3.delete_bucket_tagging(Bucket=bucket)


def delete(region: str, bucket: str) -> None:
    """DeleteBucket: BucketNotEmpty while it holds objects; a bucket already gone is deleted."""
    try:
        client(region).delete_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "NoSuchBucket":
            return
        if code == "BucketNotEmpty":
            message = error.response.get("Error", {}).get("Message") or "The bucket you tried to delete is not empty"
            raise BucketNotEmpty(f"{message} (Service: S3, Status Code: 409, Error Code: BucketNotEmpty)") from None
        raise


# --- the CDK CLI's file assets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileAsset:
    """One destination of a file asset: the file, and the bucket, key and Region it is published to."""

    source: Path
    bucket: str
    key: str
    region: str


def file_assets(assembly_dir: Path, manifests: Iterable[str], account: str, region: str) -> list[FileAsset]:
    """The destinations of the file-packaged assets of these asset manifests (file names in the assembly), with
    their placeholders resolved for the rehearsal's account and the stack's Region. PublishingFailed: a manifest
    or a source that is not there, or a placeholder that is not one of the CLI's."""
    found = []
    for name in manifests:
        try:
            manifest = json.loads((assembly_dir / name).read_text())
        except (OSError, ValueError) as error:
            raise PublishingFailed(f"asset manifest {name}: {error}") from error
        for asset_id, asset in manifest.get("files", {}).items():
            source = asset.get("source", {})
            if source.get("packaging", "file") != "file" or "path" not in source:
                continue  # zip packaging, or an executable that builds the asset: not published
            path = assembly_dir / str(source["path"])
            if not path.is_file():
                raise PublishingFailed(f"asset {asset_id} of {name}: {path} is not a file of the cloud assembly")
            for destination in asset.get("destinations", {}).values():
                values = {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws"}
                found.append(
                    FileAsset(
                        path,
                        _resolved(str(destination["bucketName"]), values, asset_id),
                        _resolved(str(destination["objectKey"]), values, asset_id),
                        _resolved(str(destination.get("region", "${AWS::Region}")), values, asset_id),
                    )
                )
    return found


def _resolved(text: str, values: Mapping[str, str], asset_id: str) -> str:
    def value(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise PublishingFailed(f"asset {asset_id}: ${{{match.group(1)}}} is not a placeholder the CLI resolves")
        return values[match.group(1)]

    return _PLACEHOLDER.sub(value, text)


def publish(assets: Iterable[FileAsset]) -> list[FileAsset]:
    """Upload each asset to its destination (its bucket made first, if it is not there); those already there are
    left as they are. Returns those uploaded."""
    uploaded = []
    for asset in assets:
        s3 = client(asset.region)
        if not exists(asset.region, asset.bucket):
            make(asset.region, asset.bucket)
        try:
            s3.head_object(Bucket=asset.bucket, Key=asset.key)
            continue
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.put_object(Bucket=asset.bucket, Key=asset.key, Body=asset.source.read_bytes())
        uploaded.append(asset)
    return uploaded


def publish_file_assets(assembly_dir: Path, manifests: Iterable[str], account: str, region: str) -> list[FileAsset]:
    """What ``cdk deploy`` publishes of a stack's file assets before it deploys the stack (see the module)."""
    return publish(file_assets(assembly_dir, manifests, account, region))
