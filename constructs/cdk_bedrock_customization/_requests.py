"""Each construct's custom resource properties (its tags aside), from plain values, as the API names them.

The constructs build their properties here, and so does the models file's validation (which does not load
aws-cdk-lib): what ``validate`` checks is what the constructs send. Parameters are named as the constructs'.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from bedrock_custom_resource.contract import CONTRACTS, CUSTOMIZATION_JOB, WaitUntil

# How aws-cdk-lib marks a token within a string; a plain value (a models file's) must not hold one.
STRING_TOKEN_MARKERS = ("${Token[", "#{Token[")


class CompletionMode(enum.StrEnum):
    """How a deployment waits for a customization job (see Completion)."""

    POLLING = "POLLING"
    EVENT_DRIVEN = "EVENT_DRIVEN"
    NO_WAIT = "NO_WAIT"


# How far the job resource itself waits, in each mode.
_WAIT_UNTIL: dict[CompletionMode, WaitUntil | None] = {
    CompletionMode.POLLING: None,  # the handler's default: until the job completes
    CompletionMode.EVENT_DRIVEN: WaitUntil.ACCEPTED,
    CompletionMode.NO_WAIT: WaitUntil.VALIDATED,
}


def wait_until(mode: CompletionMode, resource_type: str = CUSTOMIZATION_JOB) -> str | None:
    """The job resource's waitUntil property in this mode (None: the default, until the job completes)."""
    member = _WAIT_UNTIL[mode]
    if member is None:
        return None
    allowed = CONTRACTS[resource_type].handler_members["waitUntil"]
    assert isinstance(allowed, tuple)
    if member.value not in allowed:
        return WaitUntil.ACCEPTED.value  # a job with no validation step to wait for: once accepted
    return member.value


# A customization: its type and its customizationConfig (None: none).
Customization = tuple[str, Mapping[str, Any] | None]


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags as the API's list of key/value pairs, in a stable order."""
    return [{"key": key, "value": tags[key]} for key in sorted(tags)]


def names_a_model(identifier: str) -> bool:
    """Whether a literal model identifier is a model ARN or a foundation model's id (provider.model): anything else
    reaches Bedrock as a custom model's name, which neither the models file nor the grants take."""
    return identifier.startswith("arn:") or "." in identifier


def present(**members: Any) -> dict[str, Any]:
    """The members that have a value."""
    return {name: value for name, value in members.items() if value is not None}


def job(
    *,
    base_model: str,
    customization: Customization,
    role: str,
    output_data: str,
    training_data: Mapping[str, Any] | None = None,
    validation_data: Sequence[str] = (),
    hyper_parameters: Mapping[str, str | int | float] | None = None,
    job_name: str | None = None,
    custom_model_name: str | None = None,
    kms_key: str | None = None,
    vpc_config: Mapping[str, Any] | None = None,
    completion: str | None = None,
) -> dict[str, Any]:
    """CreateModelCustomizationJob's request. training_data: from ``s3_data`` or ``invocation_logs`` (a construct
    always has it; a models file entry may leave it out, which the contract reports); role and
    kms_key: ARNs; output_data and validation_data: S3 URIs; completion: the job's waitUntil."""
    customization_type, config = customization
    return {
        "baseModelIdentifier": base_model,
        "customizationType": customization_type,
        "roleArn": role,
        **present(trainingDataConfig=dict(training_data) if training_data is not None else None),
        "outputDataConfig": {"s3Uri": output_data},
        **present(
            jobName=job_name,
            customModelName=custom_model_name,
            customizationConfig=config,
            hyperParameters=_hyper_parameter_texts(hyper_parameters) if hyper_parameters else None,
            customModelKmsKeyId=kms_key,
            validationDataConfig={"validators": [{"s3Uri": uri} for uri in validation_data]}
            if validation_data
            else None,
            vpcConfig=vpc_config,
            waitUntil=completion,
        ),
    }


def s3_data(uri: str) -> dict[str, Any]:
    """Training data in S3."""
    return {"s3Uri": uri}


def invocation_logs(
    source: str, use_prompt_response: bool = False, request_metadata_filters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Training data from model invocation logs under the S3 URI source."""
    logs: dict[str, Any] = {"usePromptResponse": use_prompt_response, "invocationLogSource": {"s3Uri": source}}
    if request_metadata_filters is not None:
        logs["requestMetadataFilters"] = dict(request_metadata_filters)
    return {"invocationLogsConfig": logs}


def distillation(teacher_model: str, max_response_length_for_inference: int | None = None) -> Customization:
    teacher: dict[str, Any] = {"teacherModelIdentifier": teacher_model}
    if max_response_length_for_inference is not None:
        teacher["maxResponseLengthForInference"] = max_response_length_for_inference
    return "DISTILLATION", {"distillationConfig": {"teacherModelConfig": teacher}}


def _hyper_parameter_texts(hyper_parameters: Mapping[str, Any]) -> dict[str, str]:
    """As strings, the type the API takes, whatever number the construct was given; what is neither a string nor
    a number (None, True, nan, a list) is refused rather than written as its Python name."""
    _refuse_names_not_written_out(hyper_parameters)
    texts = {}
    for name, value in hyper_parameters.items():
        number = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
        if isinstance(value, bool) or not (isinstance(value, str) or number):
            raise ValueError(f"hyper_parameters[{name!r}]: {value!r} is not a string or a finite number")
        try:
            texts[name] = str(value)
        except ValueError as error:  # an integer of more digits than Python writes
            raise ValueError(f"hyper_parameters[{name!r}]: {str(error).split(';')[0]}") from None
    return texts


def _refuse_names_not_written_out(hyper_parameters: Mapping[Any, Any]) -> None:
    """A name that is not a string, or a token (the constructs resolve those that resolve to strings first), would
    fail at synth with the CDK's own error, which names neither the prop nor the key."""
    for name in hyper_parameters:
        if not isinstance(name, str) or any(marker in name for marker in STRING_TOKEN_MARKERS):
            raise ValueError(
                f"hyper_parameters: the name {name!r} is not a string written out: a hyperparameter is named as the"
                " API names it, such as 'epochCount' (its value may be a token, not its name)"
            )


def reinforcement_fine_tuning(grader: str, hyper_parameters: Mapping[str, Any] | None = None) -> Customization:
    """grader: the reward function's Lambda ARN."""
    rft: dict[str, Any] = {"graderConfig": {"lambdaGrader": {"lambdaArn": grader}}}
    if hyper_parameters:
        _refuse_names_not_written_out(hyper_parameters)
        rft["hyperParameters"] = dict(hyper_parameters)
    return "REINFORCEMENT_FINE_TUNING", {"rftConfig": rft}


def imported_model(
    *, source: Mapping[str, Any], model_name: str | None = None, kms_key: str | None = None, role: str | None = None
) -> dict[str, Any]:
    """CreateCustomModel's request. source: from ``model_in_s3`` or ``model_package``; kms_key and role: ARNs."""
    return {**source, **present(modelName=model_name, modelKmsKeyArn=kms_key, roleArn=role)}


def model_import(
    *,
    model_data: str,
    role: str,
    job_name: str | None = None,
    imported_model_name: str | None = None,
    kms_key: str | None = None,
    vpc_config: Mapping[str, Any] | None = None,
    completion: str | None = None,
    model_data_digest: str | None = None,
) -> dict[str, Any]:
    """CreateModelImportJob's request; model_data: the S3 URI of the weights' folder; role and kms_key: ARNs;
    completion: the job's waitUntil; model_data_digest: the digest of the weights the stack uploads there. The
    handler generates the names when they are left out."""
    return {
        "modelDataSource": {"s3DataSource": {"s3Uri": model_data}},
        "roleArn": role,
        **present(
            jobName=job_name,
            importedModelName=imported_model_name,
            importedModelKmsKeyId=kms_key,
            vpcConfig=vpc_config,
            waitUntil=completion,
            modelDataDigest=model_data_digest,
        ),
    }


def model_copy(
    *,
    source_model: str,
    target_model_name: str | None = None,
    kms_key: str | None = None,
    completion: str | None = None,
) -> dict[str, Any]:
    """CreateModelCopyJob's request; source_model: the ARN of the model copied; kms_key: an ARN; completion: the
    job's waitUntil. The handler generates the name when it is left out."""
    return {
        "sourceModelArn": source_model,
        **present(targetModelName=target_model_name, modelKmsKeyId=kms_key, waitUntil=completion),
    }


def model_in_s3(uri: str) -> dict[str, Any]:
    return {"modelSourceConfig": {"s3DataSource": {"s3Uri": uri}}}


def model_package(model_package_arn: str) -> dict[str, Any]:
    return {"customModelDataSource": {"modelPackageArnDataSource": {"modelPackageArn": model_package_arn}}}


def deployment(
    *, model: str, model_deployment_name: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """CreateCustomModelDeployment's request; model: the ARN of the model served."""
    return present(modelArn=model, modelDeploymentName=model_deployment_name, description=description)


def provisioned_throughput(
    *, model: str, model_units: int, provisioned_model_name: str | None = None, commitment: str | None = None
) -> dict[str, Any]:
    """CreateProvisionedModelThroughput's request; model: the model's id or ARN; commitment: its duration."""
    return present(
        modelId=model,
        modelUnits=model_units,
        provisionedModelName=provisioned_model_name,
        commitmentDuration=commitment,
    )


def evaluation_dataset(
    *, name: str, task_type: str, metric_names: Sequence[str], uri: str | None = None
) -> dict[str, Any]:
    """One of CreateEvaluationJob's datasetMetricConfigs: a built-in dataset (no uri) or a custom one in S3."""
    dataset: dict[str, Any] = {"name": name, **({"datasetLocation": {"s3Uri": uri}} if uri is not None else {})}
    return {"taskType": task_type, "dataset": dataset, "metricNames": list(metric_names)}


NOT_INFERENCE_PARAMS = "is not a JSON object, the inference parameters Bedrock takes"


def is_json_object(text: Any) -> bool:
    """Whether text is a string of a JSON object (what an evaluation's inference_params must be)."""
    try:
        return isinstance(text, str) and isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
        return False


def evaluation(
    *,
    model: str,
    datasets: Sequence[Mapping[str, Any]],
    output_data: str,
    role: str,
    evaluator_model: str | None = None,
    inference_params: str | None = None,
    job_name: str | None = None,
    job_description: str | None = None,
    kms_key: str | None = None,
    completion: str | None = None,
    evaluated_model_arn: str | None = None,
) -> dict[str, Any]:
    """CreateEvaluationJob's request for an automatic evaluation of one model (Bedrock's automated jobs evaluate a
    single model), judged by evaluator_model when given; the handler generates the name when it is left out.
    evaluated_model_arn: the model that model serves, when that can change while model stays (a throughput's)."""
    automated: dict[str, Any] = {"datasetMetricConfigs": [dict(dataset) for dataset in datasets]}
    if evaluator_model is not None:
        automated["evaluatorModelConfig"] = {"bedrockEvaluatorModels": [{"modelIdentifier": evaluator_model}]}
    bedrock_model = present(modelIdentifier=model, inferenceParams=inference_params)
    return {
        "evaluationConfig": {"automated": automated},
        "inferenceConfig": {"models": [{"bedrockModel": bedrock_model}]},
        "outputDataConfig": {"s3Uri": output_data},
        "roleArn": role,
        **present(
            jobName=job_name,
            jobDescription=job_description,
            customerEncryptionKeyId=kms_key,
            waitUntil=completion,
            evaluatedModelArn=evaluated_model_arn,
        ),
    }
