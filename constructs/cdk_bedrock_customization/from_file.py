"""ModelsFromFile: the constructs of a models file (see models_file.py and the README)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_assets as s3_assets

from constructs import Construct

from .completion import Completion
from .custom_model import CustomModel
from .imported_model import ImportedCustomModel, ModelSource
from .inputs import Customization, InvocationLogs, S3Data
from .models_file import COMMITMENTS, ModelsFile
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
    file assets; the service role may read exactly those objects.
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
        super().__init__(scope, construct_id)
        self.file = ModelsFile.load(path, stage)
        self._provider = provider
        self.models: dict[str, CustomModelBase] = {}
        self.deployments: dict[str, CustomModelDeployment] = {}
        self.provisioned_throughput: dict[str, ProvisionedThroughput] = {}
        entries = dict(self.file.entries("models"))
        for key in _in_dependency_order(entries):
            self.models[key] = self._custom_model(key, entries[key])
        for key, entry in self.file.entries("imported_models"):
            self.models[key] = self._imported_model(key, entry)
        for key, entry in self.file.entries("deployments"):
            self.deployments[key] = CustomModelDeployment(
                self,
                key,
                model=self._served_model(key, str(entry["model"])),
                model_deployment_name=entry.get("model_deployment_name"),
                description=entry.get("description"),
                tags=dict(entry.get("tags") or {}),
                **self._common(entry),
            )
        for key, entry in self.file.entries("provisioned_throughput"):
            commitment = entry.get("commitment")
            self.provisioned_throughput[key] = ProvisionedThroughput(
                self,
                key,
                model=self._served_model(key, str(entry["model"])),
                model_units=int(entry["model_units"]),
                provisioned_model_name=entry.get("provisioned_model_name"),
                commitment=Commitment(COMMITMENTS[commitment]) if commitment else None,
                tags=dict(entry.get("tags") or {}),
                **self._common(entry),
            )

    def _common(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        common: dict[str, Any] = {"provider": self._provider}
        if "removal_policy" in entry:
            common["removal_policy"] = REMOVAL_POLICIES[str(entry["removal_policy"])]
        return common

    def _custom_model(self, key: str, entry: Mapping[str, Any]) -> CustomModel:
        base = str(entry["base_model"])
        kwargs: dict[str, Any] = {
            "base_model": self.models[base].model_arn if base in self.models else base,
            "output_data": S3Data.from_uri(str(entry["output_data"])),
            "customization": self._customization(key, entry),
            "completion": _completion(entry),
            "job_name": entry.get("job_name"),
            "custom_model_name": entry.get("custom_model_name"),
            "job_tags": dict(entry.get("job_tags") or {}),
            "custom_model_tags": dict(entry.get("custom_model_tags") or {}),
            **self._common(entry),
        }
        if "invocation_logs" in entry:
            logs = entry["invocation_logs"]
            kwargs["training_data"] = InvocationLogs(
                source=S3Data.from_uri(str(logs["source"])), use_prompt_response=bool(logs.get("use_prompt_response"))
            )
        else:
            kwargs["training_data"] = self._data(f"{key}TrainingData", str(entry["training_data"]))
        if entry.get("validation_data"):
            kwargs["validation_data"] = [
                self._data(f"{key}ValidationData{index}", str(item))
                for index, item in enumerate(entry["validation_data"])
            ]
        if entry.get("hyper_parameters"):
            kwargs["hyper_parameters"] = dict(entry["hyper_parameters"])
        if "role" in entry:
            kwargs["role"] = iam.Role.from_role_arn(self, f"{key}Role", str(entry["role"]), mutable=False)
        if "kms_key" in entry:
            kwargs["kms_key"] = kms.Key.from_key_arn(self, f"{key}Key", str(entry["kms_key"]))
        return CustomModel(self, key, **kwargs)

    def _customization(self, key: str, entry: Mapping[str, Any]) -> Customization:
        kind = str(entry.get("customization", "fine_tuning"))
        if kind == "distillation":
            return Customization.distillation(
                str(entry.get("teacher_model", "")),
                max_response_length_for_inference=entry.get("max_response_length_for_inference"),
            )
        if kind == "reinforcement_fine_tuning":
            grader = lambda_.Function.from_function_arn(self, f"{key}Grader", str(entry.get("grader", "")))
            return Customization.reinforcement_fine_tuning(
                grader, hyper_parameters=dict(entry.get("rft_hyper_parameters") or {}) or None
            )
        return (
            Customization.continued_pre_training() if kind == "continued_pre_training" else Customization.fine_tuning()
        )

    def _data(self, construct_id: str, value: str) -> S3Data:
        """An s3:// URI, or a local file shipped as an asset (already validated by ModelsFile)."""
        if value.startswith("s3://"):
            return S3Data.from_uri(value)
        asset = s3_assets.Asset(self, construct_id, path=str(self.file.local_path(value)))
        return S3Data.from_bucket(asset.bucket, asset.s3_object_key)

    def _imported_model(self, key: str, entry: Mapping[str, Any]) -> ImportedCustomModel:
        source = (
            ModelSource.from_uri(str(entry["source_uri"]))
            if "source_uri" in entry
            else ModelSource.from_model_package_arn(str(entry.get("model_package_arn", "")))
        )
        return ImportedCustomModel(
            self,
            key,
            source=source,
            model_name=entry.get("model_name"),
            role=iam.Role.from_role_arn(self, f"{key}Role", str(entry["role"]), mutable=False)
            if "role" in entry
            else None,
            kms_key=kms.Key.from_key_arn(self, f"{key}Key", str(entry["kms_key"])) if "kms_key" in entry else None,
            model_tags=dict(entry.get("model_tags") or {}),
            **self._common(entry),
        )

    def _served_model(self, key: str, model: str) -> Any:
        """The model an entry serves: a key of the file, a custom model ARN, or a foundation model."""
        if model in self.models:
            return self.models[model]
        if ":custom-model/" in model:
            return CustomModel.from_custom_model_arn(self, f"{key}Model", model)
        model_id = model.split("foundation-model/", 1)[-1]
        return bedrock.FoundationModel.from_foundation_model_id(
            self, f"{key}Model", bedrock.FoundationModelIdentifier(model_id)
        )


def _completion(entry: Mapping[str, Any]) -> Completion:
    mode = str(entry.get("completion", "event_driven"))
    if mode == "polling":
        return Completion.polling()
    if mode == "no_wait":
        return Completion.no_wait()
    # In seconds, and at least one (the wait condition's least): any number of hours the file allows is valid.
    hours = float(entry.get("completion_timeout_hours", 12))
    return Completion.event_driven(cdk.Duration.seconds(max(1, round(hours * 3600))))


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
