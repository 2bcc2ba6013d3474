"""The checks of a models file's evaluations: what each may evaluate, its datasets and requirements, the size of its
gate's scores, and what waits for it (after:). A part of EntryChecks (``_entry_checks``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bedrock_custom_resource import contract, evaluation_scores
from bedrock_custom_resource.evaluation_scores import Requirement

from ._requests import NOT_INFERENCE_PARAMS, is_json_object
from .datasets import DatasetError, validate_prompt_dataset
from .entry_props import THRESHOLDS, after_keys, requirement_calls
from .models_file import FIELDS, SECTIONS, ModelsFile, Problem, _cut, _show

if TYPE_CHECKING:
    from collections.abc import Callable

# The sections whose entries an evaluation may evaluate by key; and those whose entries it may not (custom models).
_EVALUATED_SECTIONS = ("provisioned_throughput", "open_weight_models")
_CUSTOM_MODEL_SECTIONS = ("models", "imported_models", "copied_models", "deployments")
# Custom models and their deployments, by ARN: CreateEvaluationJob accepts neither.
_CUSTOM_MODEL_ARN = re.compile(r"^arn:aws(-[^:]+)?:bedrock:[^:]*:[0-9]*:custom-model(-deployment)?/")
_THROUGH_A_THROUGHPUT = (
    "an evaluation job invokes a custom model only through a provisioned throughput: evaluate the key of a "
    "provisioned_throughput entry that serves it"
)
_NO_WAIT = (
    "no_wait cannot gate on the scores, which exist only once the job has completed; use event_driven (up to 12 "
    "hours) or polling (up to 1 hour)"
)


class EvaluationChecks:
    """The evaluation checks of EntryChecks, which gives them the file and the entries' requests."""

    file: ModelsFile
    request_properties: Callable[..., dict[str, Any]]
    _problem_at_member: Callable[..., Problem]

    def _baseline_request_problems(self, key: str, entry: Mapping[str, Any]) -> list[Problem]:
        """The baseline's job is the evaluation's with the baseline model, and a generated name: its own problems
        are the baseline model's (the rest are the evaluation's, reported once)."""
        if "baseline_model" not in entry:
            return []
        try:
            contract.create_request(
                contract.MODEL_EVALUATION, self.request_properties("evaluations", key, entry, baseline=True)
            )
        except contract.InvalidProperties as invalid:
            model = next(spec.member for spec in FIELDS["evaluations"] if spec.name == "model")
            return [
                self.file.problem(["evaluations", key, "baseline_model"], problem.partition(": ")[2])
                for problem in invalid.problems
                if problem.partition(": ")[0] == model
            ]
        return []

    @cached_property
    def keys_by_section(self) -> dict[str, frozenset[str]]:
        return {section: frozenset(key for key, _ in self.file.entries(section)) for section in SECTIONS}

    def evaluated_section(self, value: Any) -> str | None:
        """The section whose entry an evaluation's model names (provisioned_throughput or open_weight_models),
        or None for a model id or ARN (which the contract checks) or a key that is refused."""
        return next((section for section in _EVALUATED_SECTIONS if value in self.keys_by_section[section]), None)

    def _evaluation_problems(self, key: str, entry: Mapping[str, Any]) -> list[Problem]:
        """An evaluation's own rules: its models, its completion, its datasets and its requirements."""
        problems = self._baseline_request_problems(key, entry)
        for name in ("model", "baseline_model"):
            if name in entry:
                problems.extend(self._evaluated_model_problems(key, name, entry[name]))
        if entry.get("completion") == "no_wait":
            problems.append(self.file.problem(["evaluations", key, "completion"], _NO_WAIT))
        if "baseline_model" in entry and entry["baseline_model"] == entry.get("model"):
            message = f"{_show(entry['baseline_model'])} is the evaluated model itself; give another model to compare"
            problems.append(self.file.problem(["evaluations", key, "baseline_model"], message))
        params = entry.get("inference_params")
        if params is not None and not is_json_object(params):
            message = f"{_show(params)} {NOT_INFERENCE_PARAMS}"
            problems.append(self.file.problem(["evaluations", key, "inference_params"], message))
        problems.extend(self._evaluation_dataset_problems(key, entry))
        problems.extend(self._requirement_problems(key, entry))
        problems.extend(self._gate_data_problems(key, entry))
        return problems

    def _gate_data_problems(self, key: str, entry: Mapping[str, Any]) -> list[Problem]:
        """The gate's scores must fit CloudFormation's response, as the construct checks at synth."""
        datasets = entry.get("datasets")
        if not isinstance(datasets, list) or not all(
            isinstance(d, Mapping) and isinstance(d.get("name"), str) and isinstance(d.get("metric_names"), list)
            for d in datasets
        ):
            return []  # the schema reports it
        named = {d["name"]: [str(metric) for metric in d["metric_names"]] for d in datasets}
        problem = evaluation_scores.gate_data_problem(named, "baseline_model" in entry)
        return [] if problem is None else [self.file.problem(["evaluations", key, "datasets"], problem)]

    def _evaluated_model_problems(self, key: str, name: str, value: Any) -> list[Problem]:
        where = ["evaluations", key, name]
        section = self.evaluated_section(value)
        custom = next((other for other in _CUSTOM_MODEL_SECTIONS if value in self.keys_by_section[other]), None)
        if section == "open_weight_models":
            weights = dict(self.file.entries(section))[value]
            if weights.get("completion") == "no_wait":
                return [
                    self.file.problem(
                        where,
                        f"{_show(value)} is a model of open_weight_models whose completion is no_wait: the stack "
                        "does not wait for its import, so has no model to evaluate; use event_driven or polling",
                    )
                ]
        elif custom is not None:
            return [self.file.problem(where, f"{_show(value)} is a key of {custom}: {_THROUGH_A_THROUGHPUT}")]
        elif isinstance(value, str) and _CUSTOM_MODEL_ARN.match(value):
            return [self.file.problem(where, f"a custom model's or deployment's ARN: {_THROUGH_A_THROUGHPUT}")]
        elif section is None and _names_a_key(value):
            return [
                self.file.problem(where, f"{_show(value)} is no key of provisioned_throughput or open_weight_models")
            ]
        return []

    def _evaluation_dataset_problems(self, key: str, entry: Mapping[str, Any]) -> list[Problem]:
        """Dataset names unique (the gate's scores are by dataset name), a built-in dataset named as one, and
        local prompt datasets checked against the user guide's format."""
        problems: list[Problem] = []
        first: dict[str, int] = {}
        for index, dataset in enumerate(entry["datasets"]):
            at = ["evaluations", key, "datasets", index]
            name, data = str(dataset["name"]), dataset.get("data")
            if name in first:
                message = f"{_show(name)} is also the name of datasets.{first[name]}: the gate reads scores by dataset"
                problems.append(self.file.problem([*at, "name"], message))
            first.setdefault(name, index)
            if data is None:
                if not name.startswith("Builtin."):
                    problems.append(
                        self.file.problem(
                            [*at, "name"],
                            f"{_show(name)} is no built-in dataset (Builtin.BoolQ, Builtin.Gigaword...): give data, "
                            "a local .jsonl or an s3:// URI, for a dataset of your own",
                        )
                    )
                continue
            if str(data).startswith("s3://"):
                continue
            local = self.file.local_file(str(data))
            if local is None:
                problems.append(self.file.problem([*at, "data"], f"{_show(data)} is neither an s3:// URI nor a file"))
                continue
            try:
                validate_prompt_dataset(local, task_type=dataset["task_type"], metric_names=dataset["metric_names"])
            except DatasetError as error:
                written = {str(local): str(data)}
                problems += [self.file.problem([*at, "data"], _as_written(each, written)) for each in error.problems]
        return problems

    def _requirement_problems(self, key: str, entry: Mapping[str, Any]) -> list[Problem]:
        """Each requirement names a metric that its datasets compute, compares with something, and compares with a
        baseline only when there is one; then the gate's requirements, as the construct makes them, against the
        contract."""
        problems: list[Problem] = []
        datasets = entry["datasets"]
        names = [str(dataset["name"]) for dataset in datasets]
        for index, item in enumerate(entry.get("require") or []):
            at = ["evaluations", key, "require", index]
            if not any(name in item for name in (*THRESHOLDS, "better_than_baseline_by")):
                problems.append(self.file.problem(at, "give at_least, at_most or better_than_baseline_by"))
            low, high = item.get("at_least"), item.get("at_most")
            if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
                problems.append(self.file.problem(at, f"at_least {low!r} is above at_most {high!r}: no score passes"))
            if "lower_is_better" in item and "better_than_baseline_by" not in item:
                problems.append(
                    self.file.problem([*at, "lower_is_better"], "applies to better_than_baseline_by only, not given")
                )
            if "better_than_baseline_by" in item and "baseline_model" not in entry:
                problems.append(
                    self.file.problem(
                        [*at, "better_than_baseline_by"],
                        "needs the evaluation's baseline_model, the model whose scores this compares with",
                    )
                )
            dataset = item.get("dataset")
            if dataset is not None and dataset not in names:
                message = f"{_show(dataset)} is not a dataset of this evaluation; its datasets are {names}"
                problems.append(self.file.problem([*at, "dataset"], _cut(message, 300)))
                continue
            computed = sorted(
                {str(metric) for d in datasets if dataset in (None, d["name"]) for metric in d["metric_names"]}
            )
            if item["metric"] not in computed:
                on = f" on {dataset}" if dataset is not None else ""
                message = f"{_show(item['metric'])} is not computed by this evaluation{on}; it computes {computed}"
                problems.append(self.file.problem([*at, "metric"], _cut(message, 300)))
        if problems:
            return problems
        made = [
            (index, requirement)
            for index, method, kwargs in requirement_calls(entry)
            for requirement in _requirements(method, kwargs)
        ]
        for problem in contract.gate_requirement_problems([requirement.rendered() for _, requirement in made]):
            member, _, message = problem.partition(": ")
            number = re.match(r"requirements\[(\d+)\]", member)
            at = ["evaluations", key, "require"] + ([made[int(number.group(1))][0]] if number else [])
            problems.append(self.file.problem(at, message))
        return problems

    def _after_problems(self) -> list[Problem]:
        """after names evaluations of the file; and a throughput is never after an evaluation that (through
        others) evaluates it, which would wait for the throughput."""
        problems: list[Problem] = []
        evaluations = self.keys_by_section["evaluations"]
        requiring = {key for key, entry in self.file.entries("evaluations") if entry.get("require")}
        # The graph of what waits for what: a throughput for its evaluations, an evaluation for its throughput.
        waits: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for section in ("deployments", "provisioned_throughput"):
            for key, entry in self.file.entries(section):
                for path, value in after_keys(entry):
                    if value not in evaluations:
                        problems.append(
                            self.file.problem([section, key, *path], f"{_show(value)} is no key of evaluations")
                        )
                        continue
                    if value not in requiring:
                        problems.append(
                            self.file.problem(
                                [section, key, *path],
                                f"{_show(value)} has no require items: its gate would pass whatever the scores",
                            )
                        )
                    if section == "provisioned_throughput":
                        waits.setdefault((section, key), []).append(("evaluations", value))
        for key, entry in self.file.entries("evaluations"):
            for name in ("model", "baseline_model"):
                if entry.get(name) in self.keys_by_section["provisioned_throughput"]:
                    waits.setdefault(("evaluations", key), []).append(("provisioned_throughput", str(entry[name])))
        reported: set[frozenset[tuple[str, str]]] = set()
        for key, entry in self.file.entries("provisioned_throughput"):
            start = ("provisioned_throughput", key)
            for path, value in after_keys(entry):
                cycle = _path_back(waits, ("evaluations", value), start)
                if cycle is None or frozenset(cycle) in reported:
                    continue
                reported.add(frozenset(cycle))
                keys = " -> ".join(node for _, node in [start, *cycle])
                message = f"reference cycle: {keys}: an evaluation cannot gate the throughput it evaluates"
                problems.append(self.file.problem(["provisioned_throughput", key, *path], _cut(message, 300)))
        return problems


def _names_a_key(value: Any) -> bool:
    """Whether a model is written as a key of the file (no model id or ARN has neither a dot nor arn:)."""
    return isinstance(value, str) and not value.startswith("arn:") and "." not in value


def _path_back(
    waits: Mapping[tuple[str, str], Sequence[tuple[str, str]]], first: tuple[str, str], target: tuple[str, str]
) -> list[tuple[str, str]] | None:
    """The nodes from first to target along waits (breadth first: the shortest), or None if target is not
    reached."""
    came_from: dict[tuple[str, str], tuple[str, str] | None] = {first: None}
    queue = [first]
    for node in queue:
        if node == target:
            path = [node]
            while (previous := came_from[path[-1]]) is not None:
                path.append(previous)
            return path[::-1]
        for following in waits.get(node, ()):
            if following not in came_from:
                came_from[following] = node
                queue.append(following)
    return None


def _requirements(method: str, kwargs: Mapping[str, Any]) -> list[Requirement]:
    """What ModelEvaluation's require and require_better_than_baseline make of these arguments."""
    metric, dataset = kwargs["metric_name"], kwargs["dataset"]
    if method == "require":
        return evaluation_scores.thresholds(metric, kwargs["at_least"], kwargs["at_most"], dataset)
    return [evaluation_scores.baseline_margin(metric, kwargs["by"], dataset, kwargs["lower_is_better"])]


def _as_written(message: str, written: Mapping[str, str]) -> str:
    """A dataset's message, with the local paths as the models file wrote them (its position says where)."""
    for shown, as_written in written.items():
        message = message.replace(shown, as_written)
    return message
