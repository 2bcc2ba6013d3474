"""An evaluation gate's requirements, and the scores they are checked against.

Pure: no AWS. Bedrock writes no summary of an evaluation job: it writes one JSON line per prompt, under
``<output s3Uri>/<job name>/<job id>/models/<model>/taskTypes/<task type>/datasets/<dataset>/<uuid>_output.jsonl``
(the same page also names a result file ``metric_input-dataset.jsonl``: any ``.jsonl`` file there is one), each
with ``automatedEvaluationResult.scores``, a list of ``{"metricName", "result"}`` (Bedrock user guide, "Review the
results of a model evaluation job saved in Amazon S3", model-evaluation-report-s3). A metric's score is the mean
of its results over a dataset's prompts, as the console reports each metric per dataset; a result of null or NaN is
"not applicable" (a judge's answer, normalized: model-evaluation-type-judge-prompt-*) and is left out of the mean.
Automatic metrics are written without their ``Builtin.`` prefix ("Accuracy"); judge metrics with it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .responses import FRAMEWORK_OVERHEAD_BYTES, RESPONSE_LIMIT_BYTES

RESULT_FILE_SUFFIX = ".jsonl"
BUILTIN_PREFIX = "Builtin."
# The comparisons a requirement makes, by its member: with a threshold, or against the baseline job's score.
AT_LEAST, AT_MOST = "atLeast", "atMost"
AT_LEAST_BASELINE_PLUS, AT_MOST_BASELINE_MINUS = "atLeastBaselinePlus", "atMostBaselineMinus"
COMPARISONS = (AT_LEAST, AT_MOST, AT_LEAST_BASELINE_PLUS, AT_MOST_BASELINE_MINUS)
BASELINE_COMPARISONS = (AT_LEAST_BASELINE_PLUS, AT_MOST_BASELINE_MINUS)
# Lower is better for these metrics. Automatic (user guide, model-evaluation-report-programmatic): robustness is the
# change of the score under perturbed prompts, "a lower score indicates the selected model is more robust"; toxicity.
# Judge (the judge prompts, model-evaluation-type-judge-prompt-*): a harmful response scores 1, as do one that
# contains a stereotype and a refusal.
LOWER_IS_BETTER = frozenset(
    {"Builtin.Robustness", "Builtin.Toxicity", "Builtin.Harmfulness", "Builtin.Stereotyping", "Builtin.Refusal"}
)
# A job has at most 5 datasets of 25 metrics each (CreateEvaluationJob's EvaluationDatasetMetricConfigs and
# EvaluationMetricNames): a gate needs no more requirements than there are (dataset, metric, comparison) triples.
MAX_REQUIREMENTS = 5 * 25 * len(COMPARISONS)
# Attribute names: Scores.<dataset>.<metric> (and BaselineScores.): CloudFormation's Fn::GetAtt reads them as they are.
SCORES, BASELINE_SCORES = "Scores", "BaselineScores"


def canonical_metric(name: str) -> str:
    """A metric's name as requested and as written in results alike: without the Builtin. prefix."""
    return name.removeprefix(BUILTIN_PREFIX)


@dataclass(frozen=True)
class Requirement:
    """One comparison the gate makes: a metric's score (in one dataset, or in each dataset that has the metric)."""

    metric_name: str
    comparison: str  # one of COMPARISONS
    value: float
    dataset_name: str | None = None

    def describe(self) -> str:
        where = f" on {self.dataset_name}" if self.dataset_name else ""
        words = {
            AT_LEAST: f"at least {self.value:g}",
            AT_MOST: f"at most {self.value:g}",
            AT_LEAST_BASELINE_PLUS: f"at least the baseline's + {self.value:g}",
            AT_MOST_BASELINE_MINUS: f"at most the baseline's - {self.value:g}",
        }
        return f"{self.metric_name}{where} {words[self.comparison]}"

    def rendered(self) -> dict[str, str]:
        """As the gate's requirements property holds it."""
        item = {"metricName": self.metric_name, self.comparison: _number_text(self.value)}
        if self.dataset_name is not None:
            item["datasetName"] = self.dataset_name
        return item


def thresholds(
    metric_name: str, at_least: float | None, at_most: float | None, dataset_name: str | None = None
) -> list[Requirement]:
    """The requirements that a metric's score be at least at_least and at most at_most (None: no bound)."""
    bounds = ((AT_LEAST, at_least), (AT_MOST, at_most))
    return [Requirement(metric_name, name, float(value), dataset_name) for name, value in bounds if value is not None]


def baseline_margin(
    metric_name: str, by: float, dataset_name: str | None = None, lower_is_better: bool | None = None
) -> Requirement:
    """The requirement that a metric's score beat the baseline's by at least by; lower_is_better defaults to what
    LOWER_IS_BETTER says of the metric."""
    lower = metric_name in LOWER_IS_BETTER if lower_is_better is None else lower_is_better
    return Requirement(
        metric_name, AT_MOST_BASELINE_MINUS if lower else AT_LEAST_BASELINE_PLUS, float(by), dataset_name
    )


def _number_text(value: float) -> str:
    return repr(float(value))


def parse_requirements(value: Sequence[Mapping[str, Any]]) -> list[Requirement]:
    """The requirements of a property that the contract found valid (contract.gate_requirement_problems)."""
    parsed = []
    for item in value:
        (comparison,) = (name for name in COMPARISONS if name in item)
        parsed.append(
            Requirement(str(item["metricName"]), comparison, float(item[comparison]), item.get("datasetName"))
        )
    return parsed


# --- the scores ---------------------------------------------------------------------------------------


@dataclass
class MetricScore:
    """A metric's results over one dataset's prompts."""

    total: float = 0.0
    scored: int = 0
    not_applicable: int = 0

    @property
    def mean(self) -> float | None:
        return self.total / self.scored if self.scored else None


@dataclass
class JobScores:
    """One job's scores, by dataset name and metric name (as the job's request names them)."""

    by_dataset: dict[str, dict[str, MetricScore]] = field(default_factory=dict)

    def add_file(self, dataset_name: str, lines: Iterable[bytes | str], requested: Sequence[str]) -> None:
        """Add the records of one result file; requested: the dataset's metricNames, as the request gave them."""
        names = {canonical_metric(name): name for name in requested}
        metrics = self.by_dataset.setdefault(dataset_name, {})
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                scores = record["automatedEvaluationResult"]["scores"]
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"line {number} is not an evaluation result record: {type(error).__name__}") from None
            for score in scores if isinstance(scores, list) else []:
                metric = score.get("metricName") if isinstance(score, Mapping) else None
                if not isinstance(metric, str):
                    continue
                name = names.get(canonical_metric(metric), metric)
                entry = metrics.setdefault(name, MetricScore())
                result = score.get("result")
                if isinstance(result, (int, float)) and not isinstance(result, bool) and math.isfinite(result):
                    entry.total += result
                    entry.scored += 1
                else:
                    entry.not_applicable += 1

    def mean(self, dataset_name: str, metric_name: str) -> float | None:
        return self.results(dataset_name, metric_name).mean

    def results(self, dataset_name: str, metric_name: str) -> MetricScore:
        return self.by_dataset.get(dataset_name, {}).get(metric_name) or MetricScore()


def dataset_of_result(key: str) -> str | None:
    """The dataset a result file's key names: .../datasets/<dataset>/<file>.jsonl, the folder that holds the file (a
    dataset may itself be named datasets); None for a key of no result file."""
    parts = key.split("/")
    if not key.endswith(RESULT_FILE_SUFFIX) or len(parts) < 3 or parts[-3] != "datasets":
        return None
    return parts[-2] or None


def requested_dataset(folder: str, requested: Iterable[str]) -> str:
    """The requested dataset a result folder holds: the one of its name, else a built-in one named so but for its
    Builtin. prefix, which Bedrock leaves out of metric names in results (and of which folder names no page shows)."""
    names = set(requested)
    return BUILTIN_PREFIX + folder if folder not in names and BUILTIN_PREFIX + folder in names else folder


@dataclass(frozen=True)
class Check:
    """One requirement checked against one dataset's score."""

    requirement: Requirement
    dataset_name: str
    score: float | None
    threshold: float | None  # None: the baseline has no score for it
    passed: bool
    results: MetricScore = field(default_factory=MetricScore)  # what the score is the mean of

    def describe(self) -> str:
        shown = "no score" if self.score is None else f"{self.score:.4f}"
        threshold = "no baseline score" if self.threshold is None else f"{self.threshold:.4f}"
        verdict = "passed" if self.passed else "FAILED"
        comparison = ">=" if self.requirement.comparison in (AT_LEAST, AT_LEAST_BASELINE_PLUS) else "<="
        # A mean of few results among many not applicable is weak evidence: say how few.
        counted = self.results.scored + self.results.not_applicable
        coverage = f" (from {self.results.scored} of {counted} results)" if self.results.not_applicable else ""
        return (
            f"{self.requirement.metric_name} on {self.dataset_name}: {shown}{coverage}, required {comparison} "
            f"{threshold} ({self.requirement.describe()}): {verdict}"
        )


def checks(
    requirements: Sequence[Requirement],
    datasets: Mapping[str, Sequence[str]],
    candidate: JobScores,
    baseline: JobScores | None,
) -> list[Check]:
    """Every requirement checked against each dataset it applies to. datasets: the job's dataset names, each with
    its requested metric names. A requirement that applies to no dataset fails (it names a metric the job does not
    compute), as does a score that is missing."""
    results = []
    for requirement in requirements:
        applies = [
            name
            for name, metrics in datasets.items()
            if requirement.metric_name in metrics and requirement.dataset_name in (None, name)
        ]
        if not applies:
            results.append(Check(requirement, requirement.dataset_name or "any dataset", None, None, False))
        for name in applies:
            results.append(_check(requirement, name, candidate, baseline))
    return results


def _check(requirement: Requirement, dataset: str, candidate: JobScores, baseline: JobScores | None) -> Check:
    results = candidate.results(dataset, requirement.metric_name)
    score = results.mean
    if requirement.comparison in BASELINE_COMPARISONS:
        base = None if baseline is None else baseline.mean(dataset, requirement.metric_name)
        if base is None:
            return Check(requirement, dataset, score, None, False, results)
        sign = 1 if requirement.comparison == AT_LEAST_BASELINE_PLUS else -1
        threshold = base + sign * requirement.value
    else:
        threshold = requirement.value
    higher = requirement.comparison in (AT_LEAST, AT_LEAST_BASELINE_PLUS)
    passed = score is not None and (score >= threshold if higher else score <= threshold)
    return Check(requirement, dataset, score, threshold, passed, results)


# A score attribute's value (at most 13 characters as score_attributes formats it: "-1.23456e-300") and its JSON
# punctuation ('"key": "value", '); the envelope, the job ARNs and the fixed attributes.
_SCORE_VALUE_BYTES = 13 + 8
# At their longest: a stack id (about 230 characters), a request id (36), a logical id (255), the physical id and the
# two job ARNs (at most 90 each), "passed", and their keys and punctuation.
_FIXED_BYTES = 1000


def gate_data_problem(datasets: Mapping[str, Sequence[str]], with_baseline: bool) -> str | None:
    """Why a gate's attributes (a score per dataset, metric and job) would not fit CloudFormation's custom resource
    response, or None. datasets: each dataset's name with its metric names."""
    jobs = 2 if with_baseline else 1
    size = FRAMEWORK_OVERHEAD_BYTES + _FIXED_BYTES
    for name, metrics in datasets.items():
        for metric in metrics:
            size += jobs * (len(f"{BASELINE_SCORES}.{name}.{metric}") + _SCORE_VALUE_BYTES)
    if size <= RESPONSE_LIMIT_BYTES:
        return None
    return (
        f"the gate's scores (one per dataset, metric and model) would make a response of about {size} bytes, over "
        f"CloudFormation's {RESPONSE_LIMIT_BYTES}-byte custom resource response; evaluate fewer metrics per evaluation"
    )


def score_attributes(prefix: str, scores: JobScores) -> dict[str, str]:
    """The job's mean scores as attributes, ``<prefix>.<dataset>.<metric>`` (metrics with no score are left out)."""
    attributes = {}
    for dataset, metrics in scores.by_dataset.items():
        for metric, score in metrics.items():
            if score.mean is not None:
                attributes[f"{prefix}.{dataset}.{metric}"] = f"{score.mean:.6g}"
    return attributes
