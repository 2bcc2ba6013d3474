"""The models file: a team's models, imports, deployments and throughput as data, validated offline.

Pure: no CDK. One table of fields (FIELDS) is the source of the file's JSON Schema, of its translation into
Bedrock requests, and of the names that errors use. Requests are checked by the same contract module as the
construct and the handler, so the file obeys the same rules from botocore's service model. Every problem is
reported as ``file:line:column: path.to.field: message``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from bedrock_custom_resource import contract
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

SECTIONS = ("models", "imported_models", "deployments", "provisioned_throughput")
KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,62}$"
CUSTOMIZATIONS = {
    "fine_tuning": "FINE_TUNING",
    "continued_pre_training": "CONTINUED_PRE_TRAINING",
    "distillation": "DISTILLATION",
    "reinforcement_fine_tuning": "REINFORCEMENT_FINE_TUNING",
}
COMMITMENTS = {"one_month": "OneMonth", "six_months": "SixMonths"}
COMPLETIONS = ("event_driven", "polling", "no_wait")
REMOVAL_POLICIES = ("retain", "destroy", "retain_on_update_or_delete")
# Stand-ins, for offline checks, of values that the construct makes at synth time.
_PLACEHOLDERS = {
    "role": "arn:aws:iam::123456789012:role/created-by-the-construct",
    "local_data": "s3://cdk-assets-bucket/asset-of-a-local-file.jsonl",
    "model_key": "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6",
}
_TAG_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_SCALAR_MAP = {"type": "object", "additionalProperties": {"type": ["string", "number", "integer"]}}


@dataclass(frozen=True)
class Field:
    """One field of an entry: its JSON Schema, and the request member it becomes (None: for the construct)."""

    name: str
    schema: Mapping[str, Any]
    member: str | None = None
    required: bool = False
    # May name a key of the file instead of a Bedrock identifier (so its schema has no pattern).
    reference: bool = False
    description: str = ""


def _member_schema(operation: str, member: str, **extra: Any) -> dict[str, Any]:
    """A string field's JSON Schema, from the service model's shape of the request member it becomes."""
    shape: Any = contract.service_model().operation_model(operation).input_shape
    for part in member.replace("[]", "").split("."):
        shape = shape.members[part]
        while shape.type_name == "list":
            shape = shape.member
    schema: dict[str, Any] = {"type": "string"}
    for key, name in (("min", "minLength"), ("max", "maxLength")):
        if key in shape.metadata:
            schema[name] = shape.metadata[key]
    if "pattern" in shape.metadata and not extra.pop("no_pattern", False):
        schema["pattern"] = f"^(?:{shape.metadata['pattern']})$"
    return schema | extra


JOB, IMPORT, DEPLOY, PROVISION = (
    "CreateModelCustomizationJob",
    "CreateCustomModel",
    "CreateCustomModelDeployment",
    "CreateProvisionedModelThroughput",
)
_REMOVAL = Field("removal_policy", {"enum": list(REMOVAL_POLICIES)}, description="default: as the Python construct")

FIELDS: dict[str, tuple[Field, ...]] = {
    "models": (
        Field("customization", {"enum": list(CUSTOMIZATIONS)}, "customizationType", description="default fine_tuning"),
        Field(
            "base_model",
            _member_schema(JOB, "baseModelIdentifier", no_pattern=True),
            "baseModelIdentifier",
            required=True,
            reference=True,
            description="a model id or ARN, or the key of another entry of models",
        ),
        Field(
            "training_data",
            {"type": "string", "minLength": 1},
            "trainingDataConfig.s3Uri",
            description="an s3:// URI, or a local .jsonl path relative to this file",
        ),
        Field(
            "invocation_logs",
            {
                "type": "object",
                "properties": {
                    "source": _member_schema(JOB, "trainingDataConfig.invocationLogsConfig.invocationLogSource.s3Uri"),
                    "use_prompt_response": {"type": "boolean"},
                },
                "required": ["source"],
                "additionalProperties": False,
            },
            "trainingDataConfig.invocationLogsConfig",
            description="training data from model invocation logs (distillation), instead of training_data",
        ),
        Field(
            "validation_data",
            {"type": "array", "items": {"type": "string", "minLength": 1}},
            "validationDataConfig.validators",
            description="s3:// URIs or local .jsonl paths",
        ),
        Field("output_data", _member_schema(JOB, "outputDataConfig.s3Uri"), "outputDataConfig.s3Uri", required=True),
        Field("hyper_parameters", _SCALAR_MAP, "hyperParameters"),
        Field("job_name", _member_schema(JOB, "jobName"), "jobName", description="default: generated"),
        Field("custom_model_name", _member_schema(JOB, "customModelName"), "customModelName"),
        Field("role", _member_schema(JOB, "roleArn"), "roleArn", description="default: a role the construct creates"),
        Field("kms_key", _member_schema(IMPORT, "modelKmsKeyArn"), "customModelKmsKeyId"),
        Field(
            "teacher_model",
            _member_schema(JOB, "customizationConfig.distillationConfig.teacherModelConfig.teacherModelIdentifier"),
            "customizationConfig.distillationConfig.teacherModelConfig.teacherModelIdentifier",
        ),
        Field(
            "max_response_length_for_inference",
            {"type": "integer"},
            "customizationConfig.distillationConfig.teacherModelConfig.maxResponseLengthForInference",
        ),
        Field(
            "grader",
            _member_schema(JOB, "customizationConfig.rftConfig.graderConfig.lambdaGrader.lambdaArn"),
            "customizationConfig.rftConfig.graderConfig.lambdaGrader.lambdaArn",
            description="the reward grader's Lambda ARN (reinforcement fine-tuning)",
        ),
        Field("rft_hyper_parameters", _SCALAR_MAP, "customizationConfig.rftConfig.hyperParameters"),
        Field("job_tags", _TAG_MAP, "jobTags"),
        Field("custom_model_tags", _TAG_MAP, "customModelTags"),
        Field("completion", {"enum": list(COMPLETIONS)}, description="default event_driven"),
        Field("completion_timeout_hours", {"type": "number", "exclusiveMinimum": 0, "maximum": 12}),
        _REMOVAL,
    ),
    "imported_models": (
        Field(
            "source_uri",
            _member_schema(IMPORT, "modelSourceConfig.s3DataSource.s3Uri"),
            "modelSourceConfig.s3DataSource.s3Uri",
            description="the Amazon-managed S3 location SageMaker AI wrote the model to",
        ),
        Field(
            "model_package_arn",
            _member_schema(IMPORT, "customModelDataSource.modelPackageArnDataSource.modelPackageArn"),
            "customModelDataSource.modelPackageArnDataSource.modelPackageArn",
        ),
        Field("model_name", _member_schema(IMPORT, "modelName"), "modelName"),
        Field("role", _member_schema(IMPORT, "roleArn"), "roleArn"),
        Field("kms_key", _member_schema(IMPORT, "modelKmsKeyArn"), "modelKmsKeyArn"),
        Field("model_tags", _TAG_MAP, "modelTags"),
        _REMOVAL,
    ),
    "deployments": (
        Field(
            "model",
            {"type": "string", "minLength": 1},
            "modelArn",
            required=True,
            reference=True,
            description="the key of a model of this file, or a custom model ARN",
        ),
        Field("model_deployment_name", _member_schema(DEPLOY, "modelDeploymentName"), "modelDeploymentName"),
        Field("description", _member_schema(DEPLOY, "description"), "description"),
        Field("tags", _TAG_MAP, "tags"),
        _REMOVAL,
    ),
    "provisioned_throughput": (
        Field(
            "model",
            {"type": "string", "minLength": 1},
            "modelId",
            required=True,
            reference=True,
            description="the key of a model of this file, or a model id or ARN",
        ),
        Field("model_units", {"type": "integer", "minimum": 1}, "modelUnits", required=True),
        Field(
            "provisioned_model_name",
            _member_schema(PROVISION, "provisionedModelName"),
            "provisionedModelName",
        ),
        Field("commitment", {"enum": list(COMMITMENTS)}, "commitmentDuration", description="default: none"),
        Field("tags", _TAG_MAP, "tags"),
        _REMOVAL,
    ),
}
RESOURCE_TYPES = {
    "models": contract.CUSTOMIZATION_JOB,
    "imported_models": contract.CUSTOM_MODEL,
    "deployments": contract.MODEL_DEPLOYMENT,
    "provisioned_throughput": contract.PROVISIONED_THROUGHPUT,
}
# The request members that name a Bedrock resource, which must be unique per account and Region.
NAME_FIELDS = {
    "models": ("job_name", "custom_model_name"),
    "imported_models": ("model_name",),
    "deployments": ("model_deployment_name",),
    "provisioned_throughput": ("provisioned_model_name",),
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"


class ModelsFileError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@cache
def json_schema() -> dict[str, Any]:
    """The models file's JSON Schema, made from FIELDS."""

    def section(fields: tuple[Field, ...], *, partial: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": "object",
            "properties": {
                f.name: dict(f.schema) | ({"description": f.description} if f.description else {}) for f in fields
            },
            "additionalProperties": False,
        }
        required = [f.name for f in fields if f.required]
        if required and not partial:
            entry["required"] = required
        return {"type": "object", "propertyNames": {"pattern": KEY_PATTERN}, "additionalProperties": entry}

    def sections(partial: bool) -> dict[str, Any]:
        return {name: section(fields, partial=partial) for name, fields in FIELDS.items()}

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/cdk-bedrock-customization/models.schema.json",
        "title": "cdk-bedrock-customization models file",
        "type": "object",
        "properties": {
            "version": {"const": 1},
            **sections(partial=False),
            "stages": {
                "description": "per-stage overrides, merged into the entries above (mappings merge, lists replace)",
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": sections(partial=True),
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }


@dataclass
class ModelsFile:
    """A loaded models file, for one stage (None: the file as written)."""

    path: Path
    document: CommentedMap
    stage: str | None = None

    @classmethod
    def load(cls, path: str | Path, stage: str | None = None) -> ModelsFile:
        """Load and validate; raises ModelsFileError with every problem found."""
        models_file = cls.read(path)
        problems = models_file.schema_problems()
        if problems:
            raise ModelsFileError(problems)
        merged = models_file.for_stage(stage)
        problems = merged.semantic_problems()
        if problems:
            raise ModelsFileError(problems)
        return merged

    @classmethod
    def read(cls, path: str | Path) -> ModelsFile:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ModelsFileError([Problem(str(path), 1, 1, "(file)", f"cannot be read: {error}")]) from error
        try:
            document = YAML(typ="rt").load(text)
        except YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            raise ModelsFileError(
                [Problem(str(path), line, column, "(file)", f"is not valid YAML or JSON: {error}")]
            ) from error
        if not isinstance(document, CommentedMap):
            raise ModelsFileError([Problem(str(path), 1, 1, "(file)", "must be a mapping with models, deployments...")])
        return cls(path, document)

    def stages(self) -> list[str]:
        return [str(name) for name in self.document.get("stages") or {}]

    def schema_problems(self) -> list[Problem]:
        validator = jsonschema.Draft202012Validator(json_schema())
        problems = []
        for error in validator.iter_errors(_plain(self.document)):
            path = list(error.absolute_path)
            message = error.message
            if error.validator == "additionalProperties":
                unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
                path, message = (
                    path + unknown[:1],
                    f"unknown field; expected one of {sorted(error.schema['properties'])}",
                )
            problems.append(self.problem(path, message, at_key=error.validator == "additionalProperties"))
        return sorted(problems, key=lambda problem: (problem.line, problem.column))

    def for_stage(self, stage: str | None) -> ModelsFile:
        """The file with the stage's overrides merged in."""
        if stage is None:
            return ModelsFile(self.path, self.document, None)
        stages = self.document.get("stages") or {}
        if stage not in stages:
            raise ModelsFileError([self.problem(["stages"], f"no stage {stage!r}; the file has {sorted(stages)}")])
        merged = _merge(self.document, stages[stage])
        del merged["stages"]
        return ModelsFile(self.path, merged, stage)

    def entries(self, section: str) -> Iterator[tuple[str, CommentedMap]]:
        yield from (self.document.get(section) or {}).items()

    def semantic_problems(self) -> list[Problem]:
        """References, cycles, unique names, and each entry's request against the contract."""
        problems = self._reference_problems() + self._name_problems()
        for section in SECTIONS:
            for key, entry in self.entries(section):
                problems.extend(self._request_problems(section, key, entry))
                problems.extend(self._local_data_problems(section, key, entry))
        return problems

    def model_keys(self) -> set[str]:
        return {key for section in ("models", "imported_models") for key, _ in self.entries(section)}

    def _reference_problems(self) -> list[Problem]:
        problems = []
        keys = self.model_keys()
        for section in ("deployments", "provisioned_throughput"):
            for key, entry in self.entries(section):
                target = str(entry["model"])
                if not target.startswith("arn:") and target not in keys and "." not in target:
                    problems.append(
                        self.problem([section, key, "model"], f"{target!r} is no key of models or imported_models")
                    )
        # Models that continue training another model of the file: no cycles.
        bases = {key: str(entry["base_model"]) for key, entry in self.entries("models")}
        for start in bases:
            seen, current = [start], bases[start]
            while current in bases:
                if current in seen:
                    cycle = " -> ".join([*seen[seen.index(current) :], current])
                    problems.append(self.problem(["models", start, "base_model"], f"reference cycle: {cycle}"))
                    break
                seen.append(current)
                current = bases[current]
        return problems

    def _name_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[tuple[str, str], str] = {}
        for section, names in NAME_FIELDS.items():
            for key, entry in self.entries(section):
                for name_field in names:
                    if name_field not in entry:
                        continue
                    kind = "model" if name_field in ("custom_model_name", "model_name") else name_field
                    identity = (kind, str(entry[name_field]))
                    if identity in seen:
                        problems.append(
                            self.problem(
                                [section, key, name_field],
                                f"{entry[name_field]!r} is also the name of {seen[identity]}: Bedrock names are unique",
                            )
                        )
                    else:
                        seen[identity] = ".".join((section, key, name_field))
        return problems

    def _request_problems(self, section: str, key: str, entry: Mapping[str, Any]) -> list[Problem]:
        try:
            contract.create_request(RESOURCE_TYPES[section], self.request_properties(section, entry))
        except contract.InvalidProperties as invalid:
            return [self._problem_at_member(section, key, entry, problem) for problem in invalid.problems]
        return []

    def request_properties(self, section: str, entry: Mapping[str, Any]) -> dict[str, Any]:
        """The entry as the custom resource's properties (values the construct makes are stand-ins)."""
        keys = self.model_keys()
        properties: dict[str, Any] = {}
        for spec in FIELDS[section]:
            if spec.member is None or spec.name not in entry:
                continue
            value = _plain(entry[spec.name])
            if spec.reference and str(value) in keys:
                value = _PLACEHOLDERS["model_key"]
            elif spec.name in ("training_data", "validation_data"):
                value = [_data_uri(item) for item in value] if isinstance(value, list) else _data_uri(value)
            elif spec.name == "customization":
                value = CUSTOMIZATIONS[value]
            elif spec.name == "commitment":
                value = COMMITMENTS[value]
            elif spec.name == "invocation_logs":
                value = {
                    "invocationLogSource": {"s3Uri": value["source"]},
                    "usePromptResponse": value.get("use_prompt_response", False),
                }
            elif spec.name == "hyper_parameters":
                value = {name: str(item) for name, item in value.items()}  # as CustomModel sends them
            elif spec.name.endswith("tags"):
                value = [{"key": k, "value": v} for k, v in value.items()]
            if spec.name == "validation_data":
                value = [{"s3Uri": uri} for uri in value]
            _set_member(properties, spec.member, value)
        if section == "models" and "role" not in entry:
            properties["roleArn"] = _PLACEHOLDERS["role"]
        return properties

    def _problem_at_member(self, section: str, key: str, entry: Mapping[str, Any], problem: str) -> Problem:
        member_path, _, message = problem.partition(": ")
        best: Field | None = None
        for spec in FIELDS[section]:
            if spec.member and (
                member_path == spec.member
                or member_path.startswith(spec.member + ".")
                or member_path.startswith(spec.member + "[")
            ):
                best = spec if best is None or len(spec.member or "") > len(best.member or "") else best
        if best is None:
            missing = next(
                (spec for spec in FIELDS[section] if (spec.member or "").startswith(member_path + ".")), None
            )
            if missing is not None:
                return self.problem([section, key, missing.name], message)
            return self.problem([section, key], f"{member_path}: {message}")
        rest = member_path[len(best.member or "") :].lstrip(".")
        path = [section, key, best.name]
        label = ".".join(map(str, path)) + (f".{rest}" if rest else "")
        return self.problem(path, message, label=label)

    def _local_data_problems(self, section: str, key: str, entry: Mapping[str, Any]) -> list[Problem]:
        """Local datasets: each file checked, then the quotas on a job's training and validation records
        together (when all of them are local, so that they can be counted)."""
        from .datasets import DatasetError, check_total_records, validate_dataset

        if section != "models":
            return []
        problems, summaries, remote = [], {}, False
        for spec_name in ("training_data", "validation_data"):
            values = entry.get(spec_name)
            items = list(values) if isinstance(values, list) else [values] if values else []
            for index, item in enumerate(items):
                if str(item).startswith("s3://"):
                    remote = True
                    continue
                location = [section, key, spec_name] + ([index] if isinstance(values, list) else [])
                local = self.local_path(str(item))
                if not local.is_file():
                    problems.append(self.problem(location, f"{item!r} is neither an s3:// URI nor a file"))
                    continue
                try:
                    summaries[(spec_name, index)] = validate_dataset(
                        local,
                        customization_type=CUSTOMIZATIONS[str(entry.get("customization", "fine_tuning"))],
                        base_model=str(entry["base_model"]),
                        purpose="training" if spec_name == "training_data" else "validation",
                    )
                except DatasetError as error:
                    problems.append(self.problem(location, str(error)))
        training = summaries.pop(("training_data", 0), None)
        if not problems and not remote and training is not None:
            try:
                check_total_records(training, list(summaries.values()))
            except DatasetError as error:
                problems.append(self.problem([section, key, "training_data"], str(error)))
        return problems

    def local_path(self, value: str) -> Path:
        return (self.path.parent / value).resolve()

    def problem(self, path: list[Any], message: str, *, label: str | None = None, at_key: bool = False) -> Problem:
        line, column = _position(self.document, path, at_key=at_key)
        return Problem(str(self.path), line, column, label or ".".join(map(str, path)) or "(file)", message)


def _data_uri(value: Any) -> str:
    return str(value) if str(value).startswith("s3://") else _PLACEHOLDERS["local_data"]


def _set_member(properties: dict[str, Any], member: str, value: Any) -> None:
    parts = member.split(".")
    target = properties
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _position(document: Any, path: list[Any], *, at_key: bool = False) -> tuple[int, int]:
    """1-based line and column of the value at path (of its key with at_key), or of the nearest enclosing
    node that exists."""
    node, line, column = document, 1, 1
    for index, part in enumerate(path):
        if isinstance(node, CommentedMap) and part in node:
            last = index == len(path) - 1
            line, column = (value + 1 for value in (node.lc.key(part) if at_key and last else node.lc.value(part)))
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, column = (value + 1 for value in node.lc.item(part))
            node = node[part]
        else:
            break
    return line, column


def _merge(base: Any, override: Any) -> Any:
    """override merged into base: mappings merge key by key (keeping each value's position), the rest replaces."""
    if not (isinstance(base, CommentedMap) and isinstance(override, CommentedMap)):
        return override
    merged = CommentedMap()
    for source in (base, override):
        for key in source:
            merged[key] = _merge(merged[key], source[key]) if key in merged and source is override else source[key]
            merged.lc.add_kv_line_col(key, source.lc.data[key])
    merged.lc.line, merged.lc.col = base.lc.line, base.lc.col
    return merged


def _plain(value: Any) -> Any:
    """The loaded document as plain JSON types."""
    return (
        json.loads(json.dumps(value, default=str))
        if isinstance(value, (CommentedMap, CommentedSeq))
        else copy.copy(value)
    )
