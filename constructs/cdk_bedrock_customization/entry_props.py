"""An entry of a models file as its construct's keyword arguments: the one translation of the file's fields,
which ModelsFromFile builds constructs from and the models file's validation checks requests with.

What depends on where the entry is used (a role by ARN, a local dataset, another entry's model) is made by a
Binder: ModelsFromFile's makes constructs in its scope, the validation's makes the plain values that the
constructs would put in their requests (see _requests). This module does not load aws-cdk-lib.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from bedrock_custom_resource import contract

from ._requests import CompletionMode

# A job waits this long for an event-driven completion unless the entry says otherwise.
DEFAULT_COMPLETION_HOURS = 12


class Binder(Protocol):
    """Makes the values of an entry that depend on where it is used. key: the entry's key."""

    def model(self, key: str, value: str, *, served: bool) -> Any:
        """A model: a key of the file, or a model id or ARN. served: served by a deployment or a throughput (else
        customized by a job)."""

    def evaluated(self, key: str, value: str) -> Any:
        """A model an evaluation invokes: the key of a provisioned throughput or an open-weight model of the file,
        or a model id or ARN."""

    def evaluation_dataset(self, key: str, name: str, task_type: str, metric_names: list[str], data: str | None) -> Any:
        """A dataset of an evaluation; data: an ``s3://`` URI, a local path (relative to the file) or None (a
        built-in dataset)."""

    def data(self, key: str, name: str, value: str) -> Any:
        """A dataset: an ``s3://`` URI or a local path (relative to the file); name tells it from the entry's
        others (``TrainingData``, ``ValidationData0``...)."""

    def output(self, uri: str) -> Any:
        """An S3 location written as an ``s3://`` URI (a job's output)."""

    def weights(self, key: str, value: str) -> Any:
        """An open-weight model's weights: an ``s3://`` folder URI, or a local folder (relative to the file)."""

    def invocation_logs(self, source: str, use_prompt_response: bool) -> Any: ...

    def role(self, key: str, arn: str) -> Any: ...

    def key(self, key: str, arn: str) -> Any: ...

    def customization(self, key: str, kind: str, options: Mapping[str, Any]) -> Any:
        """kind: a key of models_file.CUSTOMIZATIONS; options: the keyword arguments of Customization's method of
        that name (a grader as its Lambda ARN; the teacher or grader None when the entry leaves it out)."""

    def completion(self, mode: CompletionMode, timeout_seconds: int, resource_type: str) -> Any:
        """resource_type: the job's (contract.CUSTOMIZATION_JOB, MODEL_IMPORT...), whose waitUntil the mode sets."""

    def model_source(self, source_uri: str | None, model_package_arn: str | None) -> Any: ...

    def commitment(self, duration: str) -> Any:
        """duration: the API's commitmentDuration."""

    def removal_policy(self, value: str) -> Any: ...


# The ids, in the ModelsFromFile's own scope (where entry keys are ids too), of the bucket that the file's local
# folders of weights are uploaded to, and of each folder's upload: real resources, which stay where they are.
WEIGHTS_BUCKET_ID = "Weights"


def weights_upload_id(key: str) -> str:
    return f"{key}Weights"


# The file's commitment terms, as the API names them.
COMMITMENTS = {"one_month": "OneMonth", "six_months": "SixMonths"}


def construct_props(section: str, key: str, entry: Mapping[str, Any], bind: Binder) -> dict[str, Any]:
    """The keyword arguments of the construct of an entry of section (its construct id aside)."""
    props = _SECTIONS[section](key, entry, bind)
    if "removal_policy" in entry:
        props["removal_policy"] = bind.removal_policy(str(entry["removal_policy"]))
    return props


def _model(key: str, entry: Mapping[str, Any], bind: Binder) -> dict[str, Any]:
    props: dict[str, Any] = {
        "base_model": bind.model(key, str(entry["base_model"]), served=False),
        "output_data": bind.output(str(entry["output_data"])),
        "customization": _customization(key, entry, bind),
        "completion": _completion(entry, bind, contract.CUSTOMIZATION_JOB),
        **_given(entry, "job_name", "custom_model_name", "job_tags", "custom_model_tags", "hyper_parameters"),
    }
    if "invocation_logs" in entry:
        logs = entry["invocation_logs"]
        props["training_data"] = bind.invocation_logs(str(logs["source"]), bool(logs.get("use_prompt_response")))
    elif "training_data" in entry:  # else the contract says to give one of them
        props["training_data"] = bind.data(key, "TrainingData", str(entry["training_data"]))
    if entry.get("validation_data"):
        props["validation_data"] = [
            bind.data(key, f"ValidationData{index}", str(item)) for index, item in enumerate(entry["validation_data"])
        ]
    props.update(_role_and_key(key, entry, bind))
    return props


# What an entry that leaves out customization or completion gets.
DEFAULTS = {"customization": "fine_tuning", "completion": "event_driven"}
# Fields read only with one value of another field (which may be its default): given with any other, they would be
# dropped without a word, so validation refuses them (_entry_checks).
READ_ONLY_WITH = {
    "teacher_model": ("customization", "distillation"),
    "max_response_length_for_inference": ("customization", "distillation"),
    "grader": ("customization", "reinforcement_fine_tuning"),
    "rft_hyper_parameters": ("customization", "reinforcement_fine_tuning"),
    "completion_timeout_hours": ("completion", "event_driven"),
}


def _customization(key: str, entry: Mapping[str, Any], bind: Binder) -> Any:
    kind = str(entry.get("customization", DEFAULTS["customization"]))
    options: dict[str, Any] = {}
    if kind == "distillation":
        options["teacher_model"] = entry.get("teacher_model")
        options["max_response_length_for_inference"] = entry.get("max_response_length_for_inference")
    elif kind == "reinforcement_fine_tuning":
        options["grader"] = entry.get("grader")
        options["hyper_parameters"] = dict(entry.get("rft_hyper_parameters") or {}) or None
    return bind.customization(key, kind, options)


def _completion(entry: Mapping[str, Any], bind: Binder, resource_type: str) -> Any:
    """How the deployment waits for the job of resource_type that the entry starts."""
    return bind.completion(*completion_of(entry), resource_type)


def completion_of(entry: Mapping[str, Any]) -> tuple[CompletionMode, int]:
    """How the deployment waits for the job an entry starts, and up to how many seconds."""
    mode = CompletionMode(str(entry.get("completion", DEFAULTS["completion"])).upper())
    # In seconds, and at least one (the wait condition's least): any number of hours the file allows is valid.
    hours = float(entry.get("completion_timeout_hours", DEFAULT_COMPLETION_HOURS))
    return mode, max(1, round(hours * 3600))


def _imported_model(key: str, entry: Mapping[str, Any], bind: Binder) -> dict[str, Any]:
    props: dict[str, Any] = {
        "source": bind.model_source(entry.get("source_uri"), entry.get("model_package_arn")),
        **_given(entry, "model_name", "model_tags"),
    }
    props.update(_role_and_key(key, entry, bind))
    return props


def _open_weight_model(key: str, entry: Mapping[str, Any], bind: Binder) -> dict[str, Any]:
    props: dict[str, Any] = {
        "model_data": bind.weights(key, str(entry["model_data"])),
        "completion": _completion(entry, bind, contract.MODEL_IMPORT),
        **_given(entry, "job_name", "imported_model_name", "job_tags", "imported_model_tags"),
    }
    props.update(_role_and_key(key, entry, bind))
    return props


def _copied_model(key: str, entry: Mapping[str, Any], bind: Binder) -> dict[str, Any]:
    """source_model: always an ARN (of another Region), never a key of the file: it stays a string."""
    props: dict[str, Any] = {
        "source_model": str(entry["source_model"]),
        "completion": _completion(entry, bind, contract.MODEL_COPY),
        **_given(entry, "target_model_name", "target_model_tags"),
    }
    props.update(_role_and_key(key, entry, bind))
    return props


def _deployment(key: str, entry: Mapping[str, Any], bind: Binder) -> dict[str, Any]:
    return {
        "model": bind.model(key, str(entry["model"]), served=True),
        **_given(entry, "model_deployment_name", "description", "tags"),
    }


def _provisioned_throughput(key: str, entry: Mapping[str, Any], bind: Binder) -> dict[str, Any]:
    props = {
        "model": bind.model(key, str(entry["model"]), served=True),
        "model_units": int(entry["model_units"]),
        **_given(entry, "provisioned_model_name", "tags"),
    }
    if entry.get("commitment"):
        props["commitment"] = bind.commitment(COMMITMENTS[str(entry["commitment"])])
    return props


def _evaluation(key: str, entry: Mapping[str, Any], bind: Binder) -> dict[str, Any]:
    """A ModelEvaluation's keyword arguments; its requirements are method calls (requirement_calls)."""
    props: dict[str, Any] = {
        "model": bind.evaluated(key, str(entry["model"])),
        "datasets": [
            bind.evaluation_dataset(
                key,
                str(dataset["name"]),
                str(dataset["task_type"]),
                [str(metric) for metric in dataset["metric_names"]],
                None if dataset.get("data") is None else str(dataset["data"]),
            )
            for dataset in entry["datasets"]
        ],
        "output_data": bind.output(str(entry["output_data"])),
        "completion": _completion(entry, bind, contract.MODEL_EVALUATION),
        **_given(entry, "evaluator_model", "inference_params", "job_name", "job_description", "job_tags"),
    }
    if "baseline_model" in entry:
        props["baseline_model"] = bind.evaluated(key, str(entry["baseline_model"]))
    props.update(_role_and_key(key, entry, bind))
    return props


# A requirement's comparisons with a threshold: the file's field and ModelEvaluation.require's parameter alike.
THRESHOLDS = ("at_least", "at_most")


def requirement_calls(entry: Mapping[str, Any]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """An evaluation's requirements as calls of its ModelEvaluation's methods: the index of each item of require,
    the method's name (``require`` or ``require_better_than_baseline``) and its keyword arguments. An item with
    thresholds and a margin over the baseline is both calls."""
    for index, item in enumerate(entry.get("require") or []):
        common = {"metric_name": str(item["metric"]), "dataset": item.get("dataset")}
        if any(name in item for name in THRESHOLDS):
            yield index, "require", {**common, **{name: item.get(name) for name in THRESHOLDS}}
        if "better_than_baseline_by" in item:
            margin = {"by": item["better_than_baseline_by"], "lower_is_better": item.get("lower_is_better")}
            yield index, "require_better_than_baseline", {**common, **margin}


def after_keys(entry: Mapping[str, Any]) -> list[tuple[list[Any], str]]:
    """The evaluations an entry is created after (its after: a key or a list of keys), each with its path in the
    entry."""
    after = entry.get("after")
    if after is None:
        return []
    if isinstance(after, list):
        return [(["after", index], str(value)) for index, value in enumerate(after)]
    return [(["after"], str(after))]


def _role_and_key(key: str, entry: Mapping[str, Any], bind: Binder) -> dict[str, Any]:
    """The service role and the model's key, where the entry gives them (a copy has no role field)."""
    props = {}
    if "role" in entry:
        props["role"] = bind.role(key, str(entry["role"]))
    if "kms_key" in entry:
        props["kms_key"] = bind.key(key, str(entry["kms_key"]))
    return props


def _given(entry: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The fields that the construct takes as they are (mappings copied), where the entry gives them."""
    return {
        name: dict(entry[name]) if isinstance(entry[name], Mapping) else entry[name] for name in names if name in entry
    }


_SECTIONS: dict[str, Callable[[str, Mapping[str, Any], Binder], dict[str, Any]]] = {
    "models": _model,
    "imported_models": _imported_model,
    "open_weight_models": _open_weight_model,
    "copied_models": _copied_model,
    "deployments": _deployment,
    "provisioned_throughput": _provisioned_throughput,
    "evaluations": _evaluation,
}
