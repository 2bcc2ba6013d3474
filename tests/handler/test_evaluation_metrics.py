"""An evaluation job's metrics are those of its kind: an automatic job's, or a model-as-judge job's (one with an
evaluator model), as botocore's service model documents CreateEvaluationJob's metricNames. The contract refuses
the others before anything is made: at synth, in the models file, and in the handler."""

from __future__ import annotations

import copy
import re
from typing import Any

import botocore.session
import pytest
from bedrock_custom_resource import contract

from .test_contract_robustness import problems_of
from .test_model_evaluation import job_properties

JUDGE = {"bedrockEvaluatorModels": [{"modelIdentifier": "us.amazon.nova-pro-v1:0"}]}


def documented_metrics() -> tuple[set[str], set[str]]:
    """The automatic and the model-as-judge metric names, read from botocore's documentation of metricNames."""
    shape = botocore.session.get_session().get_service_model("bedrock").shape_for("EvaluationDatasetMetricConfig")
    documentation = shape.members["metricNames"].documentation
    (paragraph,) = [p for p in documentation.split("</p>") if "For automated model evaluation jobs" in p]
    automatic, judge = paragraph.split("that use a LLM as judge", 1)
    return set(re.findall(r"Builtin\.\w+", automatic)), set(re.findall(r"Builtin\.\w+", judge))


def test_the_contracts_metrics_are_those_the_service_model_documents():
    automatic, judge = documented_metrics()
    assert set(contract.AUTOMATIC_METRICS) == automatic
    assert set(contract.JUDGE_METRICS) == judge


def with_metrics(names: list[str], judged: bool) -> dict[str, Any]:
    properties = copy.deepcopy(job_properties())
    automated = properties["evaluationConfig"]["automated"]
    automated["datasetMetricConfigs"][0]["metricNames"] = names
    if judged:
        automated["evaluatorModelConfig"] = JUDGE
    return properties


@pytest.mark.parametrize(
    ("names", "judged", "refused"),
    [
        (["Builtin.Accuracy", "Builtin.Toxicity"], False, []),
        (["Builtin.Correctness", "Builtin.Refusal"], True, []),
        (["Builtin.Accuracy", "Builtin.Correctness"], False, ["Builtin.Correctness"]),  # a judge's, with no judge
        (["Builtin.Helpfulness", "Builtin.Robustness"], True, ["Builtin.Robustness"]),  # an automatic one, judged
        (["Builtin.Acuracy"], False, ["Builtin.Acuracy"]),  # a typo
    ],
)
def test_a_metric_of_the_other_kind_of_job_or_of_none_is_refused_naming_it(names, judged, refused):
    problems = problems_of(contract.MODEL_EVALUATION, with_metrics(names, judged))
    metric_problems = [p for p in problems if ".metricNames[" in p]
    assert len(metric_problems) == len(refused)
    for problem, name in zip(metric_problems, refused, strict=True):
        position = names.index(name)
        kind = "a model-as-judge job (with" if judged else "an automatic job (without"
        assert problem.startswith(
            f"evaluationConfig.automated.datasetMetricConfigs[0].metricNames[{position}]: {name!r} is not a metric "
            f"of {kind} an evaluator model); use one of "
        )


def test_a_custom_metric_and_a_knowledge_base_evaluations_metrics_are_left_to_bedrock():
    """A plain template may give what the library's constructs do not make: custom judge metrics (customMetricConfig,
    named as the template names them) and a knowledge base evaluation (ragConfigs), whose metrics are others."""
    custom = with_metrics(["Builtin.Correctness", "BrandVoice"], judged=True)
    custom["evaluationConfig"]["automated"]["customMetricConfig"] = {
        "customMetrics": [{"customMetricDefinition": {"name": "BrandVoice", "instructions": "Rate {{prediction}}."}}],
        "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": "us.amazon.nova-pro-v1:0"}]},
    }
    assert [p for p in problems_of(contract.MODEL_EVALUATION, custom) if ".metricNames[" in p] == []
    assert [
        p
        for p in problems_of(contract.MODEL_EVALUATION, with_metrics(["BrandVoice"], judged=True))
        if ".metricNames[" in p
    ]
    rag = with_metrics(["Builtin.ContextRelevance"], judged=True)
    rag["inferenceConfig"] = {"ragConfigs": []}
    assert [p for p in problems_of(contract.MODEL_EVALUATION, rag) if ".metricNames[" in p] == []
