"""A bucket's ``auto_delete_objects`` (aws-cdk-lib's Custom::S3AutoDeleteObjects), played in moto's S3.

Its Node.js handler (aws-cdk-lib's custom-resource-handlers, aws-s3/auto-delete-objects-handler, behind
nodejs-entrypoint) is not run; the rehearsal does what it does, with boto3 against moto:
- Create does nothing; the physical id is the request's id;
- Update answers the new BucketName as the physical id (the old one when none is given). A physical id that changes
  (the bucket was replaced, or this is the first update) has CloudFormation send the old one a Delete in the
  update's cleanup, with the old properties, which empties the old bucket;
- Delete empties the bucket of BucketName (every object version and delete marker), but only when the bucket has
  the tag ``aws-cdk:auto-delete-objects`` = ``true`` (the Bucket construct tags it so; without the tag, a
  deployment that turned auto-delete off, it is left alone). A bucket already gone counts as emptied; a bucket
  without any tag fails the Delete, as GetBucketTagging fails it (NoSuchTagSet), and so does a Delete without
  BucketName.
Not played: the policy that denies new writes before the bucket is emptied (moto does not enforce bucket policies).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from .buckets import client

TYPE = "Custom::S3AutoDeleteObjects"
TAG = "aws-cdk:auto-delete-objects"


class DeleteFailed(RuntimeError):
    """The handler fails the Delete; the message is its reason."""


def handles(resource_type: str) -> bool:
    return resource_type == TYPE


def apply(
    request_type: str,
    properties: Mapping[str, Any],
    old_properties: Mapping[str, Any] | None,
    physical_id: str | None,
    region: str,
) -> str:
    """Carry out a request; return the physical id (the handler answers no Data)."""
    if request_type == "Create":
        return str(uuid.uuid4())  # nodejs-entrypoint's default: the request's id
    if request_type == "Update":  # no name at all: the entrypoint answers the request's physical id
        return str(properties.get("BucketName") or (old_properties or {}).get("BucketName") or physical_id)
    bucket = properties.get("BucketName")
    if not bucket:
        raise DeleteFailed("No BucketName was provided.")
    try:
        if _tagged_for_deletion(region, str(bucket)):
            _empty(region, str(bucket))
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") == "NoSuchBucket":
            return str(physical_id)
        raise DeleteFailed(f"{details.get('Code')}: {details.get('Message')}") from error
    return str(physical_id)


def _tagged_for_deletion(region: str, bucket: str) -> bool:
    tag_set = client(region).get_bucket_tagging(Bucket=bucket).get("TagSet", [])
    return any(tag.get("Key") == TAG and tag.get("Value") == "true" for tag in tag_set)


def _empty(region: str, bucket: str) -> None:
    """Delete every version and delete marker, a listed page at a time, as the handler does."""
    s3 = client(region)
    while True:
        listed = s3.list_object_versions(Bucket=bucket)
        contents = [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]
        if not contents:
            return
        records = [{"Key": record["Key"], "VersionId": record["VersionId"]} for record in contents]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": records})
        if not listed.get("IsTruncated"):
            return
