"""aws-cdk-lib's BucketDeployment (Custom::CDKBucketDeployment), played in moto's S3.

Its handler (aws-cdk-lib's custom-resource-handlers/dist/aws-s3-deployment/bucket-deployment-handler/index.py,
which the cloud assembly also holds as the asset of its function) copies each source zip from the CDK's asset
bucket, extracts them into one folder (a source's markers replaced in every file), and syncs that folder to the
destination bucket under the prefix with the AWS CLI (``aws s3 sync``, ``--delete`` when pruning, ``--exclude``
and ``--include``, the metadata as options). The rehearsal does the same with boto3 against moto, instead of
running it: a source is the app's asset in the cloud assembly (the folder ``asset.<hash>`` that the CDK CLI
would zip and upload, or a zip file asset), found through the assembly's asset manifests (``*.assets.json``),
or else by that name; the destination bucket is made in moto if it is not there yet (a stack's bucket is, from its
create on: buckets.py; another is made with the Tags of the stack's bucket of that name, if any). As the handler
does:
- the physical id is ``aws.cdk.s3deployment.<uuid>``, made on Create and kept after;
- on Update, when RetainOnDelete is false and the destination (bucket or prefix) changed, the old destination's
  objects are deleted first (``aws s3 rm --recursive``);
- on Delete, when RetainOnDelete is false, the prefix's objects are deleted, unless the bucket has a tag that
  starts with ``aws-cdk:cr-owned[:<prefix>]`` (the BucketDeployment construct tags its bucket so: a deployment
  still owns the prefix);
- the Data are DestinationBucketArn (the property), SourceObjectKeys ([] unless OutputObjectKeys) and, when
  OutputObjectVersionIds, SourceObjectVersionIds.
Not played (refused before anything is touched, naming what): a CloudFront invalidation (DistributionId; on a
Delete it is skipped) and Extract false with a folder asset (the CLI's zip of the folder is not made).
"""

from __future__ import annotations

import fnmatch
import functools
import io
import json
import mimetypes
import os
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
from bedrock_custom_resource.contract import as_cloudformation_sends
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

TYPE = "Custom::CDKBucketDeployment"
OWNER_TAG = "aws-cdk:cr-owned"
# aws s3 sync's options for SystemMetadata (the construct's keys), as the S3 upload arguments they become.
SYSTEM_METADATA = {
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding",
    "content-language": "ContentLanguage",
    "content-type": "ContentType",
    "expires": "Expires",
    "sse": "ServerSideEncryption",
    "sse-kms-key-id": "SSEKMSKeyId",
    "storage-class": "StorageClass",
    "website-redirect": "WebsiteRedirectLocation",
    "acl": "ACL",
}
# The CLI's content type guess, from Python's own table (not the machine's /etc/mime.types).
_MIME_TYPES = mimetypes.MimeTypes()
_TRANSFER = TransferConfig(use_threads=False)  # the CLI's multipart threshold (8 MB), on the calling thread

Opener = Callable[[], IO[bytes]]


class DeploymentFailed(RuntimeError):
    """The handler fails the request; the message is its reason."""


class NotPlayed(RuntimeError):
    """What the rehearsal does not play; the message names it."""


@dataclass(frozen=True)
class Place:
    """Where a request is played: the Region, the cloud assemblies the stack was deployed from (newest first:
    an older one holds the assets of the properties a rollback returns to, as the asset bucket still does), and
    the Tags of the stack's bucket of a name (for a bucket made in moto)."""

    region: str
    assembly_dirs: Sequence[Path]
    tags_of: Callable[[str], Sequence[Mapping[str, str]]] = lambda _bucket: ()


def handles(resource_type: str) -> bool:
    return resource_type == TYPE


@dataclass(frozen=True)
class _Props:
    """The properties, read as the handler reads them (CloudFormation sends them as strings)."""

    sources: list[tuple[str, str, Mapping[str, str], Mapping[str, str]]]  # bucket, key, markers, markers config
    bucket: str
    prefix: str
    extract: bool
    retain_on_delete: bool
    prune: bool
    exclude: list[str]
    include: list[str]
    upload_args: dict[str, Any]
    distribution_id: str
    output_object_keys: bool
    output_object_version_ids: bool

    @classmethod
    def of(cls, props: Mapping[str, Any]) -> _Props:
        try:
            names, keys = props["SourceBucketNames"], props["SourceObjectKeys"]
            markers = props.get("SourceMarkers") or [{} for _ in names]
            markers_config = props.get("SourceMarkersConfig") or [{} for _ in names]
            bucket = props["DestinationBucketName"]
        except KeyError as error:
            raise DeploymentFailed(f"missing request resource property {error}. props: {dict(props)}") from error
        if len(names) != len(markers):
            raise DeploymentFailed("'source_markers' and 's3_source_zips' must be the same length")
        prefix = props.get("DestinationBucketKeyPrefix", "")
        return cls(
            sources=list(zip(names, keys, markers, markers_config, strict=False)),
            bucket=bucket,
            prefix="" if prefix == "/" else prefix,  # "/" is no prefix
            extract=props.get("Extract", "true") == "true",
            retain_on_delete=props.get("RetainOnDelete", "true") == "true",
            prune=props.get("Prune", "true").lower() == "true",
            exclude=list(props.get("Exclude", [])),
            include=list(props.get("Include", [])),
            upload_args=_upload_args(props.get("UserMetadata", {}), props.get("SystemMetadata", {})),
            distribution_id=props.get("DistributionId", ""),
            output_object_keys=props.get("OutputObjectKeys", "true") == "true",
            output_object_version_ids=props.get("OutputObjectVersionIds", "false") == "true",
        )


def apply(
    request_type: str,
    properties: Mapping[str, Any],
    old_properties: Mapping[str, Any] | None,
    physical_id: str | None,
    place: Place,
) -> tuple[str, dict[str, Any]]:
    """Carry out a request as the handler does; return the physical id and the Data. DeploymentFailed: the
    handler's failure (objects it changed stay changed); NotPlayed: refused before anything is touched."""
    props = as_cloudformation_sends(dict(properties))
    old = as_cloudformation_sends(dict(old_properties or {}))
    settings = _Props.of(props)
    if settings.distribution_id and request_type != "Delete":
        raise NotPlayed(f"DistributionId {settings.distribution_id}: CloudFront invalidations are not rehearsed")
    if request_type == "Create":
        physical_id = f"aws.cdk.s3deployment.{uuid.uuid4()}"
    elif not physical_id:
        raise DeploymentFailed(
            f"invalid request: request type is '{request_type}' but 'PhysicalResourceId' is not defined"
        )
    contents: dict[str, Opener] | DeploymentFailed = {}
    if request_type in ("Create", "Update"):
        try:  # a NotPlayed is raised here, before anything is touched
            contents = _contents(settings, place.assembly_dirs)
        except (DeploymentFailed, OSError, zipfile.BadZipFile) as error:
            contents = DeploymentFailed(str(error))  # the handler fails at its copy, after the removals
    bucket = _Bucket(place.region)
    try:
        deleting = request_type == "Delete" and not settings.retain_on_delete
        if deleting and not bucket.owned(settings.bucket, settings.prefix):
            bucket.remove(settings.bucket, settings.prefix)
        old_bucket, old_prefix = old.get("DestinationBucketName", ""), old.get("DestinationBucketKeyPrefix", "")
        moved = f"s3://{old_bucket}/{old_prefix}" != f"s3://{settings.bucket}/{settings.prefix}"
        if request_type == "Update" and not settings.retain_on_delete and moved:
            bucket.remove(old_bucket, old_prefix)
        version_ids: list[str] = []
        if isinstance(contents, DeploymentFailed):
            raise contents
        if request_type in ("Create", "Update"):
            bucket.make(settings.bucket, place.tags_of(settings.bucket))
            bucket.sync(contents, settings)
            if settings.output_object_version_ids:
                version_ids = bucket.version_ids(
                    settings.bucket, settings.prefix, [key for _, key, *_ in settings.sources]
                )
    except (ClientError, OSError, zipfile.BadZipFile) as error:
        raise DeploymentFailed(str(error)) from error
    data: dict[str, Any] = {
        "DestinationBucketArn": props.get("DestinationBucketArn"),
        "SourceObjectKeys": props["SourceObjectKeys"] if settings.output_object_keys else [],
    }
    if settings.output_object_version_ids:
        data["SourceObjectVersionIds"] = version_ids
    return physical_id, data


def _upload_args(user_metadata: Mapping[str, str], system_metadata: Mapping[str, str]) -> dict[str, Any]:
    """The S3 upload arguments of the handler's ``--<system key> <value>`` and ``--metadata <json>`` options
    (keys lowercased, as it lowercases them); ``--sse-c-copy-source`` does nothing to an upload."""
    args: dict[str, Any] = {}
    for key, value in system_metadata.items():
        if key.lower() == "sse-c-copy-source":
            continue
        if key.lower() not in SYSTEM_METADATA:
            raise NotPlayed(f"SystemMetadata {key}: not an option the rehearsal knows")
        args[SYSTEM_METADATA[key.lower()]] = value
    if user_metadata:
        args["Metadata"] = {key.lower(): value for key, value in user_metadata.items()}
    return args


def _dir_prefix(prefix: str) -> str:
    """The key prefix of a directory operation: the CLI adds the "/" (``s3://bucket/llama`` is ``llama/``)."""
    return prefix if prefix == "" or prefix.endswith("/") else prefix + "/"


def _selected(relative: str, exclude: Sequence[str], include: Sequence[str]) -> bool:
    """The CLI's filters: every file is in, each matching filter decides in turn (the handler passes all
    ``--exclude`` before all ``--include``); patterns match the path under the synced folder or prefix."""
    selected = True
    for pattern in exclude:
        selected = selected and not fnmatch.fnmatchcase(relative, pattern)
    for pattern in include:
        selected = selected or fnmatch.fnmatchcase(relative, pattern)
    return selected


# --- the sources: what the handler extracts into its folder ------------------------------------------------


def _find_asset(bucket: str, key: str, assembly_dirs: Sequence[Path]) -> Path:
    """The asset that the CDK CLI uploads as bucket/key: a folder (zipped on upload) or a zip file, in the
    newest of assembly_dirs that has it."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".zip")
    for directory in assembly_dirs:
        for manifest in sorted(directory.glob("*.assets.json")):
            for asset in json.loads(manifest.read_text()).get("files", {}).values():
                keys = [destination.get("objectKey") for destination in asset.get("destinations", {}).values()]
                source = directory / str(asset.get("source", {}).get("path", ""))
                if key in keys and source != directory and source.exists():
                    return source
        for path in (directory / f"asset.{stem}", directory / f"asset.{stem}.zip"):
            if path.exists():
                return path
    where = ", ".join(str(directory) for directory in assembly_dirs) or "none"
    raise DeploymentFailed(
        f"SourceObjectKeys: {key} (in {bucket}) is not an asset of the cloud assembly ({where}): it has no "
        f"folder asset.{stem} nor a file asset of that key"
    )


def _contents(settings: _Props, assembly_dirs: Sequence[Path]) -> dict[str, Opener]:
    """The handler's folder: each source extracted in turn (a later file replaces an earlier one of the same
    path), or, with Extract false, each zip as it is; relative path -> how to read the file."""
    contents: dict[str, Opener] = {}
    for bucket, key, markers, markers_config in settings.sources:
        asset = _find_asset(bucket, key, assembly_dirs)
        if not settings.extract:
            if asset.is_dir():
                raise NotPlayed(f"SourceObjectKeys: {key}: Extract false with a folder asset (its zip is not made)")
            contents[key.rsplit("/", 1)[-1]] = _file_opener(asset)
            continue
        files = _folder_files(asset) if asset.is_dir() else _zip_files(asset)
        for relative, opener in files:
            contents[relative] = _with_markers(opener, markers, markers_config) if markers else opener
    return contents


def _folder_files(folder: Path) -> Iterator[tuple[str, Opener]]:
    for root, _dirs, names in os.walk(folder, followlinks=True):
        for name in sorted(names):
            path = Path(root) / name
            yield path.relative_to(folder).as_posix(), _file_opener(path)


def _zip_files(archive: Path) -> Iterator[tuple[str, Opener]]:
    with zipfile.ZipFile(archive) as zipped:
        names = [name for name in zipped.namelist() if not name.endswith("/")]
    for name in names:
        yield name, functools.partial(_zip_member, archive, name)


def _zip_member(archive: Path, name: str) -> IO[bytes]:
    with zipfile.ZipFile(archive) as zipped:
        return io.BytesIO(zipped.read(name))


def _file_opener(path: Path) -> Opener:
    return lambda: path.open("rb")


def _with_markers(opener: Opener, markers: Mapping[str, Any], markers_config: Mapping[str, str]) -> Opener:
    """The handler's replace_markers: each marker's bytes by its value's (JSON-escaped with jsonEscape)."""
    json_escape = markers_config.get("jsonEscape", "false").lower() == "true"
    tokens: dict[bytes, bytes] = {}
    for marker, value in markers.items():
        text = value
        if json_escape:
            serialized = json.dumps(value)
            text = serialized[1:-1] if serialized.startswith('"') and serialized.endswith('"') else serialized
        tokens[marker.encode()] = text.encode()

    def replaced() -> IO[bytes]:
        with opener() as file:
            content = file.read()
        for token, replacement in tokens.items():
            content = content.replace(token, replacement)
        return io.BytesIO(content)

    return replaced


# --- the destination: moto's S3, as the CLI's commands change it -------------------------------------------


class _Bucket:
    def __init__(self, region: str) -> None:
        self.region = region
        # A session of its own: boto3's default session is not safe for threads that make clients at once.
        self.s3 = boto3.session.Session().client("s3", region_name=region)

    def exists(self, bucket: str) -> bool:
        try:
            self.s3.head_bucket(Bucket=bucket)
        except ClientError:
            return False
        return True

    def make(self, bucket: str, tags: Sequence[Mapping[str, str]]) -> None:
        """The destination bucket, made in moto if it is not there yet, with the stack's Tags for it."""
        if self.exists(bucket):
            return
        location = (
            {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        )
        self.s3.create_bucket(Bucket=bucket, **location)
        if tags:
            self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [dict(tag) for tag in tags]})

    def owned(self, bucket: str, prefix: str) -> bool:
        """The handler's bucket_owned: a tag of the bucket starts with aws-cdk:cr-owned[:<prefix>]."""
        tag = f"{OWNER_TAG}:{prefix}" if prefix else OWNER_TAG
        try:
            tags = self.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        except ClientError:  # no tags, or no bucket: not owned
            return False
        return any(str(each["Key"]).startswith(tag) for each in tags)

    def keys(self, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def delete(self, bucket: str, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})

    def remove(self, bucket: str, prefix: str) -> None:
        """``aws s3 rm s3://<bucket>/<prefix> --recursive``: every object under the prefix (a bucket the
        rehearsal never made holds none)."""
        if self.exists(bucket):
            self.delete(bucket, [item["Key"] for item in self.keys(bucket, _dir_prefix(prefix))])

    def sync(self, files: Mapping[str, Opener], settings: _Props) -> None:
        """``aws s3 sync <folder> s3://<bucket>/<prefix> [--delete] [--exclude ...] [--include ...]``: every
        selected file is uploaded (the handler's freshly extracted files are all newer than the objects), and
        with --delete each selected object under the prefix that has no file goes (not the empty "folder"
        objects, which the CLI does not list for a sync)."""
        prefix = _dir_prefix(settings.prefix)
        selected = {
            path: opener for path, opener in files.items() if _selected(path, settings.exclude, settings.include)
        }
        if settings.prune:
            stale = [
                item["Key"]
                for item in self.keys(settings.bucket, prefix)
                if not (item["Size"] == 0 and item["Key"].endswith("/"))
                and item["Key"][len(prefix) :] not in selected
                and _selected(item["Key"][len(prefix) :], settings.exclude, settings.include)
            ]
            self.delete(settings.bucket, stale)
        for relative, opener in sorted(selected.items()):
            args = dict(settings.upload_args)
            guessed = _MIME_TYPES.guess_type(relative)[0]
            if "ContentType" not in args and guessed is not None:
                args["ContentType"] = guessed
            with opener() as body:
                self.s3.upload_fileobj(body, settings.bucket, prefix + relative, ExtraArgs=args, Config=_TRANSFER)

    def version_ids(self, bucket: str, prefix: str, source_keys: Sequence[str]) -> list[str]:
        """The handler's get_object_version_ids: of each source's object <prefix>/<basename of its key> ("" when
        there is none, or the bucket is not versioned)."""
        ids = []
        for key in source_keys:
            try:
                head = self.s3.head_object(Bucket=bucket, Key=_dir_prefix(prefix) + key.rsplit("/", 1)[-1])
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
                head = {}
            ids.append(str(head.get("VersionId", "")))
        return ids
