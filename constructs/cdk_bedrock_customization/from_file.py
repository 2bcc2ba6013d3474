"""ModelsFromFile: the constructs of a models file (see models_file.py and the README)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from bedrock_custom_resource import contract

from constructs import Construct

from ._prop_types import check_prop_types
from ._regions import another_partition_problem, another_region_problem
from ._requests import CompletionMode
from ._resource import another_account_problem
from .completion import Completion, wait_shorter_than_the_checks
from .copied_model import CopiedCustomModel
from .custom_model import CustomModel
from .entry_props import (
    WEIGHTS_BUCKET_ID,
    after_keys,
    completion_of,
    construct_props,
    requirement_calls,
    weights_upload_id,
)
from .evaluation import EvaluationDataset, ModelEvaluation
from .imported_model import ImportedCustomModel, ModelSource
from .inputs import Customization, InvocationLogs, S3Data
from .model_import import ImportedModel
from .models_file import ModelsFile
from .provider import CustomizationProvider
from .serving import Commitment, CustomModelBase, CustomModelDeployment, ProvisionedThroughput

REMOVAL_POLICIES = {
    "retain": cdk.RemovalPolicy.RETAIN,
    "destroy": cdk.RemovalPolicy.DESTROY,
    "retain_on_update_or_delete": cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
}


class ModelsFromFile(Construct):
    """Every entry of a models file, built into this library's constructs and reachable by its key.

    The file is validated first, as ``cdk-bedrock-customization validate --stage`` validates it: any problem
    stops the synth with one ModelsFileError, whose message lists every problem as one line,
    ``file:line:column: path.to.field: message``. Local .jsonl datasets are validated and shipped as
    file assets; the service role may read exactly those objects. Local folders of open-weight models are checked
    as ``validate-weights`` checks them and uploaded, unzipped, to a bucket of this construct (``weights_bucket``).

    Evaluations (``ModelEvaluation``, built last) evaluate a provisioned throughput or an open-weight model of the
    file by its key, or a foundation model or inference profile by its id or ARN, and their gates check the scores
    against what ``require`` lists: a deployment or a throughput with ``after: <evaluation key>`` is created only
    once that evaluation's gate has passed. Local prompt datasets are validated and shipped as file assets, as
    training data is.

    ``models`` holds the models of the ``models``, ``imported_models`` and ``copied_models`` sections, by key;
    ``open_weight_models``, ``deployments``, ``provisioned_throughput`` and ``evaluations`` the entries of their
    sections.

    Example::

        models = ModelsFromFile(self, "Models", path=models_file, stage="prod")
        models.deployments["support-on-demand"].grant_invoke(function)
        function.add_environment("MODEL_ARN", models.models["support-assistant"].model_arn)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        path: str | Path,
        stage: str | None = None,
        provider: CustomizationProvider | None = None,
    ) -> None:
        """
        :param path: the models file (YAML or JSON).
        :param stage: the stage whose overrides apply (a key of the file's ``stages``). @default none
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        check_prop_types(ModelsFromFile.__init__, locals())  # before anything is made
        # Refusals before anything is made. Not after: what later entries refuse leaves the earlier entries' models
        # in place (their grants and job order, on the stack's provider, refer to them).
        file = ModelsFile.load(path, stage)
        _check_regions(scope, file)
        _check_accounts_and_partitions(scope, file)
        _check_waits(scope, file)
        super().__init__(scope, construct_id)
        self.file = file
        self.models: dict[str, CustomModelBase] = {}
        self.open_weight_models: dict[str, ImportedModel] = {}
        self.deployments: dict[str, CustomModelDeployment] = {}
        self.provisioned_throughput: dict[str, ProvisionedThroughput] = {}
        self.evaluations: dict[str, ModelEvaluation] = {}
        bind = _InScope(self)
        # Imported models first: a model of the models section may continue training one of them (base_model).
        for key, entry in self.file.entries("imported_models"):
            props = construct_props("imported_models", key, entry, bind)
            self.models[key] = ImportedCustomModel(self, key, **props, provider=provider)
        entries = dict(self.file.entries("models"))
        for key in _in_dependency_order(entries):
            props = construct_props("models", key, entries[key], bind)
            self.models[key] = CustomModel(self, key, **props, provider=provider)
            _warn_of_a_role_not_granted_its_local_data(self.models[key], "models", key, entries[key])
        for key, entry in self.file.entries("open_weight_models"):
            props = construct_props("open_weight_models", key, entry, bind)
            self.open_weight_models[key] = ImportedModel(self, key, **props, provider=provider)
        for key, entry in self.file.entries("copied_models"):  # served like the others, by their keys
            props = construct_props("copied_models", key, entry, bind)
            self.models[key] = CopiedCustomModel(self, key, **props, provider=provider)
        for key, entry in self.file.entries("deployments"):
            props = construct_props("deployments", key, entry, bind)
            self.deployments[key] = CustomModelDeployment(self, key, **props, provider=provider)
        for key, entry in self.file.entries("provisioned_throughput"):
            props = construct_props("provisioned_throughput", key, entry, bind)
            self.provisioned_throughput[key] = ProvisionedThroughput(self, key, **props, provider=provider)
        # Evaluations last: they evaluate the throughput and open-weight models above, by key.
        for key, entry in self.file.entries("evaluations"):
            self.evaluations[key] = self._evaluation(key, entry, bind, provider)
            _warn_of_a_role_not_granted_its_local_data(self.evaluations[key], "evaluations", key, entry)
        for section, built in (
            ("deployments", self.deployments),
            ("provisioned_throughput", self.provisioned_throughput),
        ):
            for key, entry in self.file.entries(section):
                for _path, evaluation in after_keys(entry):
                    self.evaluations[evaluation].guard(built[key])

    def _evaluation(
        self, key: str, entry: Mapping[str, Any], bind: _InScope, provider: CustomizationProvider | None
    ) -> ModelEvaluation:
        """An evaluation and its requirements. The file was validated with the construct's rules; what only the
        construct checks (the size of the gate's response) is a problem of the entry, too."""
        try:
            evaluation = ModelEvaluation(
                self, key, **construct_props("evaluations", key, entry, bind), provider=provider
            )
            for _index, method, kwargs in requirement_calls(entry):
                getattr(evaluation, method)(**kwargs)
        except ValueError as error:
            raise self.file.error(["evaluations", key], str(error)) from None
        return evaluation

    @functools.cached_property
    def weights_bucket(self) -> s3.Bucket:
        """The bucket that the file's local folders of weights are uploaded to (under their keys), made on first
        use; kept when the stack is deleted, like the weights."""
        return s3.Bucket(
            self,
            WEIGHTS_BUCKET_ID,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_prefix="access-logs/",
        )


# The scope of the constructs that stand for an entry's inputs (an imported role, key, model or grader, a shipped
# dataset): apart from the entries, whose keys are ids in the ModelsFromFile itself, so that no key can clash with
# them (a key starts with a letter). None of them is a CloudFormation resource: moving them changes no template.
INPUTS_ID = "_inputs"


# The fields that name a model or key by ARN, which must be of the stack's Region, by section.
_REGIONAL_FIELDS = {
    "models": ("base_model", "teacher_model", "kms_key"),
    "imported_models": ("kms_key",),
    "open_weight_models": ("kms_key",),
    "copied_models": ("kms_key",),
    "deployments": ("model",),
    "provisioned_throughput": ("model",),
    "evaluations": ("model", "baseline_model", "evaluator_model", "kms_key"),
}


_SERVING_REMEDY = "Bedrock serves a model in its own Region; give the model's id, or its ARN in this Region"
_REMEDY = "Bedrock uses it in its own Region only; give one of this Region"


def _check_regions(scope: Construct, file: ModelsFile) -> None:
    """Each model or key ARN of the file is of the stack's Region (when the stack has one), before anything is made:
    Bedrock serves, customizes, evaluates and encrypts with what is in its own Region (a foundation model is rebuilt
    as the stack's)."""
    for section, fields in _REGIONAL_FIELDS.items():
        for key, entry in file.entries(section):
            for field_name in fields:
                value = entry.get(field_name)
                if not isinstance(value, str):
                    continue
                what = "a key" if field_name == "kms_key" else "a model"
                remedy = _SERVING_REMEDY if section in ("deployments", "provisioned_throughput") else _REMEDY
                problem = another_region_problem(scope, value, what, remedy)
                if problem is not None:
                    raise file.error([section, key, field_name], problem)


# The fields that name a role, a grader or a copy's source by ARN, by section, and what each names: of the stack's
# partition (a role of its account too). The constructs refuse the same, naming no file line: the file says it first.
_PARTITIONED_FIELDS = {
    "models": {"role": "a role", "grader": "a grader function"},
    "imported_models": {"role": "a role"},
    "open_weight_models": {"role": "a role"},
    "copied_models": {"source_model": "a model"},
    "evaluations": {"role": "a role"},
}


def _check_accounts_and_partitions(scope: Construct, file: ModelsFile) -> None:
    """Each role, grader and copy source ARN of the file is of the stack's partition, and each role of its account
    (when the stack's environment tells them), before anything is made. A grader's pattern lets the partition be left
    out, which aws-cdk-lib's Function.from_function_arn refuses."""
    for section, fields in _PARTITIONED_FIELDS.items():
        for key, entry in file.entries(section):
            for field_name, what in fields.items():
                value = entry.get(field_name)
                if not isinstance(value, str) or not value.startswith("arn:") or value.count(":") < 5:
                    continue
                problem = another_partition_problem(scope, value, what)
                if problem is None and not value.split(":")[1]:
                    problem = f"{value!r} names no partition (the aws of arn:aws:..., in most Regions)"
                if problem is None and field_name == "role":
                    problem = another_account_problem(scope, value.split(":")[4], value)
                if problem is not None:
                    raise file.error([section, key, field_name], problem)


# The sections whose entries start jobs that emit no events, and those jobs' resource types.
_JOBS_WITHOUT_EVENTS = {
    "open_weight_models": contract.MODEL_IMPORT,
    "copied_models": contract.MODEL_COPY,
    "evaluations": contract.MODEL_EVALUATION,
}


def _check_waits(scope: Construct, file: ModelsFile) -> None:
    """Each event-driven wait for a job that emits no events outlasts the stack's notifier's checks, before anything
    is made (the file alone cannot say: the stack's check_interval is set in code)."""
    stack = cdk.Stack.of(scope)
    for section, resource_type in _JOBS_WITHOUT_EVENTS.items():
        for key, entry in file.entries(section):
            mode, seconds = completion_of(entry)
            if mode is not CompletionMode.EVENT_DRIVEN:
                continue
            problem = wait_shorter_than_the_checks(stack, resource_type, cdk.Duration.seconds(seconds))
            if problem is not None:
                raise file.error([section, key, "completion_timeout_hours"], problem)


class _InScope:
    """Binds an entry's values as constructs in the scope of a ModelsFromFile (entry_props.Binder)."""

    def __init__(self, scope: ModelsFromFile) -> None:
        self.scope = scope

    @functools.cached_property
    def inputs(self) -> Construct:
        """The scope of the constructs standing for entries' inputs (INPUTS_ID), made on first use."""
        return Construct(self.scope, INPUTS_ID)

    def model(self, key: str, value: str, *, served: bool) -> Any:
        """A key of the file (built already: models come in dependency order), or a model id or ARN."""
        models = self.scope.models
        if value in models:
            return models[value]
        if not served:
            return value
        if ":custom-model/" in value:
            return CustomModel.from_custom_model_arn(self.inputs, f"{key}Model", value)
        model_id = value.split("foundation-model/", 1)[-1]
        return bedrock.FoundationModel.from_foundation_model_id(
            self.inputs, f"{key}Model", bedrock.FoundationModelIdentifier(model_id)
        )

    def evaluated(self, key: str, value: str) -> ProvisionedThroughput | ImportedModel | str:
        """A throughput or an open-weight model of the file (built already), or a model id or ARN."""
        if value in self.scope.provisioned_throughput:
            return self.scope.provisioned_throughput[value]
        return self.scope.open_weight_models.get(value, value)

    def evaluation_dataset(
        self, key: str, name: str, task_type: str, metric_names: list[str], data: str | None
    ) -> EvaluationDataset:
        """A built-in dataset, one in S3, or a local file (already validated by ModelsFile), shipped by the
        evaluation as an asset."""
        if data is None:
            return EvaluationDataset.builtin(name, task_type=task_type, metric_names=metric_names)
        if data.startswith("s3://"):
            return EvaluationDataset.from_s3(
                name, S3Data.from_uri(data), task_type=task_type, metric_names=metric_names
            )
        path = self.scope.file.local_path(data)
        return EvaluationDataset.from_local_file(name, path, task_type=task_type, metric_names=metric_names)

    def data(self, key: str, name: str, value: str) -> S3Data:
        """An s3:// URI, or a local file shipped as an asset (already validated by ModelsFile)."""
        if value.startswith("s3://"):
            return S3Data.from_uri(value)
        # Shipped here, not by the model: the file's validation has already checked it against its model.
        return S3Data(local_file=str(self.scope.file.local_path(value))).shipped(self.inputs, f"{key}{name}")

    def output(self, uri: str) -> S3Data:
        return S3Data.from_uri(uri)

    def weights(self, key: str, value: str) -> S3Data:
        """An s3:// URI, or a local folder (already validated by ModelsFile) uploaded under <key>/ of the file's
        weights bucket."""
        if value.startswith("s3://"):
            return S3Data.from_uri(value)
        path = str(self.scope.file.local_path(value))
        return S3Data.from_local_folder(
            self.scope, weights_upload_id(key), path, bucket=self.scope.weights_bucket, key=f"{key}/"
        )

    def invocation_logs(self, source: str, use_prompt_response: bool) -> InvocationLogs:
        return InvocationLogs(source=S3Data.from_uri(source), use_prompt_response=use_prompt_response)

    def role(self, key: str, arn: str) -> iam.IRole:
        # As it is: a policy the stack added to a role named by ARN would be overwritten by another stack's (a stage's)
        # of the same name, and would name a role of another account in an environment-agnostic stack.
        return iam.Role.from_role_arn(self.inputs, f"{key}Role", arn, mutable=False)

    def key(self, key: str, arn: str) -> kms.IKey:
        return kms.Key.from_key_arn(self.inputs, f"{key}Key", arn)

    def customization(self, key: str, kind: str, options: Mapping[str, Any]) -> Customization:
        if kind == "reinforcement_fine_tuning":
            grader = lambda_.Function.from_function_arn(self.inputs, f"{key}Grader", str(options["grader"]))
            return Customization.reinforcement_fine_tuning(grader, hyper_parameters=options["hyper_parameters"])
        method: Callable[..., Customization] = getattr(Customization, kind)
        return method(**options)

    def completion(self, mode: CompletionMode, timeout_seconds: int, resource_type: str) -> Completion:
        """A Completion, whatever the job: its construct sets its waitUntil for its own resource type."""
        if mode is CompletionMode.EVENT_DRIVEN:
            return Completion.event_driven(cdk.Duration.seconds(timeout_seconds))
        return Completion.polling() if mode is CompletionMode.POLLING else Completion.no_wait()

    def model_source(self, source_uri: str | None, model_package_arn: str | None) -> ModelSource:
        if source_uri is not None:
            return ModelSource.from_uri(source_uri)
        return ModelSource.from_model_package_arn(str(model_package_arn))

    def commitment(self, duration: str) -> Commitment:
        return Commitment(duration)

    def removal_policy(self, value: str) -> cdk.RemovalPolicy:
        return REMOVAL_POLICIES[value]


ROLE_WARNING_ID = "cdk-bedrock-customization:roleNotGrantedLocalDatasets"


def _warn_of_a_role_not_granted_its_local_data(
    construct: Construct, section: str, key: str, entry: Mapping[str, Any]
) -> None:
    """A role named by ARN is used as it is (_InScope.role), so it is not granted the local datasets shipped as file
    assets, as a role made here or given in Python is: their keys are the files' hashes."""
    if section == "models":
        values = [entry.get("training_data"), *(entry.get("validation_data") or [])]
    else:
        values = [dataset.get("data") for dataset in entry.get("datasets") or [] if isinstance(dataset, Mapping)]
    local = [value for value in values if isinstance(value, str) and not value.startswith("s3://")]
    if "role" not in entry or not local:
        return
    cdk.Annotations.of(construct).add_warning_v2(
        ROLE_WARNING_ID,
        f"{section}.{key}.role: {entry['role']} is used as it is, so it is not granted read on the local datasets "
        f"shipped as file assets ({', '.join(local)}): grant it s3:GetObject on the CDK's file assets (the bootstrap "
        "bucket), or leave role out for one made with exactly the grants the job needs",
    )


def _in_dependency_order(entries: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Keys, each after the model it continues training (the file has no cycles: ModelsFile checked). Without
    recursion, so that a long chain of models is no problem."""
    ordered: dict[str, None] = {}
    for key in entries:
        chain: dict[str, None] = {}
        while key in entries and key not in ordered and key not in chain:
            chain[key] = None
            key = str(entries[key]["base_model"])
        ordered.update(dict.fromkeys(reversed(chain)))
    return list(ordered)
