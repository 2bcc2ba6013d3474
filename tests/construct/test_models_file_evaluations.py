"""Evaluations in the models file (the evaluations section, and after: on deployments and provisioned throughput):
checked like every other section, with file:line:column problems for each rule of its own, and built into
ModelEvaluation, whose gate the entries that are after it wait for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk.assertions import Annotations, Match, Template
from bedrock_custom_resource import contract
from cdk_bedrock_customization import (
    Completion,
    Customization,
    CustomModel,
    CustomModelDeployment,
    EvaluationDataset,
    ModelEvaluation,
    ModelsFromFile,
    ProvisionedThroughput,
    S3Data,
)
from cdk_bedrock_customization._entry_checks import EntryChecks
from cdk_bedrock_customization.models_file import ModelsFile, ModelsFileError
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs import Construct

from .conftest import ENV
from .test_models_file import construct_lines, problems, validate
from .test_models_file_properties import (
    PROPERTY_SETTINGS,
    SNIPPETS,
    Emitter,
    at,
    check,
    keys,
    long_strings,
    paths_of,
    replacements,
    strings,
    yaml_text,
)

# Of the stack's account (ENV): IAM passes a role only to a service of its own account.
ROLE = "arn:aws:iam::123456789012:role/bedrock-evaluations"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PROMPTS = [
    {"prompt": "How do I reset my password?", "referenceResponse": "Use the Forgot password link.", "category": "a"},
    {"prompt": "Where is my order?", "referenceResponse": "The Orders page lists it.", "category": "orders"},
]
# Line numbers matter: the tests below name them.
EVALUATIONS = """\
version: 1
models:
  support-assistant:
    base_model: amazon.nova-micro-v1:0:128k
    training_data: s3://my-bucket/train.jsonl
    output_data: s3://my-bucket/output/
provisioned_throughput:
  support-eval-pt:
    model: support-assistant
    model_units: 1
  support-prod:
    model: support-assistant
    model_units: 1
    after: support-eval
deployments:
  support-on-demand:
    model: support-assistant
    after: [support-eval]
evaluations:
  support-eval:
    model: support-eval-pt
    baseline_model: amazon.nova-micro-v1:0
    evaluator_model: us.amazon.nova-pro-v1:0
    datasets:
      - name: support
        task_type: Generation
        metric_names: [Builtin.Correctness, Builtin.Helpfulness]
        data: data/support-eval.jsonl
      - name: Builtin.BoolQ
        task_type: QuestionAndAnswer
        metric_names: [Builtin.Correctness]
    output_data: s3://my-bucket/evaluations/
    inference_params: '{"maxTokens": 512}'
    require:
      - {metric: Builtin.Correctness, at_least: 0.8}
      - {metric: Builtin.Helpfulness, better_than_baseline_by: 0.05, dataset: support}
"""
# A second evaluation, appended to EVALUATIONS (from line 37).
SECOND = """\
  second-eval:
    model: amazon.nova-lite-v1:0
    datasets: [{name: Builtin.BoolQ, task_type: QuestionAndAnswer, metric_names: [Builtin.Accuracy]}]
    output_data: s3://my-bucket/second/
    require: [{metric: Builtin.Accuracy, at_least: 0.5}]
"""


def write_dataset(directory: Path, records: list[Any] | None = None) -> Path:
    (directory / "data").mkdir(exist_ok=True)
    path = directory / "data" / "support-eval.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in (PROMPTS if records is None else records)))
    return path


def write(directory: Path, text: str) -> Path:
    """The models file, next to its local prompt dataset."""
    if not (directory / "data" / "support-eval.jsonl").exists():
        write_dataset(directory)
    path = directory / "models.yaml"
    path.write_text(text)
    return path


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Stack", env=ENV)


def of_type(stack: cdk.Stack, resource_type: str) -> dict[str, dict[str, Any]]:
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return {logical_id: r for logical_id, r in resources.items() if r["Type"] == resource_type}


def properties(resource: dict[str, Any]) -> dict[str, Any]:
    """The properties (ServiceToken aside, and the member that tells the handler the UpdateReplacePolicy of the
    job's removal policy, which validation does not make)."""
    return {
        name: value
        for name, value in resource["Properties"].items()
        if name not in ("ServiceToken", contract.REPLACE_POLICY)
    }


# --- a valid file, built ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.Stack, ModelsFromFile]:
    path = write(tmp_path_factory.mktemp("evaluations"), EVALUATIONS)
    stack = new_stack()
    return stack, ModelsFromFile(stack, "Models", path=path)


def test_the_file_is_valid(tmp_path: Path) -> None:
    assert problems(write(tmp_path, EVALUATIONS)) == []
    assert problems(write(tmp_path, EVALUATIONS + SECOND)) == []


def test_an_evaluation_is_two_jobs_and_a_gate_on_its_requirements(built: tuple[cdk.Stack, ModelsFromFile]) -> None:
    stack, models = built
    assert set(models.evaluations) == {"support-eval"}
    evaluation = models.evaluations["support-eval"]
    assert isinstance(evaluation, ModelEvaluation)
    jobs = of_type(stack, "Custom::BedrockModelEvaluationJob")
    job_id = stack.get_logical_id(evaluation.resource)
    assert evaluation.baseline is not None
    baseline_id = stack.get_logical_id(evaluation.baseline)
    assert set(jobs) == {job_id, baseline_id}
    (throughput_id,) = [
        logical_id
        for logical_id in of_type(stack, "Custom::BedrockProvisionedModelThroughput")
        if logical_id.startswith("Modelssupportevalpt")
    ]
    job = properties(jobs[job_id])
    (local, builtin) = job["evaluationConfig"]["automated"]["datasetMetricConfigs"]
    # The local dataset, shipped as a file asset.
    location = local["dataset"].pop("datasetLocation")["s3Uri"]
    assert location.startswith("s3://cdk-") and location.endswith(".jsonl")
    assert local == {
        "taskType": "Generation",
        "dataset": {"name": "support"},
        "metricNames": ["Builtin.Correctness", "Builtin.Helpfulness"],
    }
    assert builtin == {
        "taskType": "QuestionAndAnswer",
        "dataset": {"name": "Builtin.BoolQ"},
        "metricNames": ["Builtin.Correctness"],
    }
    assert job["evaluationConfig"]["automated"]["evaluatorModelConfig"] == {
        "bedrockEvaluatorModels": [{"modelIdentifier": "us.amazon.nova-pro-v1:0"}]
    }
    # The throughput of the file, by its key: its ARN.
    assert job["inferenceConfig"] == {
        "models": [
            {
                "bedrockModel": {
                    "modelIdentifier": {"Fn::GetAtt": [throughput_id, "provisionedModelArn"]},
                    "inferenceParams": '{"maxTokens": 512}',
                }
            }
        ]
    }
    assert job["outputDataConfig"] == {"s3Uri": "s3://my-bucket/evaluations/"}
    assert job["waitUntil"] == "Accepted"  # event-driven, the default
    baseline = properties(jobs[baseline_id])
    assert baseline["inferenceConfig"] == {
        "models": [
            {"bedrockModel": {"modelIdentifier": "amazon.nova-micro-v1:0", "inferenceParams": '{"maxTokens": 512}'}}
        ]
    }
    ((gate_id, gate),) = of_type(stack, "Custom::BedrockModelEvaluationGate").items()
    assert properties(gate) == {
        "jobIdentifier": {"Ref": job_id},
        "baselineJobIdentifier": {"Ref": baseline_id},
        "requirements": [
            {"metricName": "Builtin.Correctness", "atLeast": "0.8"},
            {"metricName": "Builtin.Helpfulness", "atLeastBaselinePlus": "0.05", "datasetName": "support"},
        ],
    }
    assert gate_id == stack.get_logical_id(evaluation.gate)


def test_what_is_after_an_evaluation_waits_for_its_gate(built: tuple[cdk.Stack, ModelsFromFile]) -> None:
    stack, models = built
    gate_id = stack.get_logical_id(models.evaluations["support-eval"].gate)
    throughput = of_type(stack, "Custom::BedrockProvisionedModelThroughput")
    deployment = of_type(stack, "Custom::BedrockCustomModelDeployment")
    prod = stack.get_logical_id(models.provisioned_throughput["support-prod"].resource)
    evaluated = stack.get_logical_id(models.provisioned_throughput["support-eval-pt"].resource)
    on_demand = stack.get_logical_id(models.deployments["support-on-demand"].resource)
    assert gate_id in throughput[prod]["DependsOn"]
    assert gate_id in deployment[on_demand]["DependsOn"]
    # The evaluated throughput is not after the evaluation: the evaluation waits for it.
    assert gate_id not in throughput[evaluated].get("DependsOn", [])


def test_a_file_synthesizes_the_same_template_as_the_equivalent_python(tmp_path: Path) -> None:
    path = write(tmp_path, EVALUATIONS)
    from_file = new_stack()
    ModelsFromFile(from_file, "Models", path=path)

    in_python = new_stack()
    scope = Construct(in_python, "Models")
    support = CustomModel(
        scope,
        "support-assistant",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_uri("s3://my-bucket/train.jsonl"),
        output_data=S3Data.from_uri("s3://my-bucket/output/"),
        customization=Customization.fine_tuning(),
        completion=Completion.event_driven(cdk.Duration.hours(12)),
    )
    on_demand = CustomModelDeployment(scope, "support-on-demand", model=support)
    evaluated = ProvisionedThroughput(scope, "support-eval-pt", model=support, model_units=1)
    prod = ProvisionedThroughput(scope, "support-prod", model=support, model_units=1)
    evaluation = ModelEvaluation(
        scope,
        "support-eval",
        model=evaluated,
        baseline_model="amazon.nova-micro-v1:0",
        evaluator_model="us.amazon.nova-pro-v1:0",
        datasets=[
            EvaluationDataset.from_local_file(
                "support",
                tmp_path / "data" / "support-eval.jsonl",
                task_type="Generation",
                metric_names=["Builtin.Correctness", "Builtin.Helpfulness"],
            ),
            EvaluationDataset.builtin(
                "Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Correctness"]
            ),
        ],
        output_data=S3Data.from_uri("s3://my-bucket/evaluations/"),
        inference_params='{"maxTokens": 512}',
        completion=Completion.event_driven(cdk.Duration.hours(12)),
    )
    evaluation.require("Builtin.Correctness", at_least=0.8)
    evaluation.require_better_than_baseline("Builtin.Helpfulness", by=0.05, dataset="support")
    evaluation.guard(prod)
    evaluation.guard(on_demand)
    assert Template.from_stack(from_file).to_json() == Template.from_stack(in_python).to_json()


FULL = {
    "model": "amazon.nova-lite-v1:0",
    "baseline_model": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0",
    "evaluator_model": "us.amazon.nova-pro-v1:0",
    "datasets": [
        {
            "name": "support",
            "task_type": "QuestionAndAnswer",
            "metric_names": ["Builtin.Correctness", "Builtin.Completeness"],
            "data": "s3://my-bucket/prompts/support.jsonl",
        },
        {"name": "Builtin.Gigaword", "task_type": "Summarization", "metric_names": ["Builtin.Helpfulness"]},
    ],
    "output_data": "s3://my-bucket/evaluations/",
    "inference_params": '{"temperature": 0}',
    "job_name": "support-eval-job",
    "job_description": "Support assistant, before production",
    "role": ROLE,
    "kms_key": KEY,
    "job_tags": {"team": "ml"},
    "completion": "polling",
    "require": [{"metric": "Builtin.Completeness", "at_least": 0.5, "at_most": 1, "dataset": "support"}],
}


def test_what_validation_checks_is_what_the_construct_sends(tmp_path: Path) -> None:
    """As tests/construct/test_entry_props.py checks the other sections: an entry with every field given and
    nothing the construct makes (a role, an asset, a throughput's ARN)."""
    path = tmp_path / "models.yaml"
    path.write_text(json.dumps({"version": 1, "evaluations": {"full": FULL}}, indent=2))
    assert problems(path) == []
    stack = new_stack()
    evaluation = ModelsFromFile(stack, "Models", path=path).evaluations["full"]
    jobs = of_type(stack, "Custom::BedrockModelEvaluationJob")
    assert evaluation.baseline is not None
    synthesized = properties(jobs[stack.get_logical_id(evaluation.resource)])
    baseline = properties(jobs[stack.get_logical_id(evaluation.baseline)])
    checks = EntryChecks(ModelsFile.load(path))
    checked = checks.request_properties("evaluations", "full", FULL)
    assert checked == synthesized
    assert checks.request_properties("evaluations", "full", FULL, baseline=True) == baseline
    contract.create_request(contract.MODEL_EVALUATION, checked)
    # Written out, as the file gave them (not computed by the code under test).
    assert synthesized["jobName"] == "support-eval-job"
    assert synthesized["jobDescription"] == "Support assistant, before production"
    assert synthesized["roleArn"] == ROLE
    assert synthesized["customerEncryptionKeyId"] == KEY
    assert synthesized["jobTags"] == [{"key": "team", "value": "ml"}]
    assert "waitUntil" not in synthesized  # polling: until the job completes
    assert "jobName" not in baseline  # generated: the baseline job's name is its own
    (gate,) = of_type(stack, "Custom::BedrockModelEvaluationGate").values()
    assert gate["Properties"]["requirements"] == [
        {"metricName": "Builtin.Completeness", "atLeast": "0.5", "datasetName": "support"},
        {"metricName": "Builtin.Completeness", "atMost": "1.0", "datasetName": "support"},
    ]


def test_a_lower_is_better_metric_is_compared_with_the_baseline_downwards(tmp_path: Path) -> None:
    text = EVALUATIONS.replace(
        "[Builtin.Correctness, Builtin.Helpfulness]", "[Builtin.Correctness, Builtin.Helpfulness, Builtin.Harmfulness]"
    ).replace(
        "      - {metric: Builtin.Correctness, at_least: 0.8}\n",
        "      - {metric: Builtin.Harmfulness, better_than_baseline_by: 0.1}\n",
    )
    text += "      - {metric: Builtin.Correctness, better_than_baseline_by: 0, lower_is_better: true}\n"
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=write(tmp_path, text))
    (gate,) = of_type(stack, "Custom::BedrockModelEvaluationGate").values()
    assert gate["Properties"]["requirements"] == [
        {"metricName": "Builtin.Harmfulness", "atMostBaselineMinus": "0.1"},
        {"metricName": "Builtin.Helpfulness", "atLeastBaselinePlus": "0.05", "datasetName": "support"},
        {"metricName": "Builtin.Correctness", "atMostBaselineMinus": "0.0"},
    ]


def test_an_open_weight_model_is_evaluated_by_its_key(tmp_path: Path) -> None:
    text = (
        "open_weight_models:\n"
        "  llama:\n"
        "    model_data: s3://weights-bucket/llama-3-8b/\n"
        "evaluations:\n"
        "  llama-eval:\n"
        "    model: llama\n"
        "    datasets: [{name: Builtin.BoolQ, task_type: QuestionAndAnswer, metric_names: [Builtin.Accuracy]}]\n"
        "    output_data: s3://my-bucket/llama/\n"
        "    completion: polling\n"
    )
    path = write(tmp_path, text)
    assert problems(path) == []
    stack = new_stack()
    models = ModelsFromFile(stack, "Models", path=path)
    (job,) = of_type(stack, "Custom::BedrockModelEvaluationJob").values()
    (result_id,) = [
        logical_id
        for logical_id in of_type(stack, "Custom::BedrockModelImportJobResult")
        if logical_id.startswith("Modelsllama")
    ]
    assert job["Properties"]["inferenceConfig"]["models"][0]["bedrockModel"] == {
        "modelIdentifier": {"Fn::GetAtt": [result_id, "importedModelArn"]}
    }
    assert "waitUntil" not in job["Properties"]
    assert models.evaluations["llama-eval"].baseline is None


def test_after_may_name_several_evaluations(tmp_path: Path) -> None:
    text = (EVALUATIONS + SECOND).replace("    after: [support-eval]\n", "    after: [support-eval, second-eval]\n")
    stack = new_stack()
    models = ModelsFromFile(stack, "Models", path=write(tmp_path, text))
    gates = {stack.get_logical_id(evaluation.gate) for evaluation in models.evaluations.values()}
    assert len(gates) == 2
    (deployment,) = of_type(stack, "Custom::BedrockCustomModelDeployment").values()
    assert gates <= set(deployment["DependsOn"])


@pytest.mark.parametrize(
    ("old", "field"),
    [
        ("baseline_model: amazon.nova-micro-v1:0", "baseline_model"),
        ("evaluator_model: us.amazon.nova-pro-v1:0", "evaluator_model"),
    ],
)
def test_a_model_arn_of_another_region_than_the_stacks_is_refused_at_its_field(
    tmp_path: Path, old: str, field: str
) -> None:
    """An evaluation job runs in its own Region with that Region's models: an ARN of another Region, which the file
    alone cannot refuse, is refused once the stack's Region is known."""
    elsewhere = "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0"
    path = write(tmp_path, EVALUATIONS.replace(old, f"{field}: {elsewhere}", 1))
    assert problems(path) == []
    with pytest.raises(ModelsFileError) as raised:
        ModelsFromFile(new_stack(), "Models", path=path)
    assert f": evaluations.support-eval.{field}: '{elsewhere}' is a model of us-west-2" in str(raised.value)


def test_a_stage_overrides_an_evaluations_requirements(tmp_path: Path) -> None:
    text = EVALUATIONS + (
        "stages:\n"
        "  prod:\n"
        "    evaluations:\n"
        "      support-eval:\n"
        "        require: [{metric: Builtin.Correctness, at_least: 0.9}]\n"
    )
    path = write(tmp_path, text)
    assert problems(path) == []
    stack = new_stack()
    ModelsFromFile(stack, "Models", path=path, stage="prod")
    (gate,) = of_type(stack, "Custom::BedrockModelEvaluationGate").values()
    assert gate["Properties"]["requirements"] == [{"metricName": "Builtin.Correctness", "atLeast": "0.9"}]


def test_scores_that_would_not_fit_the_gates_response_are_a_problem_of_the_datasets(tmp_path: Path) -> None:
    """The gate's scores must fit CloudFormation's 4096-byte response: five datasets of long names with every judge
    metric, for two jobs, do not. Validation checks it as ModelEvaluation does, at the datasets field."""
    metrics = ", ".join(contract.JUDGE_METRICS)
    datasets = ", ".join(
        f"{{name: {letter * 63}, task_type: General, metric_names: [{metrics}], data: s3://my-bucket/{letter}.jsonl}}"
        for letter in "abcde"
    )
    text = (
        "evaluations:\n"
        "  big:\n"
        "    model: amazon.nova-lite-v1:0\n"
        "    baseline_model: amazon.nova-micro-v1:0\n"
        "    evaluator_model: us.amazon.nova-pro-v1:0\n"
        f"    datasets: [{datasets}]\n"
        "    output_data: s3://my-bucket/big/\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(ModelsFileError) as raised:
        ModelsFromFile(new_stack(), "Models", path=path)
    (line,) = str(raised.value).splitlines()
    assert line.startswith(f"{path}:6:15: evaluations.big.datasets: the gate's scores")
    assert "over CloudFormation's 4096-byte custom resource response" in line


# --- problems, each at its file:line:column ------------------------------------------------------------------

CUSTOM_MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
THROUGH_A_THROUGHPUT = (
    "an evaluation job invokes a custom model only through a provisioned throughput: evaluate the key of a "
    "provisioned_throughput entry that serves it"
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    model: support-eval-pt\n",
            "    model: support-assistant\n",
            f"21:12: evaluations.support-eval.model: 'support-assistant' is a key of models: {THROUGH_A_THROUGHPUT}",
        ),
        (
            "    model: support-eval-pt\n",
            "    model: support-on-demand\n",
            "21:12: evaluations.support-eval.model: 'support-on-demand' is a key of deployments: "
            f"{THROUGH_A_THROUGHPUT}",
        ),
        (
            "    model: support-eval-pt\n",
            f"    model: {CUSTOM_MODEL_ARN}\n",
            f"21:12: evaluations.support-eval.model: a custom model's or deployment's ARN: {THROUGH_A_THROUGHPUT}",
        ),
        (
            "    model: support-eval-pt\n",
            "    model: support-evl-pt\n",
            "21:12: evaluations.support-eval.model: 'support-evl-pt' is no key of provisioned_throughput or "
            "open_weight_models",
        ),
        (  # an id: the service model's pattern, through the request
            "    model: support-eval-pt\n",
            "    model: amazon.Nova-Micro\n",
            "21:12: evaluations.support-eval.model: 'amazon.Nova-Micro' does not match the pattern of "
            "EvaluationBedrockModelIdentifier",
        ),
        (
            "    baseline_model: amazon.nova-micro-v1:0\n",
            "    baseline_model: amazon.Nova-Micro\n",
            "22:21: evaluations.support-eval.baseline_model: 'amazon.Nova-Micro' does not match the pattern of "
            "EvaluationBedrockModelIdentifier",
        ),
        (
            "    baseline_model: amazon.nova-micro-v1:0\n",
            "    baseline_model: support-assistant\n",
            "22:21: evaluations.support-eval.baseline_model: 'support-assistant' is a key of models: "
            f"{THROUGH_A_THROUGHPUT}",
        ),
        (
            "    evaluator_model: us.amazon.nova-pro-v1:0\n",
            "    evaluator_model: judge\n",
            "23:22: evaluations.support-eval.evaluator_model: 'judge' does not match the pattern of this field",
        ),
        (  # a metric no dataset computes
            "      - {metric: Builtin.Correctness, at_least: 0.8}\n",
            "      - {metric: Builtin.Toxicity, at_least: 0.8}\n",
            "35:18: evaluations.support-eval.require.0.metric: 'Builtin.Toxicity' is not computed by this "
            "evaluation; it computes ['Builtin.Correctness', 'Builtin.Helpfulness']",
        ),
        (  # a metric the named dataset does not compute
            "      - {metric: Builtin.Correctness, at_least: 0.8}\n",
            "      - {metric: Builtin.Helpfulness, at_least: 0.8, dataset: Builtin.BoolQ}\n",
            "35:18: evaluations.support-eval.require.0.metric: 'Builtin.Helpfulness' is not computed by this "
            "evaluation on Builtin.BoolQ; it computes ['Builtin.Correctness']",
        ),
        (
            "      - {metric: Builtin.Correctness, at_least: 0.8}\n",
            "      - {metric: Builtin.Correctness, at_least: 0.8, dataset: boolq}\n",
            "35:63: evaluations.support-eval.require.0.dataset: 'boolq' is not a dataset of this evaluation; its "
            "datasets are ['support', 'Builtin.BoolQ']",
        ),
        (
            "    baseline_model: amazon.nova-micro-v1:0\n",
            "",
            "35:64: evaluations.support-eval.require.1.better_than_baseline_by: needs the evaluation's "
            "baseline_model, the model whose scores this compares with",
        ),
        (
            "      - {metric: Builtin.Correctness, at_least: 0.8}\n",
            "      - {metric: Builtin.Correctness}\n",
            "35:9: evaluations.support-eval.require.0: give at_least, at_most or better_than_baseline_by",
        ),
        (
            "      - {metric: Builtin.Correctness, at_least: 0.8}\n",
            "      - {metric: Builtin.Correctness, at_least: 0.8, lower_is_better: true}\n",
            "35:71: evaluations.support-eval.require.0.lower_is_better: applies to better_than_baseline_by only, "
            "not given",
        ),
        (
            "      - {metric: Builtin.Correctness, at_least: 0.8}\n",
            "      - {metric: Builtin.Correctness, at_least: high}\n",
            "35:49: evaluations.support-eval.require.0.at_least: expected a number, got 'high'",
        ),
        (
            "      - {metric: Builtin.Correctness, at_least: 0.8}\n",
            "      - {metric: Builtin.Correctness, atleast: 0.8}\n",
            "35:39: evaluations.support-eval.require.0.atleast: unknown field; did you mean 'at_least'?",
        ),
        (
            "    after: support-eval\n",
            "    after: suport-eval\n",
            "14:12: provisioned_throughput.support-prod.after: 'suport-eval' is no key of evaluations",
        ),
        (
            "    after: [support-eval]\n",
            "    after: [support-eval, support-assistant]\n",
            "18:27: deployments.support-on-demand.after.1: 'support-assistant' is no key of evaluations",
        ),
        (
            "    after: [support-eval]\n",
            "    after: []\n",
            "18:12: deployments.support-on-demand.after: a list of 0 items; it must have at least 1",
        ),
        (
            "    after: support-eval\n",
            "    after: 3\n",
            "14:12: provisioned_throughput.support-prod.after: expected a string or a list, got 3",
        ),
        (  # the evaluation evaluates the throughput that waits for it
            "    model: support-eval-pt\n",
            "    model: support-prod\n",
            "14:12: provisioned_throughput.support-prod.after: reference cycle: support-prod -> support-eval -> "
            "support-prod: an evaluation cannot gate the throughput it evaluates",
        ),
        (
            "    baseline_model: amazon.nova-micro-v1:0\n",
            "    baseline_model: support-prod\n",
            "14:12: provisioned_throughput.support-prod.after: reference cycle: support-prod -> support-eval -> "
            "support-prod: an evaluation cannot gate the throughput it evaluates",
        ),
        (  # the construct refuses it too: nothing to compare, and the two jobs' waits would clash
            "    baseline_model: amazon.nova-micro-v1:0\n",
            "    baseline_model: support-eval-pt\n",
            "22:21: evaluations.support-eval.baseline_model: 'support-eval-pt' is the evaluated model itself; give "
            "another model to compare",
        ),
        (
            "    inference_params: '{\"maxTokens\": 512}'\n",
            "    inference_params: 'maxTokens=512'\n",
            "33:23: evaluations.support-eval.inference_params: 'maxTokens=512' is not a JSON object, the inference "
            "parameters Bedrock takes",
        ),
        (
            "      - {metric: Builtin.Correctness, at_least: 0.8}\n",
            "      - {metric: Builtin.Correctness, at_least: 0.8, at_most: 0.5}\n",
            "35:9: evaluations.support-eval.require.0: at_least 0.8 is above at_most 0.5: no score passes",
        ),
        (
            "    inference_params: '{\"maxTokens\": 512}'\n",
            "    completion: no_wait\n",
            "33:17: evaluations.support-eval.completion: no_wait cannot gate on the scores, which exist only once "
            "the job has completed; use event_driven (up to 12 hours) or polling (up to 1 hour)",
        ),
        (
            "    inference_params: '{\"maxTokens\": 512}'\n",
            "    completion_timeout_hours: 13\n",
            "33:31: evaluations.support-eval.completion_timeout_hours: 13 must be at most 12",
        ),
        (
            "        data: data/support-eval.jsonl\n",
            "        data: data/missing.jsonl\n",
            "28:15: evaluations.support-eval.datasets.0.data: 'data/missing.jsonl' is neither an s3:// URI nor a file",
        ),
        (  # an S3 URI: the service model's pattern, through the request, at the dataset's field
            "        data: data/support-eval.jsonl\n",
            "        data: s3://My-Bucket/p.jsonl\n",
            "28:15: evaluations.support-eval.datasets.0.data: 's3://My-Bucket/p.jsonl' does not match the pattern "
            "of S3Uri: its bucket name is not valid (3 to 63 lowercase letters, digits, '.' and '-', beginning and "
            "ending with a letter or digit)",
        ),
        (
            "      - name: Builtin.BoolQ\n",
            "      - name: boolq\n",
            "29:15: evaluations.support-eval.datasets.1.name: 'boolq' is no built-in dataset (Builtin.BoolQ, "
            "Builtin.Gigaword...): give data, a local .jsonl or an s3:// URI, for a dataset of your own",
        ),
        (
            "      - name: Builtin.BoolQ\n",
            "      - name: support\n        data: s3://my-bucket/p.jsonl\n",
            "29:15: evaluations.support-eval.datasets.1.name: 'support' is also the name of datasets.0: the gate "
            "reads scores by dataset",
        ),
        (
            "        task_type: Generation\n",
            "        task_type: Chat\n",
            "26:20: evaluations.support-eval.datasets.0.task_type: 'Chat' is not one of ['Summarization', "
            "'Classification', 'QuestionAndAnswer', 'Generation', 'Custom', 'General']",
        ),
        (
            "        metric_names: [Builtin.Correctness, Builtin.Helpfulness]\n",
            "        metric_names: [Builtin.Correctness, Builtin Helpfulness]\n",
            "27:45: evaluations.support-eval.datasets.0.metric_names.1: 'Builtin Helpfulness' does not match "
            "^(?:[0-9a-zA-Z-_.]+)$",
        ),
        (
            "        metric_names: [Builtin.Correctness, Builtin.Helpfulness]\n",
            "        metric_names: []\n",
            "27:23: evaluations.support-eval.datasets.0.metric_names: a list of 0 items; it must have at least 1",
        ),
        (
            "        data: data/support-eval.jsonl\n",
            "        data: data/support-eval.jsonl\n        location: s3://my-bucket/p.jsonl\n",
            "29:9: evaluations.support-eval.datasets.0.location: unknown field; expected one of data, metric_names, "
            "name, task_type",
        ),
        (
            "    output_data: s3://my-bucket/evaluations/\n",
            "    output_data: my-bucket/evaluations/\n",
            "32:18: evaluations.support-eval.output_data: 'my-bucket/evaluations/' does not match the pattern of "
            "this field: an S3 URI starts with s3://",
        ),
        (
            "    inference_params: '{\"maxTokens\": 512}'\n",
            "    job_name: Support-Eval\n",
            "33:15: evaluations.support-eval.job_name: 'Support-Eval' does not match ^(?:[a-z0-9](-*[a-z0-9]){0,62})$",
        ),
        (
            "    inference_params: '{\"maxTokens\": 512}'\n",
            "    datasetz: []\n",
            "33:5: evaluations.support-eval.datasetz: unknown field; did you mean 'datasets'?",
        ),
    ],
)
def test_a_problem_is_one_line_at_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
) -> None:
    assert old in EVALUATIONS
    path = write(tmp_path, EVALUATIONS.replace(old, new, 1))
    assert validate(capsys, path) == (1, [expected])
    assert construct_lines(path) == [expected]


def test_what_is_after_an_evaluation_of_no_requirement_is_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its gate would pass whatever the scores; an evaluation nothing is after needs none (second-eval)."""
    requirements = EVALUATIONS[EVALUATIONS.index("    require:\n") :]
    path = write(tmp_path, EVALUATIONS.replace(requirements, "") + SECOND)
    expected = [
        "18:13: deployments.support-on-demand.after.0: 'support-eval' has no require items: its gate would pass "
        "whatever the scores",
        "14:12: provisioned_throughput.support-prod.after: 'support-eval' has no require items: its gate would pass "
        "whatever the scores",
    ]
    assert validate(capsys, path) == (1, expected)
    assert construct_lines(path) == expected


def test_a_role_given_by_arn_with_a_local_prompt_dataset_is_warned_of(tmp_path: Path) -> None:
    """A role named by ARN is used as it is, so it is not granted the prompts' file asset, whose key it cannot know."""
    text = EVALUATIONS.replace("    inference_params:", f"    role: {ROLE}\n    inference_params:", 1)
    stack = cdk.Stack(cdk.App(), "Stack", env=ENV)
    ModelsFromFile(stack, "Models", path=write(tmp_path, text))
    (warning,) = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("is used as it is"))
    assert warning.id == "/Stack/Models/support-eval"
    assert warning.entry.data.startswith(
        f"evaluations.support-eval.role: {ROLE} is used as it is, so it is not granted read on the local datasets "
        "shipped as file assets (data/support-eval.jsonl)"
    )


def test_datasets_are_one_to_five(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = "{name: Builtin.BoolQ, task_type: QuestionAndAnswer, metric_names: [Builtin.Accuracy]}"
    path = write(tmp_path, EVALUATIONS + SECOND.replace(f"[{dataset}]", "[]"))
    assert validate(capsys, path) == (
        1,
        ["39:15: evaluations.second-eval.datasets: a list of 0 items; it must have at least 1"],
    )
    six = SECOND.replace(f"[{dataset}]", "[" + ", ".join([dataset] * 6) + "]")
    path = write(tmp_path, EVALUATIONS + six)
    assert validate(capsys, path) == (
        1,
        ["39:15: evaluations.second-eval.datasets: a list of 6 items; it must have at most 5"],
    )


def test_an_evaluation_needs_its_model_datasets_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, EVALUATIONS + "  empty-eval: {}\n")
    assert validate(capsys, path) == (
        1,
        [
            "37:15: evaluations.empty-eval: 'model' is a required property",
            "37:15: evaluations.empty-eval: 'datasets' is a required property",
            "37:15: evaluations.empty-eval: 'output_data' is a required property",
        ],
    )


def test_a_local_dataset_is_checked_and_its_problem_is_at_the_line_of_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dataset(tmp_path, [PROMPTS[0], {"referenceResponse": "no prompt"}])
    path = write(tmp_path, EVALUATIONS)
    code, lines = validate(capsys, path)
    (line,) = lines
    # The dataset as the models file names it, and the line of the dataset (validate_prompt_dataset's message).
    assert code == 1 and line.startswith("28:15: evaluations.support-eval.datasets.0.data: data/support-eval.jsonl:2: ")
    assert "prompt" in line
    assert construct_lines(path) == lines


def test_each_bad_prompt_of_a_local_dataset_is_a_problem_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dataset(tmp_path, [PROMPTS[0], {"referenceResponse": "a"}, PROMPTS[1], {"prompt": ""}, {"prompt": 3}])
    path = write(tmp_path, EVALUATIONS)
    code, lines = validate(capsys, path)
    starts = [f"28:15: evaluations.support-eval.datasets.0.data: data/support-eval.jsonl:{n}: " for n in (2, 4, 5)]
    assert code == 1 and len(lines) == len(starts)
    assert all(line.startswith(start) for line, start in zip(lines, starts, strict=True))
    assert construct_lines(path) == lines


def test_a_question_and_answer_dataset_needs_reference_responses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dataset(tmp_path, [{"prompt": "What is the capital of France?"}])
    path = write(tmp_path, EVALUATIONS.replace("task_type: Generation", "task_type: QuestionAndAnswer"))
    (line,) = validate(capsys, path)[1]
    assert line.startswith(
        "28:15: evaluations.support-eval.datasets.0.data: data/support-eval.jsonl:1: referenceResponse: required"
    )


def test_an_evaluations_key_is_unique_across_sections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, EVALUATIONS + SECOND.replace("  second-eval:", "  support-prod:"))
    assert validate(capsys, path) == (
        1,
        [
            "37:3: evaluations.support-prod: 'support-prod' is also a key of provisioned_throughput: keys are "
            "unique across sections"
        ],
    )


def test_evaluation_job_names_are_unique_among_evaluations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    named = (EVALUATIONS + SECOND).replace(
        "    output_data: s3://my-bucket/evaluations/\n",
        "    output_data: s3://my-bucket/evaluations/\n    job_name: support-eval-job\n",
    )
    path = write(tmp_path, named + "    job_name: support-eval-job\n")
    assert validate(capsys, path) == (
        1,
        [
            "43:15: evaluations.second-eval.job_name: 'support-eval-job' is also the name of "
            "evaluations.support-eval.job_name: Bedrock names are unique"
        ],
    )
    # A customization job of the same name is no clash: evaluation jobs are named apart.
    customized = named.replace(
        "    output_data: s3://my-bucket/output/\n",
        "    output_data: s3://my-bucket/output/\n    job_name: support-eval-job\n",
    )
    assert validate(capsys, write(tmp_path, customized))[0] == 0


def test_a_longer_cycle_is_one_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """support-eval-pt waits for second-eval, which evaluates support-prod, which waits for support-eval, which
    evaluates support-eval-pt: reported once, at the first throughput of the cycle."""
    text = (EVALUATIONS + SECOND.replace("model: amazon.nova-lite-v1:0", "model: support-prod")).replace(
        "    model: support-assistant\n    model_units: 1\n  support-prod:",
        "    model: support-assistant\n    model_units: 1\n    after: second-eval\n  support-prod:",
    )
    path = write(tmp_path, text)
    assert validate(capsys, path) == (
        1,
        [
            "11:12: provisioned_throughput.support-eval-pt.after: reference cycle: support-eval-pt -> second-eval "
            "-> support-prod -> support-eval -> support-eval-pt: an evaluation cannot gate the throughput it "
            "evaluates"
        ],
    )


def test_an_open_weight_model_that_is_not_waited_for_cannot_be_evaluated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EVALUATIONS.replace(
        "evaluations:\n",
        "open_weight_models:\n  llama:\n    model_data: s3://weights-bucket/l/\n"
        "    completion: no_wait\nevaluations:\n",
    ).replace("    model: support-eval-pt\n", "    model: llama\n")
    path = write(tmp_path, text)
    assert validate(capsys, path) == (
        1,
        [
            "25:12: evaluations.support-eval.model: 'llama' is a model of open_weight_models whose completion is "
            "no_wait: the stack does not wait for its import, so has no model to evaluate; use event_driven or "
            "polling"
        ],
    )


def test_a_stage_that_adds_an_evaluation_needs_its_required_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EVALUATIONS + "stages:\n  prod:\n    evaluations:\n      prod-eval: {model: amazon.nova-lite-v1:0}\n"
    path = write(tmp_path, text)
    assert validate(capsys, path) == (
        1,
        [
            "40:7: stages.prod.evaluations.prod-eval: evaluations has no entry 'prod-eval' to override; an entry "
            "that a stage adds needs datasets and output_data"
        ],
    )


def test_a_rule_only_a_stage_breaks_is_reported_with_the_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EVALUATIONS + (
        "stages:\n"
        "  prod:\n"
        "    evaluations:\n"
        "      support-eval:\n"
        "        require: [{metric: Builtin.Accuracy, at_least: 0.9}]\n"
    )
    path = write(tmp_path, text)
    assert validate(capsys, path) == (
        1,
        [
            "41:28: evaluations.support-eval.require.0.metric: 'Builtin.Accuracy' is not computed by this "
            "evaluation; it computes ['Builtin.Correctness', 'Builtin.Helpfulness'] (stage prod)"
        ],
    )
    assert construct_lines(path, "prod") == validate(capsys, path)[1]


def test_requirements_beyond_the_gates_bound_are_one_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gate takes at most 5 datasets x 25 metrics x 4 comparisons, 500 requirements."""
    items = "".join("      - {metric: Builtin.Correctness, at_least: 0.5, at_most: 1}\n" for _ in range(251))
    path = write(tmp_path, EVALUATIONS + items)
    assert validate(capsys, path) == (1, ["35:7: evaluations.support-eval.require: 504 requirements; at most 500"])


# --- whatever the section holds: accepted, or reported in lines ------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("evaluations-properties")
    write_dataset(directory)
    return directory


EVALUATION_SNIPPETS = [
    "after: support-eval",
    "after: [support-eval, nowhere]",
    "after: support-prod",
    "model: support-prod",
    "model: support-assistant",
    "baseline_model: support-eval-pt",
    "completion: no_wait",
    "data: data/support-eval.jsonl",
    "data: data/missing.jsonl",
    "data: s3://my-bucket/p.jsonl",
    "- {metric: Builtin.Toxicity, better_than_baseline_by: 0.1}",
    "- {metric: Builtin.Correctness, lower_is_better: true}",
    "- {metric: Builtin.Correctness, dataset: nowhere, at_most: 2}",
    "- {name: Builtin.BoolQ, task_type: QuestionAndAnswer, metric_names: [Builtin.Accuracy]}",
    "require: []",
    "datasets: []",
    "metric_names: [Builtin.Correctness]",
]


@st.composite
def text_mutations(draw: st.DrawFn) -> str:
    lines = EVALUATIONS.splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at_line = draw(st.integers(min_value=0, max_value=max(len(lines) - 1, 0)))
        operation = draw(st.sampled_from(["delete", "duplicate", "insert", "insert", "replace"]))
        if operation == "delete" and lines:
            del lines[at_line]
        elif operation == "duplicate" and lines:
            lines.insert(at_line, lines[at_line])
        elif operation == "insert":
            indent = " " * draw(st.sampled_from([0, 2, 4, 6, 8]))
            snippet = draw(st.sampled_from(EVALUATION_SNIPPETS + SNIPPETS[:30]))
            lines[at_line:at_line] = [indent + line for line in snippet.split("\n")]
        elif operation == "replace" and lines:
            line = lines[at_line]
            start = draw(st.integers(min_value=0, max_value=len(line)))
            end = draw(st.integers(min_value=start, max_value=len(line)))
            lines[at_line] = line[:start] + draw(yaml_text) + line[end:]
    return "\n".join(lines) + "\n"


@PROPERTY_SETTINGS
@given(text=text_mutations())
def test_any_text_mutation_of_the_evaluations_is_accepted_or_reported_in_lines(workspace: Path, text: str) -> None:
    check(workspace, text)


FIELD_NAMES = [
    "model",
    "baseline_model",
    "evaluator_model",
    "datasets",
    "name",
    "task_type",
    "metric_names",
    "data",
    "output_data",
    "inference_params",
    "job_name",
    "job_description",
    "role",
    "kms_key",
    "job_tags",
    "completion",
    "completion_timeout_hours",
    "require",
    "metric",
    "at_least",
    "at_most",
    "better_than_baseline_by",
    "lower_is_better",
    "dataset",
    "after",
    "evaluations",
    "stages",
]
# Values that mean something in this file: keys of its sections, metric and dataset names, completions.
MEANINGFUL = [
    "support-eval",
    "support-eval-pt",
    "support-prod",
    "support-assistant",
    "support-on-demand",
    "support",
    "Builtin.Correctness",
    "Builtin.Helpfulness",
    "Builtin.Toxicity",
    "Builtin.BoolQ",
    "QuestionAndAnswer",
    "no_wait",
    "polling",
    "data/support-eval.jsonl",
    "s3://bucket-name/x/",
    "amazon.nova-micro-v1:0",
    CUSTOM_MODEL_ARN,
    0.8,
    -1,
    True,
]
evaluation_keys = st.one_of(st.sampled_from(FIELD_NAMES), keys)
evaluation_values = st.one_of(st.sampled_from(MEANINGFUL), st.sampled_from(MEANINGFUL), replacements)


def base_data() -> dict[str, Any]:
    """The file as data (read by PyYAML, not by the code under test)."""
    data: dict[str, Any] = yaml.safe_load(EVALUATIONS)
    return data


@st.composite
def data_mutations(draw: st.DrawFn) -> Any:
    data: Any = base_data()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths_of(data)))
        operation = draw(st.sampled_from(["drop", "replace", "replace", "insert", "insert", "edit", "edit"]))
        target = at(data, path)
        if not path:
            if isinstance(data, dict):
                data[draw(evaluation_keys)] = draw(evaluation_values)
            continue
        parent = at(data, path[:-1])
        if operation == "drop":
            del parent[path[-1]]
        elif operation == "edit" and isinstance(target, str):
            start = draw(st.integers(min_value=0, max_value=len(target)))
            parent[path[-1]] = target[:start] + draw(st.one_of(strings, long_strings)) + target[start:]
        elif operation == "replace":
            parent[path[-1]] = draw(evaluation_values)
        elif isinstance(target, dict):
            target[draw(evaluation_keys)] = draw(evaluation_values)
        elif isinstance(target, list):
            target.insert(draw(st.integers(min_value=0, max_value=len(target))), draw(evaluation_values))
        else:
            parent[path[-1]] = draw(evaluation_values)
    return data


@PROPERTY_SETTINGS
@given(data=data_mutations())
def test_any_data_mutation_of_the_evaluations_is_accepted_or_reported_in_lines(workspace: Path, data: Any) -> None:
    check(workspace, Emitter().document(data))


def test_the_emitter_writes_the_evaluations_back_as_an_equivalent_file(workspace: Path) -> None:
    assert check(workspace, Emitter().document(base_data())) == (0, [f"{workspace / 'models.yaml'}: OK"])


# Values that keep an entry valid, or break one rule: so that many mutations are valid, and those must build.
VALID_CHOICES: dict[tuple[Any, ...], list[Any]] = {
    ("evaluations", "support-eval", "model"): ["support-eval-pt", "amazon.nova-lite-v1:0", "support-prod"],
    ("evaluations", "support-eval", "baseline_model"): ["amazon.nova-micro-v1:0", "support-eval-pt", None],
    ("evaluations", "support-eval", "evaluator_model"): ["us.amazon.nova-pro-v1:0", None],
    ("evaluations", "support-eval", "completion"): ["event_driven", "polling", "no_wait", None],
    ("evaluations", "support-eval", "require"): [
        [{"metric": "Builtin.Correctness", "at_most": 0.9, "dataset": "Builtin.BoolQ"}],
        [{"metric": "Builtin.Helpfulness", "better_than_baseline_by": 0, "lower_is_better": False}],
        [{"metric": "Builtin.Correctness", "at_least": 0.1, "better_than_baseline_by": -0.1}],
        [],
        None,
    ],
    ("evaluations", "support-eval", "datasets", 0, "data"): [
        "data/support-eval.jsonl",
        "s3://my-bucket/p.jsonl",
        None,
    ],
    ("evaluations", "support-eval", "datasets", 1, "task_type"): ["QuestionAndAnswer", "Summarization"],
    ("provisioned_throughput", "support-prod", "after"): ["support-eval", ["support-eval"], None, "nowhere"],
    ("provisioned_throughput", "support-eval-pt", "after"): ["support-eval", None],
    ("deployments", "support-on-demand", "after"): ["support-eval", None],
}


@settings(PROPERTY_SETTINGS, max_examples=8)
@given(choices=st.fixed_dictionaries({path: st.sampled_from(values) for path, values in VALID_CHOICES.items()}))
def test_a_file_that_validates_builds(workspace: Path, choices: dict[tuple[Any, ...], Any]) -> None:
    """Validation and the constructs agree: what `validate` accepts, ModelsFromFile builds and synthesizes (no
    dependency cycle), with each after."""
    data = base_data()
    for path, value in choices.items():
        parent = at(data, path[:-1])
        if value is None:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = value
    code, _ = check(workspace, Emitter().document(data))
    if code != 0:
        return
    stack = new_stack()
    models = ModelsFromFile(stack, "Models", path=workspace / "models.yaml")
    Template.from_stack(stack)  # synthesizes: no dependency cycle, no error the construct defers to synth
    for section, built in (
        ("deployments", models.deployments),
        ("provisioned_throughput", models.provisioned_throughput),
    ):
        for key, construct in built.items():
            after = data[section][key].get("after")
            expected = {after} if isinstance(after, str) else set(after or [])
            gates = {models.evaluations[name].gate.node.path for name in expected}
            assert gates <= {dependency.node.path for dependency in construct.node.dependencies}
