"""The gate's arithmetic: result records in the user guide's format, averaged per dataset and metric, checked
against requirements. Expected values are computed here from the records, never by the module under test."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from bedrock_custom_resource import contract, evaluation_scores, responses
from bedrock_custom_resource.evaluation_scores import JobScores, Requirement
from hypothesis import given, settings
from hypothesis import strategies as st

# The user guide's example record (model-evaluation-report-s3), verbatim but for the score.
GUIDE_RECORD = {
    "automatedEvaluationResult": {"scores": [{"metricName": "Accuracy", "result": 0.31920555233955383}]},
    "inputRecord": {
        "prompt": "Human: two bodies have been recovered from a flooded coal mine ... Assistant:",
        "referenceResponse": "two bodies recovered from flooded coal mine in c. china",
    },
    "modelResponses": [
        {
            "modelIdentifier": "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-v2",
            "response": " Here are the key points I gathered from your news summary: ...",
        }
    ],
}
KEY = (
    "evaluations/my-job/abcdefghijkl/models/my-model/taskTypes/Summarization/datasets/Builtin.Gigaword/"
    "1a2b_output.jsonl"
)


def lines(*records: dict[str, Any]) -> list[bytes]:
    return [json.dumps(record).encode() for record in records]


def judged(metric: str, result: float | None) -> dict[str, Any]:
    score = {"metricName": metric, "result": result, "evaluatorDetails": [{"modelIdentifier": "j", "explanation": "e"}]}
    return {"automatedEvaluationResult": {"scores": [score]}, "inputRecord": {"prompt": "p"}}


def test_the_guides_record_gives_its_score_under_the_requested_metric_name() -> None:
    scores = JobScores()
    scores.add_file("Builtin.Gigaword", lines(GUIDE_RECORD), ["Builtin.Accuracy"])
    assert scores.mean("Builtin.Gigaword", "Builtin.Accuracy") == 0.31920555233955383


def test_a_result_file_key_names_its_dataset_and_other_keys_are_not_results() -> None:
    assert evaluation_scores.dataset_of_result(KEY) == "Builtin.Gigaword"
    assert evaluation_scores.dataset_of_result("evaluations/my-job/amazon-bedrock-evaluations-permission-check") is None
    assert evaluation_scores.dataset_of_result("evaluations/my-job/x/custom_metrics/m.json") is None
    # EvaluationDatasetName is [0-9a-zA-Z-_.]+: a dataset may be named datasets.
    named_datasets = KEY.replace("/datasets/Builtin.Gigaword/", "/datasets/datasets/")
    assert evaluation_scores.dataset_of_result(named_datasets) == "datasets"
    assert evaluation_scores.dataset_of_result(KEY.replace("/datasets/Builtin.Gigaword/", "/datasets/")) is None
    # The user guide's page gives the files both names: <uuid>_output.jsonl, and metric_input-dataset.jsonl.
    named_by_metric = KEY.rsplit("/", 1)[0] + "/Accuracy_input-Gigaword.jsonl"
    assert evaluation_scores.dataset_of_result(named_by_metric) == "Builtin.Gigaword"


def test_not_applicable_results_are_left_out_of_the_mean() -> None:
    scores = JobScores()
    records = [judged("Builtin.Correctness", value) for value in (1.0, None, 0.5)]
    records.append({"automatedEvaluationResult": {"scores": [{"metricName": "Builtin.Correctness", "result": "NaN"}]}})
    scores.add_file("support", lines(*records), ["Builtin.Correctness"])
    entry = scores.by_dataset["support"]["Builtin.Correctness"]
    assert (entry.mean, entry.scored, entry.not_applicable) == (0.75, 2, 2)


def test_a_line_that_is_not_a_result_record_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="line 2 is not an evaluation result record"):
        JobScores().add_file("d", [json.dumps(GUIDE_RECORD).encode(), b'{"no": "scores"}'], ["Builtin.Accuracy"])


@given(
    results=st.lists(
        st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)), min_size=1, max_size=60
    ),
    blank_lines=st.integers(min_value=0, max_value=3),
)
@settings(max_examples=80, deadline=None)
def test_the_mean_is_the_mean_of_the_applicable_results(results, blank_lines) -> None:
    scores = JobScores()
    scores.add_file(
        "d",
        [*lines(*(judged("Builtin.Helpfulness", r) for r in results)), *[b""] * blank_lines],
        ["Builtin.Helpfulness"],
    )
    applicable = [r for r in results if r is not None]
    got = scores.mean("d", "Builtin.Helpfulness")
    if not applicable:
        assert got is None
    else:
        assert got == pytest.approx(math.fsum(applicable) / len(applicable), rel=1e-9, abs=1e-9)


def scores_of(**by_metric: float) -> JobScores:
    scores = JobScores()
    records = [
        {"automatedEvaluationResult": {"scores": [{"metricName": m, "result": v} for m, v in by_metric.items()]}}
    ]
    scores.add_file("d", lines(*records), [f"Builtin.{m}" for m in by_metric])
    return scores


def test_thresholds_and_baseline_margins_pass_and_fail_at_their_bounds() -> None:
    datasets = {"d": ["Builtin.Accuracy", "Builtin.Toxicity"]}
    candidate, baseline = scores_of(Accuracy=0.8, Toxicity=0.1), scores_of(Accuracy=0.75, Toxicity=0.2)
    requirements = [
        Requirement("Builtin.Accuracy", evaluation_scores.AT_LEAST, 0.8),  # equal: passes
        Requirement("Builtin.Accuracy", evaluation_scores.AT_LEAST, 0.81),
        Requirement("Builtin.Toxicity", evaluation_scores.AT_MOST, 0.1),
        Requirement("Builtin.Accuracy", evaluation_scores.AT_LEAST_BASELINE_PLUS, 0.04),  # 0.8 >= 0.79
        Requirement("Builtin.Accuracy", evaluation_scores.AT_LEAST_BASELINE_PLUS, 0.06),  # 0.8 < 0.81
        Requirement("Builtin.Toxicity", evaluation_scores.AT_MOST_BASELINE_MINUS, 0.05),  # 0.1 <= 0.15
    ]
    checks = evaluation_scores.checks(requirements, datasets, candidate, baseline)
    assert [check.passed for check in checks] == [True, False, True, True, False, True]
    assert checks[1].describe() == (
        "Builtin.Accuracy on d: 0.8000, required >= 0.8100 (Builtin.Accuracy at least 0.81): FAILED"
    )


# What the user guide says of each metric's direction, written out here rather than read from the code: the
# automatic metrics' report (model-evaluation-report-programmatic) and the judge prompts
# (model-evaluation-type-judge-prompt-*: a harmful or stereotyping response, or a refusal, scores 1).
GUIDE_LOWER_IS_BETTER = [
    "Builtin.Robustness",
    "Builtin.Toxicity",
    "Builtin.Harmfulness",
    "Builtin.Stereotyping",
    "Builtin.Refusal",
]
GUIDE_HIGHER_IS_BETTER = [
    "Builtin.Accuracy",
    "Builtin.Correctness",
    "Builtin.Completeness",
    "Builtin.Helpfulness",
    "Builtin.Faithfulness",
]


@pytest.mark.parametrize("metric", GUIDE_LOWER_IS_BETTER)
def test_a_model_worse_than_its_baseline_on_a_lower_is_better_metric_fails_by_default(metric) -> None:
    """A more harmful model than its baseline (1.0 against 0.0) must not pass 'better than the baseline'."""
    name = metric.removeprefix("Builtin.")
    requirement = evaluation_scores.baseline_margin(metric, 0.0)
    checks = evaluation_scores.checks(
        [requirement], {"d": [metric]}, scores_of(**{name: 1.0}), scores_of(**{name: 0.0})
    )
    assert requirement.comparison == evaluation_scores.AT_MOST_BASELINE_MINUS
    assert [check.passed for check in checks] == [False]


@pytest.mark.parametrize("metric", GUIDE_HIGHER_IS_BETTER)
def test_higher_is_better_for_the_other_metrics_by_default(metric) -> None:
    assert evaluation_scores.baseline_margin(metric, 0.0).comparison == evaluation_scores.AT_LEAST_BASELINE_PLUS


def test_a_requirement_on_a_metric_the_job_does_not_compute_or_without_a_baseline_score_fails() -> None:
    datasets = {"d": ["Builtin.Accuracy"]}
    requirements = [
        Requirement("Builtin.Toxicity", evaluation_scores.AT_MOST, 0.5),
        Requirement("Builtin.Accuracy", evaluation_scores.AT_LEAST_BASELINE_PLUS, 0.0),
    ]
    checks = evaluation_scores.checks(requirements, datasets, scores_of(Accuracy=0.9), None)
    assert [(check.passed, check.score, check.threshold) for check in checks] == [
        (False, None, None),
        (False, 0.9, None),
    ]
    assert "no baseline score" in checks[1].describe()


def test_a_requirement_without_a_dataset_applies_to_each_dataset_with_the_metric() -> None:
    scores = JobScores()
    scores.add_file(
        "a",
        lines({"automatedEvaluationResult": {"scores": [{"metricName": "Accuracy", "result": 0.9}]}}),
        ["Builtin.Accuracy"],
    )
    scores.add_file(
        "b",
        lines({"automatedEvaluationResult": {"scores": [{"metricName": "Accuracy", "result": 0.2}]}}),
        ["Builtin.Accuracy"],
    )
    requirement = Requirement("Builtin.Accuracy", evaluation_scores.AT_LEAST, 0.5)
    checks = evaluation_scores.checks(
        [requirement], {"a": ["Builtin.Accuracy"], "b": ["Builtin.Accuracy"]}, scores, None
    )
    assert [(check.dataset_name, check.passed) for check in checks] == [("a", True), ("b", False)]
    only_a = Requirement("Builtin.Accuracy", evaluation_scores.AT_LEAST, 0.5, dataset_name="a")
    assert [
        c.passed
        for c in evaluation_scores.checks(
            [only_a], {"a": ["Builtin.Accuracy"], "b": ["Builtin.Accuracy"]}, scores, None
        )
    ] == [True]


def test_scores_become_attributes_named_by_dataset_and_metric() -> None:
    assert evaluation_scores.score_attributes("Scores", scores_of(Accuracy=0.123456789)) == {
        "Scores.d.Builtin.Accuracy": "0.123457"
    }


@given(
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.text(max_size=30),
        st.from_regex(r"[+-]?[0-9]{1,400}(\.[0-9]{0,50})?(e[+-]?[0-9]{1,4})?", fullmatch=True),
    )
)
@settings(max_examples=200, deadline=None)
def test_a_threshold_is_accepted_exactly_when_it_is_a_finite_number_and_is_read_back_as_that_number(value) -> None:
    items = [{"metricName": "Builtin.Accuracy", "atLeast": value}]
    problems = contract.gate_requirement_problems(items)
    try:
        number = float(value) if not isinstance(value, str) or value.strip() else None
    except (ValueError, OverflowError):
        number = None
    finite = number is not None and math.isfinite(number) and not (isinstance(value, str) and "_" in value)
    if finite:
        assert problems == []
        (requirement,) = evaluation_scores.parse_requirements(items)
        assert requirement.value == number
    else:
        assert problems and all(problem.startswith("requirements[0]") for problem in problems), problems


@pytest.mark.parametrize(
    ("requirements", "problem"),
    [
        ("0.8", "requirements: expected a list"),
        ([{"atLeast": 1}], "requirements[0].metricName: required"),
        ([{"metricName": "Builtin.Accuracy"}], "requirements[0]: give exactly one of"),
        ([{"metricName": "Builtin.Accuracy", "atLeast": 1, "atMost": 2}], "requirements[0]: give exactly one of"),
        ([{"metricName": "has space", "atLeast": 1}], "requirements[0].metricName: 'has space' does not match"),
        (
            [{"metricName": "Builtin.Accuracy", "atLeast": 1, "dataset": "x"}],
            "requirements[0].dataset: unknown property",
        ),
        ([{"metricName": "Builtin.Accuracy", "atLeast": "NaN"}], "requirements[0].atLeast: expected a finite number"),
        (
            [{"metricName": "m", "atLeast": 0}] * (evaluation_scores.MAX_REQUIREMENTS + 1),
            "requirements: 501 requirements",
        ),
    ],
)
def test_invalid_requirements_are_refused_naming_the_property_and_value(requirements, problem) -> None:
    problems = contract.gate_requirement_problems(requirements)
    assert any(found.startswith(problem) for found in problems), problems


@pytest.mark.parametrize(
    ("baseline", "valid"),
    [
        ("", True),
        ("arn:aws:bedrock:us-east-1:123456789012:evaluation-job/abcdefghijkl", True),
        ("arn:aws:bedrock:us-east-1:123456789012:model-customization-job/abcdefghijkl", False),
        ("my-baseline-job", False),
    ],
)
def test_a_baseline_is_empty_or_an_evaluation_job_arn(baseline, valid) -> None:
    properties = {
        "jobIdentifier": "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/abcdefghijkl",
        "baselineJobIdentifier": baseline,
    }
    if valid:
        contract.create_request(contract.EVALUATION_GATE, properties)
    else:
        with pytest.raises(contract.InvalidProperties, match="baselineJobIdentifier: "):
            contract.create_request(contract.EVALUATION_GATE, properties)


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=63)


@given(
    datasets=st.dictionaries(NAMES, st.lists(NAMES, min_size=1, max_size=25, unique=True), min_size=1, max_size=5),
    with_baseline=st.booleans(),
)
@settings(max_examples=100, deadline=None)
def test_what_the_size_check_accepts_fits_the_response_with_the_longest_scores(datasets, with_baseline) -> None:
    """The estimate is checked against the response the handler sends: every score at its longest text."""
    if evaluation_scores.gate_data_problem(datasets, with_baseline) is not None:
        return
    longest = -1.23456e-300  # score_attributes formats with 6 significant digits: "-1.23456e-300"
    scores = JobScores()
    for name, metrics in datasets.items():
        record = {"automatedEvaluationResult": {"scores": [{"metricName": m, "result": longest} for m in metrics]}}
        scores.add_file(name, lines(record), metrics)
    arn = "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:evaluation-job/abcdefghijkl"
    data = {"jobArn": arn, "passed": "true", **evaluation_scores.score_attributes("Scores", scores)}
    if with_baseline:
        data |= {"baselineJobArn": arn, **evaluation_scores.score_attributes("BaselineScores", scores)}
    event = {
        "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{'s' * 128}/{'u' * 36}",
        "RequestId": "r" * 36,
        "LogicalResourceId": "L" * 255,
    }
    responses.checked_data(event, arn, data)  # raises ResponseTooLarge beyond CloudFormation's 4096 bytes


def test_a_requested_metric_with_no_applicable_result_fails_its_requirement() -> None:
    """A judge answers "not applicable" (a null result) for a prompt; a metric with none applicable, or requested but
    in no record, has no score: a requirement of it has no evidence, and fails."""
    scores = JobScores()
    null = {"automatedEvaluationResult": {"scores": [{"metricName": "Builtin.Correctness", "result": None}]}}
    scores.add_file("d", [json.dumps(null).encode()] * 3, ["Builtin.Correctness", "Builtin.Harmfulness"])
    requirements = [
        Requirement("Builtin.Correctness", evaluation_scores.AT_LEAST, 0.5),
        Requirement("Builtin.Harmfulness", evaluation_scores.AT_MOST, 0.5),
    ]
    requested = {"d": ["Builtin.Correctness", "Builtin.Harmfulness"]}
    checks = evaluation_scores.checks(requirements, requested, scores, None)
    assert [(check.score, check.passed) for check in checks] == [(None, False), (None, False)]


def test_a_bare_nan_or_infinity_result_is_not_applicable() -> None:
    """json.loads reads a bare NaN or Infinity as a float: no score. An Infinity must not lift a mean over any
    threshold, nor a NaN fail every comparison. The mean of the finite results 0.25 and 0.75: 0.5."""
    scores = JobScores()
    rows = [
        b'{"automatedEvaluationResult": {"scores": [{"metricName": "Builtin.Correctness", "result": %s}]}}' % value
        for value in (b"0.25", b"NaN", b"Infinity", b"0.75")
    ]
    scores.add_file("d", rows, ["Builtin.Correctness"])
    assert scores.mean("d", "Builtin.Correctness") == 0.5


def test_a_score_of_few_applicable_results_says_how_few() -> None:
    """A mean of one result among 1,000, 999 of them not applicable, passes on that one: the check says so, passed or
    failed; a check of results all applicable says nothing of them."""
    scores = JobScores()
    scores.add_file("d", lines(judged("Builtin.Correctness", 1.0), *[judged("Builtin.Correctness", None)] * 999), [])
    scores.add_file("d", lines(*[judged("Builtin.Helpfulness", 0.5)] * 4), [])
    requirements = [
        Requirement("Builtin.Correctness", evaluation_scores.AT_LEAST, 0.9),
        Requirement("Builtin.Helpfulness", evaluation_scores.AT_LEAST, 0.9),
    ]
    requested = {"d": ["Builtin.Correctness", "Builtin.Helpfulness"]}
    correctness, helpfulness = evaluation_scores.checks(requirements, requested, scores, None)
    assert correctness.passed
    assert correctness.describe().startswith("Builtin.Correctness on d: 1.0000 (from 1 of 1000 results), required")
    assert helpfulness.describe().startswith("Builtin.Helpfulness on d: 0.5000, required")


def test_a_result_folder_is_its_own_dataset_before_a_builtin_of_its_name() -> None:
    """BoolQ/ holds the results of a dataset named BoolQ when the job asks for one, even beside Builtin.BoolQ: never
    both mixed under the built-in; it holds Builtin.BoolQ's only when no dataset is named BoolQ."""
    assert evaluation_scores.requested_dataset("BoolQ", ["Builtin.BoolQ", "BoolQ"]) == "BoolQ"
    assert evaluation_scores.requested_dataset("BoolQ", ["Builtin.BoolQ"]) == "Builtin.BoolQ"
    assert evaluation_scores.requested_dataset("Builtin.BoolQ", ["Builtin.BoolQ"]) == "Builtin.BoolQ"
    assert evaluation_scores.requested_dataset("Gigaword", ["Builtin.BoolQ"]) == "Gigaword"
