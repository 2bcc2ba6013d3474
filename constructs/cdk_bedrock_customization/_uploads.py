"""A local folder uploaded, unzipped, to S3 when the stack deploys (aws-cdk-lib's BucketDeployment)."""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3_deployment

from constructs import Construct, IConstruct, IDependable

from ._local_folders import (
    MAX_EPHEMERAL_STORAGE_MIB,
    UPLOAD_EXCLUDES,
    folder_bytes,
    upload_problem,
    upload_storage_mib,
)
from ._nag import acknowledge, resolved_wildcards

# What the upload function needs beyond its storage: the AWS CLI copies large files in parts.
UPLOAD_MEMORY_MIB = 1024


def upload_folder(
    scope: Construct, construct_id: str, folder: str | os.PathLike[str], bucket: s3.IBucket, key: str
) -> s3_deployment.BucketDeployment:
    """Upload folder's files under key (a prefix ending in ``/``) of bucket, as they are; the objects under key that
    are not the folder's are removed. Raises ValueError when the folder is missing or too large to upload."""
    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"{os.fspath(folder)} is not a folder")
    if not key.endswith("/"):
        raise ValueError(f"key {key!r}: a folder is uploaded under a prefix, which ends in '/'")
    problem = upload_problem(path)
    if problem is not None:
        raise ValueError(problem)
    bucket_and_prefix = _refuse_overlapping_uploads(scope, bucket, key)
    storage = min(MAX_EPHEMERAL_STORAGE_MIB, upload_storage_mib(folder_bytes(path)))
    deployment = s3_deployment.BucketDeployment(
        scope,
        construct_id,
        sources=[s3_deployment.Source.asset(str(path), exclude=list(UPLOAD_EXCLUDES))],
        destination_bucket=bucket,
        destination_key_prefix=key,
        ephemeral_storage_size=cdk.Size.mebibytes(storage),
        memory_limit=UPLOAD_MEMORY_MIB,
        prune=True,
        # The uploaded files are data that a model was made from: deleting the stack leaves them.
        retain_on_delete=True,
    )
    _acknowledge_upload_function(cdk.Stack.of(scope))
    _UPLOADS.setdefault(scope.node.root, []).append((*bucket_and_prefix, deployment.node.path))
    return deployment


# Each app's uploads: the bucket (its literal name, else its construct's path), the prefix and the upload's path.
_UPLOADS: weakref.WeakKeyDictionary[IConstruct, list[tuple[str, str, str]]] = weakref.WeakKeyDictionary()


def _refuse_overlapping_uploads(scope: Construct, bucket: s3.IBucket, key: str) -> tuple[str, str]:
    """Refuses an upload whose prefix is another upload's in the same bucket, or holds it or is held by it: each
    removes what is under its prefix that is not its folder's (prune), so one would delete or replace the other's
    weights. The upload's bucket and prefix, to record once it is made."""
    name = bucket.bucket_name
    where = bucket.node.path if cdk.Token.is_unresolved(name) else name
    for other_bucket, other_key, other_path in _UPLOADS.get(scope.node.root, []):
        if other_bucket == where and (key.startswith(other_key) or other_key.startswith(key)):
            raise ValueError(
                f"key {key!r}: {other_path} uploads to the prefix {other_key!r} of the same bucket, and each upload "
                "removes what is under its prefix that is not its folder's: give prefixes that do not hold each other"
            )
    return where, key


def uploaded_digest(upload: IDependable) -> str:
    """The digest of the content a folder's upload (upload_folder's) puts under its prefix (its asset's hash, known
    at synth): an import of that prefix names it, so that new content makes CloudFormation update the import."""
    (asset,) = [child for child in cast(Construct, upload).node.children if isinstance(child, s3_assets.Asset)]
    return asset.asset_hash


def _acknowledge_upload_function(stack: cdk.Stack) -> None:
    """aws-cdk-lib's one upload function per stack and size: its findings are aws-cdk-lib's design. Its policy
    grows with each upload, so the wildcards it has so far are acknowledged after each."""
    for child in stack.node.children:
        if not child.node.id.startswith("Custom::CDKBucketDeployment"):
            continue
        policy = child.node.try_find_child("ServiceRole")
        policy = policy.node.try_find_child("DefaultPolicy") if policy is not None else None
        statements = stack.resolve(policy.document.to_json())["Statement"] if isinstance(policy, iam.Policy) else []
        acknowledge(
            child,
            (
                "IAM4",
                "aws-cdk-lib's BucketDeployment function uses AWSLambdaBasicExecutionRole for its logs.",
                ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            ),
            (
                "IAM5",
                "aws-cdk-lib's BucketDeployment function reads the CDK's asset bucket and writes (and prunes) the "
                "upload's prefix; its grants are aws-cdk-lib's.",
                resolved_wildcards(statements),
            ),
            ("L1", "aws-cdk-lib chooses the BucketDeployment function's runtime.", None),
        )
