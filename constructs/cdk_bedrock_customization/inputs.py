"""The typed inputs of CustomModel: where data lives, and what kind of customization to run."""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from bedrock_custom_resource import contract

from constructs import Construct, IDependable

from . import _requests
from ._prop_types import check_prop_types, check_types
from ._regions import refuse_another_partition
from ._resource import Grants, key_itself
from ._tokens import STRING_TOKEN, attribute, is_unresolved, with_names_resolved
from .datasets import check_quota_overrides

_S3_URI = re.compile(r"s3://(?P<bucket>[^/]+)(?:/(?P<key>.*))?")
# A Bedrock ARN; a token may stand for its partition, Region or account (an aws_bedrock.FoundationModel's ARN).
_BEDROCK_ARN = re.compile(r"arn:(?P<partition>[^:]+):bedrock:[^:]*:[^:]*:(?P<type>[a-z-]+)/(?P<id>.+)")
# A cross-Region (system-defined) inference profile is named after its model: the model's id (provider.model)
# behind a geography prefix (us., eu., apac., jp., au., ca., us-gov., global.; Bedrock user guide, "Supported
# Regions and models for inference profiles"). A foundation model's id has no such prefix.
_PROFILE_ID = re.compile(r"(?P<geography>[a-z-]+)\.(?P<model>[a-z0-9-]+\.[^.]+)")
# The resource types of inference profiles: cross-Region (system-defined) and application profiles.
_PROFILE_TYPES = ("inference-profile", "application-inference-profile")


@dataclass(frozen=True)
class S3Data:
    """An S3 object or prefix: a bucket of this app with a key, or an ``s3://`` URI."""

    key: str = ""
    bucket: s3.IBucket | None = None
    bucket_name: str | None = None  # for a bucket given by URI
    # For a local folder uploaded when the stack deploys: the folder, and the upload, which readers wait for.
    local_folder: str | None = None
    uploaded_by: IDependable | None = None
    # For a local dataset file, until the construct that trains on it has validated it and made it an asset; and
    # the quotas it is validated with besides the documented ones (name, value), as from_local_file gives them.
    local_file: str | None = None
    quotas: tuple[tuple[str, int | None], ...] = ()
    # For a local dataset file once shipped as a file asset: the file. A role given to the construct that reads it is
    # granted read on it, as its key (the file's hash) is not one the role's owner could name ahead.
    shipped_from: str | None = None

    @staticmethod
    def from_bucket(bucket: s3.IBucket, key: str = "") -> S3Data:
        """An object (``data/train.jsonl``) or a prefix ending in ``/`` (``output/``) in this bucket.

        :param bucket: a bucket of this app, made or imported (``s3.Bucket.from_bucket_name``)
        :param key: the object's key, or a prefix ending in ``/``; checked as part of an ``s3://`` URI against the
            service model's S3Uri pattern (a token is checked at deploy time). @default "": the whole bucket
        """
        check_prop_types(S3Data.from_bucket, locals())
        # The bucket's name is usually a token, which the contract leaves to deploy time: its key is checked here, in
        # a URI of a bucket name at its shortest (3 characters), so no key that fits is refused.
        problems = [] if is_unresolved(key) else contract.value_problems("S3Uri", f"s3://abc/{key}", "key")
        if problems:
            raise ValueError(f"S3Data.from_bucket: {problems[0]}")
        return S3Data(key=key, bucket=bucket)

    @staticmethod
    def from_uri(uri: str) -> S3Data:
        """An ``s3://bucket/key`` URI of a bucket outside this app.

        :param uri: ``s3://`` followed by the bucket's name and, optionally, ``/`` and a key or a prefix ending in
            ``/``; refused when it is not of that form, or is a token
        """
        check_types(uri=(uri, str))
        match = _S3_URI.fullmatch(uri) if not is_unresolved(uri) else None
        if match is None:
            raise ValueError(f"S3 URI {uri!r} is not of the form s3://bucket/key; use S3Data.from_bucket for a bucket")
        return S3Data(key=match["key"] or "", bucket_name=match["bucket"])

    @staticmethod
    def from_local_folder(scope: Construct, construct_id: str, path: str, *, bucket: s3.IBucket, key: str) -> S3Data:
        """A local folder, uploaded as it is (unzipped) under ``key``, a prefix ending in ``/``, of ``bucket`` when
        the stack deploys, by aws-cdk-lib's BucketDeployment (``construct_id`` in ``scope``); what reads the prefix
        waits for the upload. Objects under the prefix that are not the folder's are removed; the files stay when
        the stack is deleted. A folder must fit the upload function's storage (about 4.8 GiB); upload a larger one
        with ``aws s3 sync`` and use ``from_uri``.

        :param path: the local folder to upload
        """
        from ._uploads import upload_folder  # loads aws_s3_deployment only when a folder is uploaded

        upload = upload_folder(scope, construct_id, path, bucket, key)
        return S3Data(key=key, bucket=bucket, local_folder=path, uploaded_by=upload)

    @staticmethod
    def from_local_file(path: str | os.PathLike[str], *, quotas: Mapping[str, int | None] | None = None) -> S3Data:
        """A local ``.jsonl`` dataset, for ``training_data`` or ``validation_data``: the model that trains on it
        validates it at synth, as ``cdk-bedrock-customization validate`` validates a models file's local datasets
        (its base model's format and Bedrock's quotas), then ships it as a file asset. Bedrock's user guide describes
        each training and validation dataset as one file; a folder of weights is ``from_local_folder``'s.

        :param path: the local ``.jsonl`` file; refused when it is a folder or does not exist
        :param quotas: your account's values of quotas adjusted with Service Quotas, by name (``datasets.QUOTA_NAMES``:
            ``{"max_total_records": 20000}``), or None to skip one; a training file's apply to the job's total.
            @default the documented quotas
        """
        check_types(path=(path, (str, os.PathLike)))
        if not os.path.isfile(path):
            what = "a folder" if os.path.isdir(path) else "not a file"
            raise ValueError(f"S3Data.from_local_file: {os.fspath(path)!r} is {what}; a dataset is one .jsonl file")
        try:
            check_quota_overrides(quotas or {})
        except ValueError as error:
            raise ValueError(f"S3Data.from_local_file: quotas: {error}") from None
        return S3Data(local_file=os.fspath(path), quotas=tuple((quotas or {}).items()))

    def shipped(self, scope: Construct, construct_id: str) -> S3Data:
        """Where the data is once deployed: a local file becomes a file asset (construct_id in scope); other data
        is where it already is."""
        if self.local_file is None:
            return self
        asset = s3_assets.Asset(scope, construct_id, path=self.local_file)
        return replace(S3Data.from_bucket(asset.bucket, asset.s3_object_key), shipped_from=self.local_file)

    @property
    def uri(self) -> str:
        """The ``s3://bucket/key`` URI; refused for a local file, which the model that trains on it ships."""
        self._check_shipped()
        if self.bucket is not None:
            return f"s3://{attribute(self.bucket, 'bucket_name')}/{self.key}"
        return f"s3://{self.bucket_name}/{self.key}"

    def _check_shipped(self) -> None:
        if self.local_file is not None:
            raise ValueError(
                f"S3Data.from_local_file({self.local_file!r}): a local dataset is shipped by the model that trains on "
                "it; give it as a CustomModel's training_data or validation_data (an evaluation's prompts: "
                "EvaluationDataset.from_local_file)"
            )

    def _bucket(self, scope: Construct) -> s3.IBucket:
        self._check_shipped()
        if self.bucket is not None:
            return self.bucket
        assert self.bucket_name is not None
        id_ = f"Bucket{self.bucket_name}"
        existing = scope.node.try_find_child(id_)
        if existing is not None:
            return cast(s3.IBucket, existing)
        try:
            return s3.Bucket.from_bucket_name(scope, id_, self.bucket_name)
        except RuntimeError as error:  # aws-cdk-lib's check of S3's bucket naming rules
            raise ValueError(f"S3 URI {self.uri!r}: {error}") from None

    def _objects(self, folder: bool) -> str:
        """The key pattern a grant covers: exactly the object, or everything under the prefix. A folder's key is a
        prefix with or without its final /: Bedrock reads and writes s3://bucket/output as s3://bucket/output/."""
        key = iam_literal(self.key)
        if not key or key.endswith("/"):
            return f"{key}*"
        return f"{key}/*" if folder else key

    def arns(self, scope: Construct, *, folder: bool = False) -> tuple[str, str]:
        """The bucket's ARN, and the ARN of exactly this object or of everything under this prefix (or folder)."""
        bucket_arn, _key_arn = _bucket_facts(self._bucket(scope))
        return bucket_arn, f"{bucket_arn}/{self._objects(folder)}"

    def allow_read(self, scope: Construct, grants: Grants, *, folder: bool = False) -> list[str]:
        """For the library's constructs: add to grants, a service role's statements, listing and reading exactly this
        object or prefix (or folder: what Bedrock reads as one, such as a model's weights). Returns the wildcard object
        ARNs granted."""
        return self._allow(scope, grants, ["s3:GetObject"], write=False, folder=folder)

    def allow_output(self, scope: Construct, grants: Grants) -> list[str]:
        """For the library's constructs: add to grants, a service role's statements, listing, reading and writing
        exactly this folder. Returns the wildcard object ARNs granted."""
        return self._allow(scope, grants, ["s3:GetObject", "s3:PutObject"], write=True, folder=True)

    def _allow(self, scope: Construct, grants: Grants, actions: list[str], *, write: bool, folder: bool) -> list[str]:
        # Explicit statements rather than IBucket.grant_read: no s3:GetObject*/List* wildcards.
        bucket_arn, key_arn = _bucket_facts(self._bucket(scope))
        refuse_another_partition(scope, "S3Data", bucket_arn, "a bucket")
        pattern = self._objects(folder)
        objects = f"{bucket_arn}/{pattern}"
        grants.allow(actions, [objects])
        # A folder named without its final /: listed with or without it (which one Bedrock lists is not documented).
        key = iam_literal(self.key)
        listed: str | list[str] = [key, pattern] if pattern == f"{key}/*" else pattern
        grants.allow(["s3:ListBucket"], [bucket_arn], {"StringLike": {"s3:prefix": listed}})
        if key_arn is not None:
            refuse_another_partition(scope, "S3Data", key_arn, "a bucket's key")
            # What S3 asks of the bucket key for SSE-KMS reads (Decrypt) and writes (GenerateDataKey, and Decrypt
            # for multipart uploads); named, rather than IKey.grant_encrypt_decrypt's ReEncrypt* and GenerateDataKey*.
            # In the role's policy, as IKey.grant puts it for a key of the role's account.
            grants.allow(["kms:Decrypt", *(["kms:GenerateDataKey"] if write else [])], [key_arn])
        return [objects] if "*" in pattern else []  # cdk-nag flags a literal ${*} too


# IAM's policy variables for the characters that are otherwise wildcards or start a variable (IAM user guide,
# "IAM policy elements: Variables and tags", special characters); a policy written with them needs Version 2012-10-17.
_IAM_SPECIAL = re.compile(r"[*?$]")


def iam_literal(text: str) -> str:
    """text as an IAM Resource or StringLike value matching exactly itself: an S3 key may hold * or ? (Bedrock's S3Uri
    allows *), which IAM would read as wildcards. Tokens within it are left as they are: their values are known only
    at deploy."""
    return "".join(
        part if STRING_TOKEN.fullmatch(part) else _IAM_SPECIAL.sub(lambda special: f"${{{special[0]}}}", part)
        for part in STRING_TOKEN.split(text)
    )


# A bucket's ARN and key ARN, read once per bucket: each read is a jsii round trip, and models share buckets.
_BUCKET_FACTS: weakref.WeakKeyDictionary[s3.IBucket, tuple[str, str | None]] = weakref.WeakKeyDictionary()


def _bucket_facts(bucket: s3.IBucket) -> tuple[str, str | None]:
    if bucket not in _BUCKET_FACTS:
        key = key_itself(bucket.encryption_key, "the bucket's encryption_key")
        _BUCKET_FACTS[bucket] = (bucket.bucket_arn, key.key_arn if key is not None else None)
    return _BUCKET_FACTS[bucket]


class RequestMetadataFilter:
    """Which invocation-log records to train on, by request metadata (the API's RequestMetadataFilters)."""

    def __init__(self, rendered: Mapping[str, Any], base: bool) -> None:
        self._rendered = dict(rendered)
        self._base = base

    @staticmethod
    def equals(key: str, value: str) -> RequestMetadataFilter:
        """Records whose request metadata has ``key`` equal to ``value``.

        :param key: 1 to 256 letters, digits, whitespace and ``._:/=+$@-`` (the API's RequestMetadataMap key)
        :param value: 0 to 256 of the same characters
        """
        check_types(key=(key, str), value=(value, str))
        return RequestMetadataFilter({"equals": {key: value}}, base=True)

    @staticmethod
    def not_equals(key: str, value: str) -> RequestMetadataFilter:
        """Records whose request metadata does not have ``key`` equal to ``value``.

        :param key: 1 to 256 letters, digits, whitespace and ``._:/=+$@-`` (the API's RequestMetadataMap key)
        :param value: 0 to 256 of the same characters
        """
        check_types(key=(key, str), value=(value, str))
        return RequestMetadataFilter({"notEquals": {key: value}}, base=True)

    @staticmethod
    def and_all(*filters: RequestMetadataFilter) -> RequestMetadataFilter:
        """Records that all the filters match.

        :param filters: 1 to 16 ``equals`` and ``not_equals`` filters (not ``and_all`` or ``or_all``, which are refused)
        """
        return RequestMetadataFilter({"andAll": RequestMetadataFilter._bases("and_all", filters)}, base=False)

    @staticmethod
    def or_all(*filters: RequestMetadataFilter) -> RequestMetadataFilter:
        """Records that any of the filters matches.

        :param filters: 1 to 16 ``equals`` and ``not_equals`` filters (not ``and_all`` or ``or_all``, which are refused)
        """
        return RequestMetadataFilter({"orAll": RequestMetadataFilter._bases("or_all", filters)}, base=False)

    @staticmethod
    def _bases(combinator: str, filters: Sequence[RequestMetadataFilter]) -> list[dict[str, Any]]:
        check_types(**{f"{combinator}[{index}]": (f, RequestMetadataFilter) for index, f in enumerate(filters)})
        nested = [f for f in filters if not f._base]
        if nested:
            raise ValueError(
                f"{combinator}: takes equals and not_equals filters only, got {[f._rendered for f in nested]}"
            )
        return [f._rendered for f in filters]

    def render(self) -> dict[str, Any]:
        """The filter as the API's RequestMetadataFilters member (``{"equals": {key: value}}``...)."""
        return dict(self._rendered)


@dataclass(frozen=True)
class InvocationLogs:
    """Training data taken from Bedrock model-invocation logs stored in S3 (for distillation).

    :param source: the S3 prefix (or object) of the invocation logs
    :param use_prompt_response: train on the logged responses too, rather than have the teacher answer each
        prompt again. @default False
    :param request_metadata_filters: which records to train on. @default all
    """

    source: S3Data
    use_prompt_response: bool = False
    request_metadata_filters: RequestMetadataFilter | None = None

    def __post_init__(self) -> None:
        check_types(
            source=(self.source, S3Data),
            use_prompt_response=(self.use_prompt_response, bool),
            request_metadata_filters=(self.request_metadata_filters, (RequestMetadataFilter, type(None))),
        )


@dataclass(frozen=True)
class Customization:
    """The kind of customization. Create one with a static method."""

    customization_type: str
    config: Mapping[str, Any] | None = None
    grader: lambda_.IFunction | None = field(default=None, compare=False)
    #: The distillation teacher's identifier (a model id, a profile id, or an ARN), for the service role's grant.
    teacher: str | None = None

    @staticmethod
    def fine_tuning() -> Customization:
        """Fine-tuning on labelled examples: the default."""
        return Customization("FINE_TUNING")

    @staticmethod
    def continued_pre_training() -> Customization:
        """Continued pre-training on unlabelled text."""
        return Customization("CONTINUED_PRE_TRAINING")

    @staticmethod
    def distillation(
        teacher_model: str | bedrock.IModel | bedrock.FoundationModelIdentifier,
        *,
        max_response_length_for_inference: int | None = None,
    ) -> Customization:
        """Distil the teacher into the base model.

        The service role that the construct creates may invoke the teacher (``bedrock:InvokeModel`` on it, or on a
        cross-Region profile and its model in each Region through it); a role you give must hold that itself.

        :param teacher_model: a foundation model id (``amazon.nova-pro-v1:0``) or ARN, a cross-Region
            inference profile id (``us.amazon.nova-premier-v1:0``) or ARN, an ``aws_bedrock.FoundationModel``
            (any ``aws_bedrock.IModel``), or an ``aws_bedrock.FoundationModelIdentifier``.
        :param max_response_length_for_inference: tokens asked of the teacher. @default Bedrock's default
        """
        identifier = _teacher_identifier(teacher_model)
        customization_type, config = _requests.distillation(identifier, max_response_length_for_inference)
        return Customization(customization_type, config, teacher=identifier)

    def allow_teacher(self, scope: Construct, grants: Grants) -> list[str]:
        """For the library's constructs: add to grants, a service role's statements, invoking the distillation teacher
        (nothing for other customizations). Returns the wildcard ARNs granted.

        Bedrock user guide, "Prerequisites for model distillation" and "Model customization access and
        security" (custom-models-cross-region-inference-profile-permissions): the service role needs
        ``bedrock:InvokeModel`` on the teacher; for a cross-Region inference profile, on the profile in the
        job's Region and on the model in each Region of the profile.
        """
        if self.teacher is None:
            return []
        return allow_invoking(scope, grants, self.teacher)

    def teacher_model(self, scope: Construct) -> str | None:
        """The distillation teacher when it is a foundation or custom model (or a token): CreateModelCustomizationJob's
        request names it, and the Service Authorization Reference lists those kinds, not inference profiles, as the
        action's resources, so its caller needs the action on it too."""
        resource = None if self.teacher is None else model_resource(scope, self.teacher)
        if resource is not None and resource[0] not in ("foundation-model", "custom-model"):
            return None
        return self.teacher

    @staticmethod
    def reinforcement_fine_tuning(
        grader: lambda_.IFunction, *, hyper_parameters: Mapping[str, Any] | None = None
    ) -> Customization:
        """Reinforcement fine-tuning, with rewards from a Lambda grader (the service role may invoke it).

        :param hyper_parameters: RFT hyperparameters as the API names them (``epochCount``,
            ``batchSize``, ``learningRate``...). @default Bedrock's defaults
        """
        check_prop_types(Customization.reinforcement_fine_tuning, locals())
        if hyper_parameters is not None:
            hyper_parameters = with_names_resolved(grader, hyper_parameters, "hyper_parameters")
        customization_type, config = _requests.reinforcement_fine_tuning(grader.function_arn, hyper_parameters)
        return Customization(customization_type, config, grader)


def _teacher_identifier(teacher: Any) -> str:
    if isinstance(teacher, str):
        return teacher
    if isinstance(teacher, bedrock.FoundationModelIdentifier):
        return str(teacher.model_id)
    model_arn = getattr(teacher, "model_arn", None)
    if isinstance(model_arn, str):  # an aws_bedrock.IModel
        return model_arn
    raise ValueError(
        f"teacher_model: {teacher!r} is not a model id or ARN, an aws_bedrock.IModel or a FoundationModelIdentifier"
    )


def _foundation_model(stack: cdk.Stack, model_id: str) -> str:
    return stack.format_arn(service="bedrock", account="", resource="foundation-model", resource_name=model_id)


def model_resource(scope: Construct, identifier: str) -> tuple[str, str] | None:
    """The Bedrock resource type and ARN a model identifier names: an ARN's own (foundation-model,
    inference-profile, provisioned-model, ...), a cross-Region inference profile id's profile in the stack's Region,
    a foundation model id's model; None for a token."""
    if is_unresolved(identifier):
        return None
    arn = _BEDROCK_ARN.fullmatch(identifier)
    if arn is not None:
        return arn["type"], identifier
    stack = cdk.Stack.of(scope)
    if _PROFILE_ID.fullmatch(identifier):
        return "inference-profile", stack.format_arn(
            service="bedrock", resource="inference-profile", resource_name=identifier
        )
    return "foundation-model", _foundation_model(stack, identifier)


def allow_invoking(
    scope: Construct, grants: Grants, identifier: str, actions: Sequence[str] = ("bedrock:InvokeModel",)
) -> list[str]:
    """Grant invoking a model: a foundation model id or ARN, an inference profile (a cross-Region profile's id or ARN,
    an application profile's ARN), or the ARN of any other model (a provisioned throughput, an imported model).
    Returns the wildcard ARNs granted.

    Bedrock user guide, "Prerequisites for inference profiles" (and custom-models-cross-region-inference-profile-
    permissions): for an inference profile, of either kind, on the profile and on the foundation model in each Region
    the profile routes to. InvokeModel by default: the action the user guide's distillation policies name.
    """
    resource = model_resource(scope, identifier)
    profile_arn = resource[1] if resource is not None and resource[0] in _PROFILE_TYPES else None
    arn = _BEDROCK_ARN.fullmatch(profile_arn) if profile_arn is not None else None
    # A cross-Region profile is named after its model; an application profile's models are set when it is made, and
    # are not known here: any foundation model, only through it.
    model = None
    if arn is not None and arn["type"] == "application-inference-profile":
        model = "*"
    elif arn is not None:
        system = _PROFILE_ID.fullmatch(arn["id"])
        model = None if system is None else system["model"]
    if resource is None or arn is None or model is None:
        # A foundation model id is granted in the stack's Region. A token that does not read as an ARN (a parameter,
        # a model of the stack) is granted as it is: it must be the model's ARN.
        grants.allow(list(actions), [identifier if resource is None else resource[1]])
        return []
    # Which Regions a geographic profile routes to depends on its model and source Region (each model's page lists
    # them), not on the prefix alone, and a global profile routes to every commercial Region: the model is granted in
    # every Region (a global profile's model ARN has no Region, which * also matches), and only through this profile
    # (bedrock:InferenceProfileArn; "Prerequisites for inference profiles").
    models = f"arn:{arn['partition']}:bedrock:*::foundation-model/{model}"
    grants.allow(list(actions), [resource[1]])
    grants.allow(list(actions), [models], {"ArnEquals": {"bedrock:InferenceProfileArn": resource[1]}})
    return [models]
