"""The checks of a models file that read across its entries: references and cycles, unique names, each entry's
request against the handler's contract, local datasets against the base model's documented format, and an
evaluation's datasets and requirements."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any

from bedrock_custom_resource import contract

from . import _requests
from ._evaluation_checks import _CUSTOM_MODEL_ARN, EvaluationChecks, _as_written, _names_a_key
from ._hyper_parameters import hyper_parameter_warnings
from ._local_folders import upload_problem
from ._requests import CompletionMode, tag_list
from .datasets import ASSET_BUCKET, DatasetError, check_total_records, validate_dataset
from .entry_props import DEFAULTS, READ_ONLY_WITH, WEIGHTS_BUCKET_ID, construct_props, weights_upload_id
from .models_file import (
    CUSTOMIZATIONS,
    DATASET_QUOTAS,
    FIELDS,
    NAME_FIELDS,
    RESOURCE_TYPES,
    SECTIONS,
    DatasetFindings,
    Field,
    ModelsFile,
    Problem,
    _cut,
    _label,
    _show,
)
from .weights import WeightsError, validate_weights

# Stand-ins, for offline checks, of values that the construct makes at synth time.
_PLACEHOLDERS = {
    "role": "arn:aws:iam::123456789012:role/created-by-the-construct",
    "local_data": "s3://cdk-assets-bucket/asset-of-a-local-file.jsonl",
    "local_weights": "s3://bucket-of-the-models-file/weights-of-a-local-folder/",
    "model_key": "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6",
    "provisioned_throughput": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3d4e5f6",
    "open_weight_models": "arn:aws:bedrock:us-east-1:123456789012:imported-model/a1b2c3d4e5f6",
}

# The sections whose construct makes a service role when the entry gives none.
_ROLE_MADE_BY_THE_CONSTRUCT = ("models", "open_weight_models", "evaluations")
# The name fields that name a model (custom, imported or copied): unique among all of them.
_MODEL_NAME_FIELDS = ("custom_model_name", "model_name", "imported_model_name", "target_model_name")
# The sections whose models a deployment or a throughput may name by key, as a problem lists them.
_SERVED_SECTIONS = "models, imported_models or copied_models"
_BASE_MODELS = "a key of models or imported_models, a foundation model id or a model ARN"
_REQUESTS: dict[str, Callable[..., dict[str, Any]]] = {
    "models": _requests.job,
    "imported_models": _requests.imported_model,
    "open_weight_models": _requests.model_import,
    "copied_models": _requests.model_copy,
    "deployments": _requests.deployment,
    "provisioned_throughput": _requests.provisioned_throughput,
    "evaluations": _requests.evaluation,
}


class EntryChecks(EvaluationChecks):
    """The cross-entry problems of one stage's file (whose schema_problems are none)."""

    def __init__(self, file: ModelsFile, findings: DatasetFindings | None = None) -> None:
        self.file = file
        self.findings = findings or DatasetFindings()

    def problems(self) -> list[Problem]:
        """References, cycles, unique names, and each entry's request against the contract (of a file whose
        schema_problems are none)."""
        problems = self._reference_problems() + self._not_waited_problems() + self._name_problems()
        problems += self._key_problems() + self._after_problems() + _token_problems(self.file)
        for section in SECTIONS:
            for key, entry in self.file.entries(section):
                request_problems = _unread_problems(self.file, section, key, entry) or self._request_problems(
                    section, key, entry
                )
                if section == "evaluations":
                    request_problems += self._evaluation_problems(key, entry)
                problems.extend(request_problems)
                # Datasets are checked against the base model's documented format: only with a valid base model.
                valid_base = not any(problem.path == f"{section}.{key}.base_model" for problem in request_problems)
                if section == "models" and valid_base:
                    problems.extend(_local_data_problems(self.file, self.base_model_of(key), key, entry, self.findings))
                    if not request_problems:  # the request is made: its hyperparameters, as sent
                        self.findings.warnings += _hyper_parameter_warnings(self, key, entry)
                problems.extend(_local_weights_problems(self.file, section, key, entry))
        return [Problem(**{**vars(problem), "stage": self.file.stage}) for problem in problems]

    @cached_property
    def model_keys(self) -> frozenset[str]:
        """The keys of the models that another model of the file may continue training."""
        return frozenset(key for section in ("models", "imported_models") for key, _ in self.file.entries(section))

    @cached_property
    def served_keys(self) -> frozenset[str]:
        """The keys of the models that a deployment or a throughput may serve: copies too."""
        return self.model_keys | {key for key, _ in self.file.entries("copied_models")}

    def dangling(self, value: Any) -> bool:
        """Whether a deployment's or a throughput's model names a key of the file that does not exist (rather
        than a model id or ARN, which the contract checks)."""
        return isinstance(value, str) and value not in self.served_keys and not _requests.names_a_model(value)

    def _reference_problems(self) -> list[Problem]:
        problems = []
        for section in ("deployments", "provisioned_throughput"):
            for key, entry in self.file.entries(section):
                if self.dangling(entry["model"]):
                    problems.append(
                        self.file.problem(
                            [section, key, "model"], f"{_show(entry['model'])} is no key of {_SERVED_SECTIONS}"
                        )
                    )
        for key, entry in self.file.entries("models"):
            problem = _base_model_problem(self, entry["base_model"])
            if problem:
                problems.append(self.file.problem(["models", key, "base_model"], problem))
        # Models that continue training another model of the file: no cycles. Each model is walked once.
        bases = {key: entry["base_model"] for key, entry in self.file.entries("models")}
        done: set[str] = set()
        for start in bases:
            chain: dict[str, None] = {}
            current = start
            while current in bases and current not in done and current not in chain:
                chain[current] = None
                current = bases[current]
            if current in chain:
                keys = list(chain)
                cycle = " -> ".join([*keys[keys.index(current) :], current])
                problems.append(self.file.problem(["models", current, "base_model"], _cut(f"reference cycle: {cycle}")))
            done.update(chain)
        return problems

    def _not_waited_problems(self) -> list[Problem]:
        """A model of the file is served, or trained further, only if the stack waits for its job: with no_wait,
        the stack does not know the model's ARN."""
        not_waited = {
            key: section
            for section in ("models", "copied_models")
            for key, entry in self.file.entries(section)
            if entry.get("completion") == "no_wait"
        }
        references = [
            (section, key, name, entry[name])
            for section, name in (
                ("models", "base_model"),
                ("deployments", "model"),
                ("provisioned_throughput", "model"),
            )
            for key, entry in self.file.entries(section)
        ]
        return [
            self.file.problem(
                [section, key, name],
                f"{_show(value)} is a model of {not_waited[value]} whose completion is no_wait: the stack does not "
                "wait for its job, so has no model to use; use event_driven or polling",
            )
            for section, key, name, value in references
            if isinstance(value, str) and value in not_waited
        ]

    @cached_property
    def _base_models(self) -> dict[str, Any]:
        """Each model's base_model, by key (read once: every model asks)."""
        return {name: entry["base_model"] for name, entry in self.file.entries("models")}

    def base_model_of(self, key: str) -> str:
        """The foundation model that a model of the file customizes, through the models it continues training."""
        bases = self._base_models
        seen = {key}
        current = bases[key]
        while current in bases and current not in seen:
            seen.add(current)
            current = bases[current]
        return str(current)

    def _name_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[tuple[str, str], str] = {}
        for section, names in NAME_FIELDS.items():
            for key, entry in self.file.entries(section):
                for name_field in names:
                    if name_field not in entry:
                        continue
                    kind = "model" if name_field in _MODEL_NAME_FIELDS else name_field
                    if section == "evaluations":  # evaluation jobs are named apart from customization jobs
                        kind = f"evaluation {name_field}"
                    identity = (kind, str(entry[name_field]))
                    if identity in seen:
                        problems.append(
                            self.file.problem(
                                [section, key, name_field],
                                f"{_show(entry[name_field])} is also the name of {seen[identity]}: Bedrock names "
                                "are unique",
                            )
                        )
                    else:
                        seen[identity] = _label([section, key, name_field])
        return problems

    def _key_problems(self) -> list[Problem]:
        """Keys unique across sections: each names its entry's construct, in one scope, and a reference names one
        model; and none the id of an upload of local weights (or their bucket), in that scope too."""
        problems: list[Problem] = []
        first: dict[str, str] = {}
        uploads = {
            weights_upload_id(key): f"the upload of open_weight_models.{key}'s local weights"
            for key, entry in self.file.entries("open_weight_models")
            if not str(entry.get("model_data", "")).startswith("s3://")
        }
        if uploads:
            uploads[WEIGHTS_BUCKET_ID] = "the bucket of the file's local weights"
        for section in SECTIONS:
            for key, _ in self.file.entries(section):
                if key in first:
                    message = f"{_show(key)} is also a key of {first[key]}: keys are unique across sections"
                    problems.append(self.file.problem([section, key], message, at_key=True))
                else:
                    first[key] = section
                if key in uploads:
                    message = f"{_show(key)} is the id of {uploads[key]}, in the same scope: give the entry another key"
                    problems.append(self.file.problem([section, key], message, at_key=True))
        return problems

    def _request_problems(self, section: str, key: str, entry: Mapping[str, Any]) -> list[Problem]:
        try:
            request = contract.create_request(RESOURCE_TYPES[section], self.request_properties(section, key, entry))
        except contract.InvalidProperties as invalid:
            return [self._problem_at_member(section, key, entry, problem) for problem in invalid.problems]
        shape = contract.service_model().operation_model(contract.CONTRACTS[RESOURCE_TYPES[section]].operation)
        problems = _bucket_name_problems(shape.input_shape, request)
        return [self._problem_at_member(section, key, entry, problem) for problem in problems]

    def request_properties(
        self, section: str, key: str, entry: Mapping[str, Any], baseline: bool = False
    ) -> dict[str, Any]:
        """The entry's custom resource properties, as its construct would make them (values the construct makes
        at synth time are stand-ins); with baseline, those of an evaluation's baseline job."""
        props = construct_props(section, key, entry, _RequestValues(self))
        props.pop("removal_policy", None)
        if section == "evaluations":
            baseline_model = props.pop("baseline_model", None)
            evaluated = entry.get("baseline_model" if baseline else "model")
            if baseline:
                props["model"], props["job_name"] = baseline_model, None
            # A throughput's model, which can change while its ARN stays: the construct sends it too.
            if self.evaluated_section(evaluated) == "provisioned_throughput":
                props["evaluated_model_arn"] = _PLACEHOLDERS["model_key"]
        declared = contract.CONTRACTS[RESOURCE_TYPES[section]]
        tags = {
            member: tag_list(props.pop(_snake(member))) for member in declared.tag_members if _snake(member) in props
        }
        if section in _ROLE_MADE_BY_THE_CONSTRUCT:
            props.setdefault("role", _PLACEHOLDERS["role"])
        if section == "models" and isinstance(props.get("training_data"), str):
            props["training_data"] = _requests.s3_data(props["training_data"])
        return {**_REQUESTS[section](**props), **{member: listed for member, listed in tags.items() if listed}}

    def _problem_at_member(self, section: str, key: str, entry: Mapping[str, Any], problem: str) -> Problem:
        member_path, _, message = problem.partition(": ")
        alternatives = [
            next((spec for spec in FIELDS[section] if spec.member == member), None)
            for member in member_path.split(" or ")
        ]
        if len(alternatives) > 1 and all(alternatives):
            return self._one_of_problem(section, key, entry, [spec.name for spec in alternatives if spec], message)
        best: Field | None = None
        for spec in FIELDS[section]:
            if _at_member(member_path, spec):
                best = spec if best is None or len(spec.member or "") > len(best.member or "") else best
        if best is None:
            missing = next(
                (spec for spec in FIELDS[section] if (spec.member or "").startswith(member_path + ".")), None
            )
            if missing is not None:
                return self.file.problem([section, key, missing.name], message)
            return self.file.problem([section, key], f"{member_path}: {message}")
        rest = member_path[len(best.member or "") :].lstrip(".")
        path: list[Any] = [section, key, best.name]
        item = re.match(r"\[(\d+)\]\.?", rest)
        if best.items and item:  # a problem in an item of a list of mappings: at the item's field
            path.append(int(item.group(1)))
            path, rest = _in_item(path, best.items, rest[item.end() :])
        elif item and best.schema.get("type") == "array":  # an item of a list of values, which the request wraps
            path.append(int(item.group(1)))
            rest = ""
        separator = "" if rest.startswith("[") or not rest else "."
        return self.file.problem(path, message, label=_label(path) + separator + rest)

    def _one_of_problem(
        self, section: str, key: str, entry: Mapping[str, Any], names: list[str], message: str
    ) -> Problem:
        """'Give exactly one of these fields', where the fields are: at the last of those given, naming the
        line of each other one given, or at the entry when none is given."""
        rule = message.split(", got ", 1)[0]
        given = sorted(
            (name for name in names if name in entry),
            key=lambda name: self.file.position([section, key, name]),
        )
        if not given:
            return self.file.problem([section, key], f"{rule}: {' or '.join(names)}")
        *others, last = given
        also = ", ".join(f"{name} (line {self.file.position([section, key, name])[0]})" for name in others)
        return self.file.problem([section, key, last], f"{rule}; {also} is also given")


def _token_problems(file: ModelsFile) -> list[Problem]:
    """Text that aws-cdk-lib would take for a token: a synth would fail deep in the kernel (or, had the app made
    that token, put something else in the template)."""
    problems = []
    for section in SECTIONS:
        for key, entry in file.entries(section):
            for path, text in _strings([section, key], entry):
                if any(marker in text for marker in _requests.STRING_TOKEN_MARKERS):
                    message = f"{_show(text)} holds aws-cdk-lib's token marker; a models file holds plain values"
                    problems.append(file.problem(path, message))
    return problems


def _hyper_parameter_warnings(checks: EntryChecks, key: str, entry: Mapping[str, Any]) -> list[Problem]:
    """A warning at each of a model's hyperparameters that the user guide's table for its base model does not take,
    as the construct warns at synth."""
    request = checks.request_properties("models", key, entry)
    path = ["models", key, "hyper_parameters"]
    return [
        checks.file.problem(path if name is None else [*path, name], f"warning: {message}")
        for name, message in hyper_parameter_warnings(
            checks.base_model_of(key), request["customizationType"], request.get("hyperParameters")
        )
    ]


def _base_model_problem(checks: EntryChecks, value: Any) -> str | None:
    """A base_model that is neither a key of a model this file trains or imports nor a model id or ARN: sent as
    written, Bedrock would take it for the name of some other custom model."""
    if not isinstance(value, str) or value in checks.model_keys:
        return None
    for section in ("copied_models", "open_weight_models"):
        if value in dict(checks.file.entries(section)):
            return f"{_show(value)} is a key of {section}; a base_model is {_BASE_MODELS}"
    if checks.dangling(value):
        return f"{_show(value)} is not {_BASE_MODELS}"
    return None


def _strings(path: list[Any], value: Any) -> Iterator[tuple[list[Any], str]]:
    """Every string in value, keys included, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings([*path, key], key)
            yield from _strings([*path, key], item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings([*path, index], item)


def _unread_problems(file: ModelsFile, section: str, key: str, entry: Mapping[str, Any]) -> list[Problem]:
    """Fields that the entry's other fields leave unread (READ_ONLY_WITH), and training data given beside
    invocation logs, which take its place: each would be dropped without a word."""
    problems = []
    for name, (setting, value) in READ_ONLY_WITH.items():
        actual = entry.get(setting, DEFAULTS[setting])
        if name in entry and actual != value:
            shown = f"{actual}" + ("" if setting in entry else " (the default)")
            message = (
                f"read only with {setting}: {value}, and this entry's {setting} is {shown}: "
                f"set {setting}: {value}, or remove {name}"
            )
            problems.append(file.problem([section, key, name], message))
    if "invocation_logs" in entry and "training_data" in entry:
        message = "the invocation logs are the job's training data: give training_data or invocation_logs, not both"
        problems.append(file.problem([section, key, "training_data"], message))
    return problems


def _local_data_problems(
    file: ModelsFile, base_model: str, key: str, entry: Mapping[str, Any], findings: DatasetFindings
) -> list[Problem]:
    """A model's local datasets: each file checked, then the quotas on a job's training and validation records
    together (when all of them are local, so that they can be counted). Their warnings, and the datasets
    themselves, go to findings."""
    section = "models"
    customization_type = CUSTOMIZATIONS[str(entry.get("customization", "fine_tuning"))]
    problems, summaries, remote = [], {}, False
    written: dict[str, str] = {}  # each local dataset's path as the error shows it -> as the file wrote it
    for spec_name in ("training_data", "validation_data"):
        values = entry.get(spec_name)
        items = list(values) if isinstance(values, list) else [values] if values else []
        for index, item in enumerate(items):
            if str(item).startswith("s3://"):
                remote = True
                continue
            location = [section, key, spec_name] + ([index] if isinstance(values, list) else [])
            local = file.local_file(str(item))
            if local is None:
                problems.append(file.problem(location, f"{_show(item)} is neither an s3:// URI nor a file"))
                continue
            written[str(local)] = str(item)
            try:
                summary = validate_dataset(
                    local,
                    customization_type=customization_type,
                    base_model=base_model,
                    purpose="training" if spec_name == "training_data" else "validation",
                    quotas=file.data.get(DATASET_QUOTAS),
                    dataset_bucket=ASSET_BUCKET,
                )
            except DatasetError as error:
                problems += [file.problem(location, _as_written(problem, written)) for problem in error.problems]
                continue
            summaries[(spec_name, index)] = summary
            findings.warnings += [
                file.problem(location, f"warning: {_as_written(w, written)}") for w in summary.warnings
            ]
            findings.datasets.append((local, base_model, customization_type))
    training = summaries.pop(("training_data", 0), None)
    if not problems and not remote and training is not None:
        try:
            check_total_records(training, list(summaries.values()), quotas=file.data.get(DATASET_QUOTAS))
        except DatasetError as error:
            problems.append(file.problem([section, key, "training_data"], _as_written(str(error), written)))
    return problems


def _in_item(path: list[Any], fields: Sequence[Field], rest: str) -> tuple[list[Any], str]:
    """The path of a problem at rest, a member path in an item of a list of these fields, and what remains of it."""
    best = max(
        (spec for spec in fields if _at_member(rest, spec)), key=lambda spec: len(spec.member or ""), default=None
    )
    if best is None:
        return path, rest
    rest = rest[len(best.member or "") :].lstrip(".")
    index = re.fullmatch(r"\[(\d+)\]", rest)
    return ([*path, best.name, int(index.group(1))], "") if index else ([*path, best.name], rest)


def _at_member(member_path: str, spec: Field) -> bool:
    """Whether a problem's member path is the field's member, or in it."""
    member = spec.member
    return bool(member) and (
        member_path == member or member_path.startswith(f"{member}.") or member_path.startswith(f"{member}[")
    )


def _local_weights_problems(file: ModelsFile, section: str, key: str, entry: Mapping[str, Any]) -> list[Problem]:
    """A local folder of weights: checked as validate-weights checks it, and small enough to upload."""
    value = entry.get("model_data") if section == "open_weight_models" else None
    if not isinstance(value, str) or value.startswith("s3://"):
        return []
    location = [section, key, "model_data"]
    folder = file.local_folder(value)
    if folder is None:
        return [file.problem(location, f"{_show(value)} is neither an s3:// URI nor a folder")]
    try:
        validate_weights(folder)
    except WeightsError as error:
        return [file.problem(location, _as_written(line, {str(folder): value})) for line in error.problems]
    too_large = upload_problem(folder)
    return [file.problem(location, _as_written(too_large, {str(folder): value}))] if too_large else []


def _data_uri(value: Any) -> str:
    return str(value) if str(value).startswith("s3://") else _PLACEHOLDERS["local_data"]


def _snake(member: str) -> str:
    """A request member's name as the construct's parameter (jobTags: job_tags)."""
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in member)


class _RequestValues:
    """Binds an entry's values as the plain values its construct would put in its request (entry_props.Binder)."""

    def __init__(self, checks: EntryChecks) -> None:
        self.checks = checks

    def model(self, key: str, value: str, *, served: bool) -> str:
        keys = self.checks.served_keys if served else self.checks.model_keys
        if value in keys or (served and self.checks.dangling(value)):
            return _PLACEHOLDERS["model_key"]  # a dangling reference is reported once, as such
        return value

    def evaluated(self, key: str, value: str) -> str:
        section = self.checks.evaluated_section(value)
        if section is not None:
            return _PLACEHOLDERS[section]
        if _names_a_key(value) or _CUSTOM_MODEL_ARN.match(value):  # refused once, as such
            return _PLACEHOLDERS["provisioned_throughput"]
        return value

    def evaluation_dataset(
        self, key: str, name: str, task_type: str, metric_names: list[str], data: str | None
    ) -> dict[str, Any]:
        uri = None if data is None else _data_uri(data)
        return _requests.evaluation_dataset(name=name, task_type=task_type, metric_names=metric_names, uri=uri)

    def data(self, key: str, name: str, value: str) -> str:
        return _data_uri(value)

    def output(self, uri: str) -> str:
        return uri

    def weights(self, key: str, value: str) -> str:
        return value if value.startswith("s3://") else _PLACEHOLDERS["local_weights"]

    def invocation_logs(self, source: str, use_prompt_response: bool) -> dict[str, Any]:
        return _requests.invocation_logs(source, use_prompt_response)

    def role(self, key: str, arn: str) -> str:
        return arn

    def key(self, key: str, arn: str) -> str:
        return arn

    def customization(self, key: str, kind: str, options: Mapping[str, Any]) -> _requests.Customization:
        if kind == "distillation" and options["teacher_model"] is not None:
            return _requests.distillation(**options)
        if kind == "reinforcement_fine_tuning" and options["grader"] is not None:
            return _requests.reinforcement_fine_tuning(**options)
        return CUSTOMIZATIONS[kind], None  # without its model, the contract says what the type requires

    def completion(self, mode: CompletionMode, timeout_seconds: int, resource_type: str) -> str | None:
        return _requests.wait_until(mode, resource_type)

    def model_source(self, source_uri: str | None, model_package_arn: str | None) -> dict[str, Any]:
        sources = [
            *([_requests.model_in_s3(source_uri)] if source_uri is not None else []),
            *([_requests.model_package(model_package_arn)] if model_package_arn is not None else []),
        ]
        # Both, or neither: the contract says to give exactly one.
        return {name: value for source in sources for name, value in source.items()}

    def commitment(self, duration: str) -> str:
        return duration

    def removal_policy(self, value: str) -> str:
        return value


# What S3's bucket naming rules refuse beyond the service model's S3Uri pattern (3 to 63 of [a-z0-9.-], a letter or
# digit at each end), as aws-cdk-lib's Bucket.from_bucket_name refuses it at synth: checked offline, without it.
_ADJACENT_PERIOD = re.compile(r"\.\.|\.-|-\.")
_IP_ADDRESS = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _bucket_name_problems(shape: Any, value: Any, path: str = "") -> Iterator[str]:
    """'member.path: problem' for each S3 URI of a request (a member whose shape's pattern is an s3:// URI's, read
    with the request's shape: not a map's free text) whose bucket name S3 refuses ("must not contain two adjacent
    periods", "must not be formatted as an IP address") or aws-cdk-lib does (a period beside a hyphen)."""
    if shape.type_name == "structure" and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value:
                yield from _bucket_name_problems(member, value[name], f"{path}.{name}" if path else name)
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bucket_name_problems(shape.member, item, f"{path}[{index}]")
    elif str(shape.metadata.get("pattern", "")).startswith("s3://") and isinstance(value, str):
        bucket = value.removeprefix("s3://").partition("/")[0]
        if _ADJACENT_PERIOD.search(bucket) or _IP_ADDRESS.fullmatch(bucket):
            yield (
                f"{path}: {value!r} names bucket {bucket!r}, which S3's bucket naming rules (or aws-cdk-lib's) refuse: "
                "no two adjacent periods, no period beside a hyphen, not an IP address"
            )
