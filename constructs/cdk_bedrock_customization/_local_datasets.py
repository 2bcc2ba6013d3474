"""A CustomModel's local datasets (``S3Data.from_local_file``): validated at synth as the models file validates its
own (``_entry_checks``: each file, then the quotas on a job's records together), then shipped as file assets."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk

from constructs import Construct

from ._tokens import is_unresolved
from .datasets import ASSET_BUCKET, DatasetError, DatasetSummary, check_total_records, validate_dataset
from .inputs import InvocationLogs, S3Data

DATASET_WARNING_ID = "cdk-bedrock-customization:datasetWarning"


def ship_local_datasets(
    scope: Construct,
    base_model: str,
    customization_type: str,
    training_data: S3Data | InvocationLogs,
    validation_data: Sequence[S3Data],
) -> tuple[S3Data | InvocationLogs, list[S3Data]]:
    """training_data and validation_data as deployed: each local file validated against base_model's documented
    format for customization_type, its warnings shown as synth warnings, and shipped as an asset of scope."""
    named = [("training_data", training_data), *((f"validation_data[{i}]", v) for i, v in enumerate(validation_data))]
    local = [(name, data) for name, data in named if isinstance(data, S3Data) and data.local_file is not None]
    if not local:
        return training_data, list(validation_data)
    _, arn_of_model, model_id = base_model.rpartition(":foundation-model/")
    if is_unresolved(base_model) and arn_of_model and not is_unresolved(model_id):
        base_model = model_id  # aws_bedrock.FoundationModel's ARN: its partition alone is a token
    if is_unresolved(base_model):
        raise ValueError(
            f"{local[0][0]}: a local dataset is checked against its base model's format, and base_model is known "
            "only at deploy time here; give base_model as a model id or a CustomModel, or upload the file and use "
            "S3Data.from_bucket"
        )
    summaries: dict[str, DatasetSummary] = {}
    for name, data in local:
        try:
            summary = validate_dataset(
                str(data.local_file),
                customization_type=customization_type,
                base_model=base_model,
                purpose="training" if name == "training_data" else "validation",
                quotas=dict(data.quotas),
                dataset_bucket=ASSET_BUCKET,
            )
        except DatasetError as error:
            raise ValueError(f"{name}: {error}") from None
        summaries[name] = summary
        for warning in summary.warnings:
            cdk.Annotations.of(scope).add_warning_v2(DATASET_WARNING_ID, f"{name}: {warning}")
    training = summaries.pop("training_data", None)
    if training is not None and len(local) == len(named):  # the job's records can be counted only when all are here
        try:
            quotas = dict(training_data.quotas) if isinstance(training_data, S3Data) else {}
            check_total_records(training, list(summaries.values()), quotas=quotas)
        except DatasetError as error:
            raise ValueError(f"training_data: {error}") from None
    shipped = [
        data.shipped(scope, "TrainingData" if name == "training_data" else f"ValidationData{index - 1}")
        if isinstance(data, S3Data)
        else data
        for index, (name, data) in enumerate(named)
    ]
    return shipped[0], [data for data in shipped[1:] if isinstance(data, S3Data)]
