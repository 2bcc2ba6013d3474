"""The typed inputs of CustomModel: where data lives, and what kind of customization to run."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from constructs import Construct

from ._tokens import attribute, is_unresolved

_S3_URI = re.compile(r"s3://(?P<bucket>[^/]+)(?:/(?P<key>.*))?")


@dataclass(frozen=True)
class S3Data:
    """An S3 object or prefix: a bucket of this app with a key, or an ``s3://`` URI."""

    key: str = ""
    bucket: s3.IBucket | None = None
    bucket_name: str | None = None  # for a bucket given by URI

    @staticmethod
    def from_bucket(bucket: s3.IBucket, key: str = "") -> S3Data:
        """An object (``data/train.jsonl``) or a prefix ending in ``/`` (``output/``) in this bucket."""
        return S3Data(key=key, bucket=bucket)

    @staticmethod
    def from_uri(uri: str) -> S3Data:
        """An ``s3://bucket/key`` URI of a bucket outside this app."""
        match = _S3_URI.fullmatch(uri) if not is_unresolved(uri) else None
        if match is None:
            raise ValueError(f"S3 URI {uri!r} is not of the form s3://bucket/key; use S3Data.from_bucket for a bucket")
        return S3Data(key=match["key"] or "", bucket_name=match["bucket"])

    @property
    def uri(self) -> str:
        if self.bucket is not None:
            return f"s3://{attribute(self.bucket, 'bucket_name')}/{self.key}"
        return f"s3://{self.bucket_name}/{self.key}"

    def _bucket(self, scope: Construct) -> s3.IBucket:
        if self.bucket is not None:
            return self.bucket
        assert self.bucket_name is not None
        id_ = f"Bucket{self.bucket_name}"
        existing = scope.node.try_find_child(id_)
        if existing is not None:
            return cast(s3.IBucket, existing)
        return s3.Bucket.from_bucket_name(scope, id_, self.bucket_name)

    @property
    def _objects(self) -> str:
        """The key pattern a grant covers: exactly the object, or everything under the prefix."""
        return self.key if self.key and not self.key.endswith("/") else f"{self.key}*"

    def grant_read(self, scope: Construct, grantee: iam.IGrantable) -> list[str]:
        """Let grantee list and read exactly this object or prefix. Returns the wildcard object ARNs granted."""
        return self._grant(scope, grantee, ["s3:GetObject"], write=False)

    def grant_output(self, scope: Construct, grantee: iam.IGrantable) -> list[str]:
        """Let grantee list, read and write exactly this prefix. Returns the wildcard object ARNs granted."""
        return self._grant(scope, grantee, ["s3:GetObject", "s3:PutObject"], write=True)

    def _grant(self, scope: Construct, grantee: iam.IGrantable, actions: list[str], write: bool) -> list[str]:
        # Explicit statements rather than IBucket.grant_read: no s3:GetObject*/List* wildcards.
        bucket = self._bucket(scope)
        objects = bucket.arn_for_objects(self._objects)
        grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[objects]))
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": self._objects}},
            )
        )
        if bucket.encryption_key is not None:
            key_grant = bucket.encryption_key.grant_encrypt_decrypt if write else bucket.encryption_key.grant_decrypt
            key_grant(grantee)
        return [objects] if self._objects.endswith("*") else []


class RequestMetadataFilter:
    """Which invocation-log records to train on, by request metadata (the API's RequestMetadataFilters)."""

    def __init__(self, rendered: Mapping[str, Any], base: bool) -> None:
        self._rendered = dict(rendered)
        self._base = base

    @staticmethod
    def equals(key: str, value: str) -> RequestMetadataFilter:
        return RequestMetadataFilter({"equals": {key: value}}, base=True)

    @staticmethod
    def not_equals(key: str, value: str) -> RequestMetadataFilter:
        return RequestMetadataFilter({"notEquals": {key: value}}, base=True)

    @staticmethod
    def and_all(*filters: RequestMetadataFilter) -> RequestMetadataFilter:
        return RequestMetadataFilter({"andAll": RequestMetadataFilter._bases("and_all", filters)}, base=False)

    @staticmethod
    def or_all(*filters: RequestMetadataFilter) -> RequestMetadataFilter:
        return RequestMetadataFilter({"orAll": RequestMetadataFilter._bases("or_all", filters)}, base=False)

    @staticmethod
    def _bases(combinator: str, filters: Sequence[RequestMetadataFilter]) -> list[dict[str, Any]]:
        nested = [f for f in filters if not f._base]
        if nested:
            raise ValueError(
                f"{combinator}: takes equals and not_equals filters only, got {[f._rendered for f in nested]}"
            )
        return [f._rendered for f in filters]

    def render(self) -> dict[str, Any]:
        return dict(self._rendered)


@dataclass(frozen=True)
class InvocationLogs:
    """Training data taken from Bedrock model-invocation logs stored in S3 (for distillation)."""

    source: S3Data
    use_prompt_response: bool = False
    request_metadata_filters: RequestMetadataFilter | None = None


@dataclass(frozen=True)
class Customization:
    """The kind of customization. Create one with a static method."""

    customization_type: str
    config: Mapping[str, Any] | None = None
    grader: lambda_.IFunction | None = field(default=None, compare=False)

    @staticmethod
    def fine_tuning() -> Customization:
        return Customization("FINE_TUNING")

    @staticmethod
    def continued_pre_training() -> Customization:
        return Customization("CONTINUED_PRE_TRAINING")

    @staticmethod
    def distillation(teacher_model: str, *, max_response_length_for_inference: int | None = None) -> Customization:
        """Distil the teacher (a model id, ARN or inference profile ARN) into the base model.

        :param max_response_length_for_inference: tokens asked of the teacher. @default Bedrock's default
        """
        teacher: dict[str, Any] = {"teacherModelIdentifier": teacher_model}
        if max_response_length_for_inference is not None:
            teacher["maxResponseLengthForInference"] = max_response_length_for_inference
        return Customization("DISTILLATION", {"distillationConfig": {"teacherModelConfig": teacher}})

    @staticmethod
    def reinforcement_fine_tuning(
        grader: lambda_.IFunction, *, hyper_parameters: Mapping[str, Any] | None = None
    ) -> Customization:
        """Reinforcement fine-tuning, with rewards from a Lambda grader (the service role may invoke it).

        :param hyper_parameters: RFT hyperparameters as the API names them (``epochCount``,
            ``batchSize``, ``learningRate``...). @default Bedrock's defaults
        """
        rft: dict[str, Any] = {"graderConfig": {"lambdaGrader": {"lambdaArn": grader.function_arn}}}
        if hyper_parameters:
            rft["hyperParameters"] = dict(hyper_parameters)
        return Customization("REINFORCEMENT_FINE_TUNING", {"rftConfig": rft}, grader)
