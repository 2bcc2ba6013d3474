"""ModelEvaluation: a model evaluation job (CreateEvaluationJob), awaited, and a gate on its scores."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from bedrock_custom_resource import contract, evaluation_scores
from bedrock_custom_resource.evaluation_scores import Requirement

from constructs import Construct, IConstruct, IValidation

from . import _requests
from ._nag import acknowledge, wildcard_resources
from ._prop_types import check_prop_types
from ._regions import refuse_another_region
from ._resource import (
    EVALUATION_KEY_ACTIONS,
    Grants,
    OwnRole,
    Producer,
    ServiceRoleUser,
    TaggedResource,
    attribute_string,
    checked_kms_key,
    checked_with_tags,
    grant_key,
    refusal_leaves_nothing,
    with_stack_tags,
)
from ._tokens import is_unresolved
from .completion import DEFAULT_COMPLETION, Completion, await_job, keyed_for_waiting
from .datasets import validate_prompt_dataset
from .inputs import S3Data, allow_invoking, model_resource
from .invocable import INVOKE_ACTIONS
from .provider import CustomizationProvider

RESOURCE_TYPE = contract.MODEL_EVALUATION
GATE_TYPE = contract.EVALUATION_GATE
# What Bedrock assumes the service role for (automatic-service-roles.html: its aws:SourceArn).
JOB_KIND = "evaluation-job"
# What the service role does besides invoking the models: the user guide's evaluation roles ("Service role
# requirements for automatic model evaluation jobs", and for judge jobs) give "the exact IAM actions that are
# required". Bedrock runs the prompts as batch inference jobs (model-invocation-job, and on the foundation models
# invoked, the resource types the Service Authorization Reference gives), and reads each model it invokes.
INVOCATION_JOB_ACTIONS = ("bedrock:CreateModelInvocationJob", "bedrock:StopModelInvocationJob")
READ_ACTIONS = {
    "provisioned-model": "bedrock:GetProvisionedModelThroughput",
    "imported-model": "bedrock:GetImportedModel",
    "inference-profile": "bedrock:GetInferenceProfile",
    "application-inference-profile": "bedrock:GetInferenceProfile",
}
# And with the output prefix, besides reading and writing objects (the same page).
OUTPUT_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucketMultipartUploads")
OUTPUT_OBJECT_ACTIONS = ("s3:AbortMultipartUpload",)


@dataclass(frozen=True)
class EvaluationDataset:
    """A prompt dataset of an evaluation, with its task type and the metrics computed on it. Create one with a static
    method."""

    name: str
    task_type: str
    metric_names: tuple[str, ...]
    data: S3Data | None = None  # None: a built-in dataset
    local_file: str | None = None

    @staticmethod
    def builtin(name: str, *, task_type: str, metric_names: Sequence[str]) -> EvaluationDataset:
        """A built-in dataset (``Builtin.BoolQ``, ``Builtin.Gigaword``...; the API reference's EvaluationDataset lists
        them), with its task type (``QuestionAndAnswer``, ``Summarization``, ``Classification``, ``Generation``).

        :param name: the built-in dataset's name (``Builtin.BoolQ``), unique within an evaluation: ``require`` and
            ``score`` name it
        :param task_type: ``Summarization``, ``Classification``, ``QuestionAndAnswer``, ``Generation`` or ``Custom``
            (the API's EvaluationTaskType)
        :param metric_names: 1 to 25 metrics computed on it (``Builtin.Accuracy``, ``Builtin.Robustness``...; the
            API's EvaluationMetricNames)
        """
        return EvaluationDataset(name, task_type, tuple(metric_names))

    @staticmethod
    def from_s3(name: str, data: S3Data, *, task_type: str, metric_names: Sequence[str]) -> EvaluationDataset:
        """A custom prompt dataset in S3 (a ``.jsonl`` object of ``prompt``, ``referenceResponse`` and ``category``
        records, at most 1000).

        :param name: the dataset's name: 1 to 63 letters, digits, ``-``, ``_`` and ``.`` (the API's
            EvaluationDatasetName), unique within an evaluation: ``require`` and ``score`` name it
        :param data: the ``.jsonl`` object (``S3Data.from_bucket`` or ``from_uri``)
        :param task_type: ``Summarization``, ``Classification``, ``QuestionAndAnswer``, ``Generation`` or ``Custom``
            (the API's EvaluationTaskType)
        :param metric_names: 1 to 25 metrics computed on it (``Builtin.Accuracy``, ``Builtin.Robustness``...; the
            API's EvaluationMetricNames)
        """
        return EvaluationDataset(name, task_type, tuple(metric_names), data=data)

    @staticmethod
    def from_local_file(
        name: str, path: str | Path, *, task_type: str, metric_names: Sequence[str]
    ) -> EvaluationDataset:
        """A local ``.jsonl`` prompt dataset: validated at synth, then shipped as a file asset.

        :param name: the dataset's name: 1 to 63 letters, digits, ``-``, ``_`` and ``.`` (the API's
            EvaluationDatasetName), unique within an evaluation: ``require`` and ``score`` name it
        :param path: the local ``.jsonl`` file, of ``prompt``, ``referenceResponse`` and ``category`` records
        :param task_type: ``Summarization``, ``Classification``, ``QuestionAndAnswer``, ``Generation`` or ``Custom``
            (the API's EvaluationTaskType)
        :param metric_names: 1 to 25 metrics computed on it (``Builtin.Accuracy``, ``Builtin.Robustness``...; the
            API's EvaluationMetricNames)
        """
        validate_prompt_dataset(path, task_type=task_type, metric_names=metric_names)
        return EvaluationDataset(name, task_type, tuple(metric_names), local_file=str(path))

    def _bound(self, scope: Construct, index: int) -> S3Data | None:
        """Where the dataset is, once its local file (if any) is an asset of scope."""
        if self.local_file is None:
            return self.data
        return S3Data(local_file=self.local_file).shipped(scope, f"Dataset{index}")


EvaluatedModel = str | bedrock.IModel | bedrock.FoundationModelIdentifier | Any


def served_model(model: Any) -> str | None:
    """The model that an evaluated identifier serves, when it can change while the identifier stays: a provisioned
    throughput's (updated in place). A new one must be evaluated again."""
    from .serving import ProvisionedThroughput

    return attribute_string(model.resource, "modelArn") if isinstance(model, ProvisionedThroughput) else None


def _evaluator_identifier(model: Any) -> str:
    """The identifier a judge is invoked by: a foundation model or an inference profile (EvaluatorModelIdentifier's
    pattern takes no provisioned-model, imported-model or custom-model ARN), refused at synth by kind since a
    construct's ARN is known only at deploy, once what it serves may have been bought."""
    from .model_import import ImportedModelBase
    from .serving import CustomModelBase, CustomModelDeploymentBase, ProvisionedThroughputBase

    if isinstance(model, (ProvisionedThroughputBase, ImportedModelBase, CustomModelBase, CustomModelDeploymentBase)):
        raise ValueError(
            f"evaluator_model: {model.node.path} ({type(model).__name__}) cannot judge: an evaluation job's evaluator "
            "is a foundation model or an inference profile (CreateEvaluationJob's EvaluatorModelIdentifier)"
        )
    return model_identifier(model, "evaluator_model")


def model_identifier(model: Any, parameter: str) -> str:
    """The identifier an evaluation job invokes a model by.

    CreateEvaluationJob accepts foundation models and inference profiles, provisioned throughput, and models imported
    by Custom Model Import (its EvaluationBedrockModelIdentifier pattern; Bedrock user guide, "Model evaluation jobs
    support ... Models that you have purchased Provisioned Throughput"): a custom model is evaluated through a
    provisioned throughput, never by its own ARN or an on-demand deployment's.
    """
    from .model_import import ImportedModelBase
    from .serving import CustomModelBase, CustomModelDeploymentBase, ProvisionedThroughputBase

    if isinstance(model, str):
        return model
    if isinstance(model, bedrock.FoundationModelIdentifier):
        return str(model.model_id)
    if isinstance(model, (ProvisionedThroughputBase, ImportedModelBase)):
        return model.model_arn
    if isinstance(model, (CustomModelBase, CustomModelDeploymentBase)):
        raise ValueError(
            f"{parameter}: {model.node.path} cannot be evaluated as it is: an evaluation job invokes a custom model "
            "only through a provisioned throughput (CreateEvaluationJob accepts no custom-model or "
            "custom-model-deployment ARN). Evaluate model.add_provisioned_throughput(...) instead."
        )
    model_arn = getattr(model, "model_arn", None)
    if isinstance(model_arn, str):  # an aws_bedrock.IModel
        return model_arn
    raise ValueError(
        f"{parameter}: {model!r} is not a model id or ARN, a ProvisionedThroughput, an ImportedModel, an "
        "aws_bedrock.IModel or a FoundationModelIdentifier"
    )


@jsii.implements(cdk.ITaggable)
class ModelEvaluation(TaggedResource, ServiceRoleUser, cdk.Resource):
    """Evaluates a model with a Bedrock model evaluation job, and gates the rest of the stack on its scores.

    ``cdk deploy`` starts the job and waits for it, up to 12 hours by default (evaluation jobs emit no events: the
    stack's notifier checks them every few minutes). A baseline model, when given, is evaluated by a second job of
    the same datasets and metrics (Bedrock's automated jobs evaluate one model each). Then the gate reads the scores
    (each metric's mean over a dataset's prompts, from the results in ``output_data``) and checks the requirements
    (``require``, ``require_better_than_baseline``): a score that misses one fails the deployment, with each metric,
    its score and its threshold, and CloudFormation rolls back. What is ``guard``-ed (a provisioned throughput, a
    production deployment) is created only after the gate has passed.

    A change of the model, the datasets or anything else of the job runs a new evaluation; a change of the
    requirements only checks the same scores again. Deleting a running evaluation stops it; results stay in S3.

    Example::

        evaluation = ModelEvaluation(
            self, "Evaluation",
            model=model.add_provisioned_throughput("Evaluated", model_units=1),
            datasets=[EvaluationDataset.builtin("Builtin.BoolQ", task_type="QuestionAndAnswer",
                                                metric_names=["Builtin.Accuracy"])],
            output_data=S3Data.from_bucket(bucket, "evaluations/"),
        )
        evaluation.require("Builtin.Accuracy", at_least=0.7)
        evaluation.guard(model.add_deployment("Production"))
    """

    @refusal_leaves_nothing
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: EvaluatedModel,
        datasets: Sequence[EvaluationDataset],
        output_data: S3Data,
        baseline_model: EvaluatedModel | None = None,
        evaluator_model: str | bedrock.IModel | bedrock.FoundationModelIdentifier | None = None,
        inference_params: str | None = None,
        job_name: str | None = None,
        job_description: str | None = None,
        role: iam.IRole | None = None,
        kms_key: kms.IKey | None = None,
        job_tags: Mapping[str, str] | None = None,
        completion: Completion | None = None,
        provider: CustomizationProvider | None = None,
    ) -> None:
        """
        :param model: what is evaluated: a ``ProvisionedThroughput`` (of a custom model), an ``ImportedModel``, or a
            foundation model or inference profile (id or ARN, ``aws_bedrock.IModel``, ``FoundationModelIdentifier``)
        :param datasets: 1 to 5 datasets, each with its task type and metrics
        :param output_data: where Bedrock writes the results (an S3 prefix in the stack's Region)
        :param baseline_model: a model to compare with (usually the base model), evaluated by a second job.
            @default none
        :param evaluator_model: the judge of a model-as-judge evaluation (judge metrics such as
            ``Builtin.Correctness``). @default none: automatic metrics (``Builtin.Accuracy``...)
        :param inference_params: the evaluated models' inference parameters, a JSON string. @default Bedrock's
        :param job_name: @default generated from the stack and construct, new for each replacement
        :param job_description: 1 to 200 characters (the API's EvaluationJobDescription), of both jobs. @default none
        :param role: the service role Bedrock assumes. @default a role that may read the datasets, write the results
            and invoke exactly the evaluated and evaluator models
        :param kms_key: encrypts the job's data. @default an AWS owned key
        :param job_tags: tags of the job. @default none (besides the stack's tags and ``Tags.of``'s)
        :param completion: how the deployment waits. @default Completion.event_driven(): up to 12 hours, checked every
            few minutes. Completion.polling() polls from the provider, up to 1 hour; no_wait() cannot gate
        :param provider: @default the stack's shared ``CustomizationProvider.of(stack)``
        """
        check_prop_types(ModelEvaluation.__init__, locals())  # before anything is made
        kms_key = checked_kms_key(scope, kms_key)  # IAM names a key, never its alias
        checked_datasets = _checked(datasets)
        _check_json_object("inference_params", inference_params)
        evaluated = model_identifier(model, "model")
        compared = _baseline_identifier(baseline_model, evaluated)
        evaluator = None if evaluator_model is None else _evaluator_identifier(evaluator_model)
        _refuse_other_regions(scope, model=evaluated, baseline_model=compared, evaluator_model=evaluator)
        gating = _gating(completion or DEFAULT_COMPLETION)
        _check_response_size(checked_datasets, with_baseline=compared is not None)
        super().__init__(scope, construct_id)
        self.provider = provider or CustomizationProvider.of(scope)
        self.completion = gating
        self.datasets = checked_datasets
        self._requirements: list[Requirement] = []
        self._guards: list[IConstruct] = []
        use = self.provider.use(scope)
        self.model_identifier = evaluated
        self.baseline_model_identifier = compared
        self._evaluated = _made_from(model, baseline_model, evaluator_model)
        located = [dataset._bound(self, index) for index, dataset in enumerate(self.datasets)]
        invoked = _invoked(self, (model, evaluated), (baseline_model, compared), (evaluator_model, evaluator))
        # The keys of evaluated models this app encrypted (automatic-service-roles.html: a model encrypted with a
        # customer managed key needs the service role's use of it).
        model_keys = [key for key in (_invocation_key(model), _invocation_key(baseline_model)) if key is not None]
        own_role = None if role is not None else _service_role(self, located, output_data, invoked, kms_key, model_keys)
        role_arn = str(self._use_role(role, own_role, JOB_KIND))  # the role given or made: never None
        request = functools.partial(
            _requests.evaluation,
            datasets=_dataset_configs(self.datasets, located),
            output_data=output_data.uri,
            role=role_arn,
            evaluator_model=evaluator,
            inference_params=inference_params,
            job_description=job_description,
            kms_key=kms_key.key_arn if kms_key else None,
            completion=self.completion.wait_until(RESOURCE_TYPE),
        )
        self._own_tags = {"jobTags": dict(job_tags or {})}
        uploads = [data.uploaded_by for data in located if data is not None and data.uploaded_by is not None]
        checked = functools.partial(_checked_job, self, self._own_tags, self.completion, use.stack)
        candidate = checked(request(model=evaluated, job_name=job_name, evaluated_model_arn=served_model(model)))
        baseline = (
            None
            if compared is None
            else checked(request(model=compared, evaluated_model_arn=served_model(baseline_model)))
        )
        self.resource, candidate_end = self._job("Resource", candidate, use, uploads)
        ends = [candidate_end]
        self.baseline: cdk.CfnResource | None = None
        if baseline is not None:
            self.baseline, baseline_end = self._job("Baseline", baseline, use, [])
            ends.append(baseline_end)
        use.grants.allow(RESOURCE_TYPE, role_arn=role_arn, own_role=own_role is not None)
        self._let_given_role_read(located, self.resource, self.baseline)
        if kms_key is not None:
            grant_key(kms_key, EVALUATION_KEY_ACTIONS, use.handler)
            _allow_bedrock_in_key_policy(kms_key)
        _allow_reading_results(self, output_data, use.handler)
        self.gate = self._gate(use, ends)

    def _gate(self, use: Any, ends: Sequence[cdk.CfnResource]) -> cdk.CfnResource:
        """The gate, after the jobs' ends, with the requirements as they are at synth (those added later count)."""
        gate = self.provider.custom_resource(
            self,
            "Gate",
            GATE_TYPE,
            {
                # Tokens: they follow override_logical_id (and rename_logical_id), as a CloudFormation Ref does.
                "jobIdentifier": {"Ref": self.resource.logical_id},
                **({"baselineJobIdentifier": {"Ref": self.baseline.logical_id}} if self.baseline else {}),
                "requirements": cdk.Lazy.uncached_any(
                    Producer(lambda: [requirement.rendered() for requirement in self._requirements])
                ),
            },
            use=use,
        )
        gate.node.add_dependency(*ends)
        return gate

    @property
    def _tagged_resources(self) -> Sequence[cdk.CfnResource]:
        return [self.resource, *filter(None, [self.baseline])]

    def _job(
        self, construct_id: str, checked: tuple[dict[str, Any], dict[str, Any]], use: Any, uploads: Sequence[Any]
    ) -> tuple[cdk.CfnResource, cdk.CfnResource]:
        """A job resource of checked properties, and what marks its end (its wait condition, or itself if polled)."""
        properties, tagged = checked
        job = self.provider.custom_resource(
            self, construct_id, RESOURCE_TYPE, tagged, cdk.RemovalPolicy.DESTROY, dependencies=uploads, use=use
        )
        # Each job's wait condition is keyed on its properties: the two jobs' never clash.
        _reader, end = await_job(self, self.completion, job, RESOURCE_TYPE, properties, self.provider, use)
        assert end is not None  # no_wait was refused
        return job, end

    # --- the gate -------------------------------------------------------------------------------------

    def require(
        self,
        metric_name: str,
        *,
        at_least: float | None = None,
        at_most: float | None = None,
        dataset: str | None = None,
    ) -> ModelEvaluation:
        """Pass the gate only when the metric's score (its mean over each dataset's prompts, or over ``dataset``'s)
        is at least ``at_least`` and at most ``at_most`` (either, or both). Judge metrics are normalized to 0..1.

        :param metric_name: a metric of the datasets' ``metric_names`` (of ``dataset``'s, when named)
        :param dataset: the name of the one dataset whose score counts. @default each dataset that computes the metric
        """
        if at_least is None and at_most is None:
            raise ValueError(f"require({metric_name!r}): give at_least, at_most or both")
        _refuse_non_numbers(f"require({metric_name!r})", at_least=at_least, at_most=at_most)
        if at_least is not None and at_most is not None and at_least > at_most:
            raise ValueError(
                f"require({metric_name!r}): at_least {at_least!r} is above at_most {at_most!r}: no score passes"
            )
        for requirement in evaluation_scores.thresholds(metric_name, at_least, at_most, dataset):
            self._add(requirement)
        return self

    def require_better_than_baseline(
        self, metric_name: str, *, by: float = 0.0, dataset: str | None = None, lower_is_better: bool | None = None
    ) -> ModelEvaluation:
        """Pass the gate only when the model's score beats the baseline model's by at least ``by``.

        :param metric_name: a metric of the datasets' ``metric_names`` (of ``dataset``'s, when named)
        :param dataset: the name of the one dataset whose score counts. @default each dataset that computes the metric
        :param lower_is_better: @default True for Builtin.Robustness, Builtin.Toxicity, Builtin.Harmfulness,
            Builtin.Stereotyping and Builtin.Refusal (the user guide: lower means more robust, less toxic; a harmful
            or stereotyping response, or a refusal, scores 1), else False
        """
        if self.baseline_model_identifier is None:
            raise ValueError(f"require_better_than_baseline({metric_name!r}): give the evaluation a baseline_model")
        _refuse_non_numbers(f"require_better_than_baseline({metric_name!r})", by=by)
        self._add(evaluation_scores.baseline_margin(metric_name, by, dataset, lower_is_better))
        return self

    def _add(self, requirement: Requirement) -> None:
        _check_requirement(self.datasets, requirement)
        self._requirements.append(requirement)

    def guard(self, *constructs: IConstruct) -> None:
        """Create each of ``constructs`` (a provisioned throughput, a deployment, a function...) only once the gate
        passed; refused for this evaluation, what it evaluates, or what holds either (a dependency cycle). The synth
        fails if the evaluation has no requirement by then: its gate would pass whatever the scores."""
        _guard(self, constructs)

    @property
    def job_arn(self) -> str:
        """The ARN of the job that evaluates ``model``, known at deploy time."""
        return attribute_string(self.resource, "jobArn")

    @property
    def baseline_job_arn(self) -> str:
        """The ARN of the job that evaluates ``baseline_model``; refused without one."""
        if self.baseline is None:
            raise ValueError(f"{self.node.path}: this evaluation has no baseline_model")
        return attribute_string(self.baseline, "jobArn")

    def score(self, metric_name: str, *, dataset: str | None = None, baseline: bool = False) -> str:
        """The mean score of ``metric_name`` on ``dataset`` (when not named, the only dataset that computes it; refused
        when more do), once the gate has passed: the ``baseline`` model's when True (refused without one)."""
        names = [d.name for d in self.datasets if metric_name in d.metric_names and dataset in (None, d.name)]
        if len(names) != 1:
            raise ValueError(
                f"score({metric_name!r}): computed on {names or 'no dataset'} of this evaluation; name one dataset"
            )
        if baseline and self.baseline is None:
            raise ValueError(f"{self.node.path}: this evaluation has no baseline_model")
        prefix = evaluation_scores.BASELINE_SCORES if baseline else evaluation_scores.SCORES
        return attribute_string(self.gate, f"{prefix}.{names[0]}.{metric_name}")

    @property
    def role(self) -> iam.IRole | None:
        """The service role Bedrock assumes. For a role this construct made, what you grant it goes in a policy of
        its own, which the jobs wait for."""
        return self._service_role


def _gating(completion: Completion) -> Completion:
    if completion.mode is _requests.CompletionMode.NO_WAIT:
        raise ValueError(
            "completion: Completion.no_wait() cannot gate on the scores, which exist only once the job has "
            "completed; use Completion.event_driven() (up to 12 hours) or Completion.polling() (up to 1 hour)"
        )
    return completion


def _check_json_object(parameter: str, text: str | None) -> None:
    if text is not None and not is_unresolved(text) and not _requests.is_json_object(text):
        raise ValueError(f"{parameter}: {text!r} {_requests.NOT_INFERENCE_PARAMS}")


def _baseline_identifier(baseline_model: Any, evaluated: str) -> str | None:
    compared = None if baseline_model is None else model_identifier(baseline_model, "baseline_model")
    if compared == evaluated:  # a second job of the same model: nothing to compare, and its wait would clash
        raise ValueError(f"baseline_model: {compared!r} is the evaluated model itself; give another model to compare")
    return compared


def _check_requirement(all_datasets: Sequence[EvaluationDataset], requirement: Requirement) -> None:
    """A requirement names a dataset of the evaluation (or none) and a metric that it computes."""
    named = [d for d in all_datasets if requirement.dataset_name in (None, d.name)]
    if requirement.dataset_name is not None and not named:
        names = [d.name for d in all_datasets]
        raise ValueError(
            f"dataset: {requirement.dataset_name!r} is not a dataset of this evaluation; use one of {names}"
        )
    if not any(requirement.metric_name in d.metric_names for d in named):
        computed = sorted({metric for d in named for metric in d.metric_names})
        raise ValueError(
            f"metric_name: {requirement.metric_name!r} is not computed by this evaluation"
            f"{' on ' + requirement.dataset_name if requirement.dataset_name else ''}; it computes {computed}"
        )
    problems = contract.gate_requirement_problems([requirement.rendered()], is_unresolved)
    if problems:
        raise ValueError("; ".join(problems))


def _checked_job(
    scope: Construct,
    own_tags: Mapping[str, Mapping[str, str]],
    completion: Completion,
    stack: cdk.Stack,
    properties: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A job's properties (keyed for its wait), and with its tags and its stack's, checked against the contract: both
    jobs' before either is made, so a refused baseline leaves no job, grant or wait behind."""
    properties = keyed_for_waiting(completion, stack, properties, RESOURCE_TYPE)
    tagged = checked_with_tags(RESOURCE_TYPE, properties, own_tags)
    return properties, with_stack_tags(scope, stack, RESOURCE_TYPE, tagged, own_tags)


def _refuse_other_regions(scope: Construct, **identifiers: str | None) -> None:
    """An evaluation job invokes models of its own Region (an id, or a cross-Region profile's id, has none)."""
    for parameter, identifier in identifiers.items():
        if identifier is not None:
            remedy = "an evaluation job invokes models in its own Region"
            refuse_another_region(scope, parameter, identifier, "a model", remedy)


def _refuse_non_numbers(call: str, **thresholds: float | None) -> None:
    """The gate compares scores with floats: a threshold is a finite number within a float's range, not a bool."""
    for name, value in thresholds.items():
        try:
            finite = value is None or (math.isfinite(value) and not isinstance(value, bool))
        except (TypeError, OverflowError):  # not a number; an int beyond a float's range
            finite = False
        if not finite:
            shown = "an integer beyond a float's range" if type(value) is int else repr(value)[:40]
            raise ValueError(f"{call}: {name}: expected a finite number, got {shown}")


def _guard(evaluation: ModelEvaluation, constructs: Sequence[IConstruct]) -> None:
    for construct in constructs:  # all refused before any is changed
        _refuse_upstream(construct, evaluation, evaluation._evaluated)
    if constructs and not evaluation._guards:  # checked at synth: a requirement may come after guard()
        evaluation.node.add_validation(_GateRequiresSomething(evaluation))
    evaluation._guards.extend(constructs)
    for construct in constructs:
        construct.node.add_dependency(evaluation.gate)


@jsii.implements(IValidation)
class _GateRequiresSomething:
    """A gate with no requirement passes every completed evaluation whatever its scores: what it guards would be
    made for a model that no score was checked for."""

    def __init__(self, evaluation: ModelEvaluation) -> None:
        self._evaluation = evaluation

    def validate(self) -> list[str]:
        if self._evaluation._requirements:
            return []
        guarded = ", ".join(construct.node.path for construct in self._evaluation._guards)
        return [
            f"guard({guarded}): this evaluation has no requirement, so its gate passes whatever the scores; add "
            "require(...) or require_better_than_baseline(...), or make them depend on the evaluation to wait for it "
            "without a check"
        ]


def _refuse_upstream(construct: IConstruct, evaluation: Construct, evaluated: Sequence[IConstruct]) -> None:
    """A construct the gate waits for, or that holds one, cannot wait for the gate: a dependency cycle."""
    upstream = [evaluation, *evaluated]
    if any(construct in made.node.scopes for made in upstream) or evaluation in construct.node.scopes:
        raise ValueError(
            f"guard: {construct.node.path} is this evaluation, what it evaluates, or holds either: the gate waits "
            "for it, so it cannot wait for the gate (a dependency cycle CloudFormation refuses)"
        )


def _made_from(*models: Any) -> tuple[IConstruct, ...]:
    """The constructs among the models, and what each serves (a throughput's custom model), recursively."""
    made: list[IConstruct] = []
    pending = list(models)
    while pending:
        model = pending.pop()
        if isinstance(model, Construct) and model not in made:
            made.append(model)
            pending.append(getattr(model, "model", None))
    return tuple(made)


def _checked(datasets: Sequence[EvaluationDataset]) -> tuple[EvaluationDataset, ...]:
    if not 1 <= len(datasets) <= 5:
        raise ValueError(f"datasets: {len(datasets)} datasets; an evaluation job takes 1 to 5")
    names = [dataset.name for dataset in datasets]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:  # the gate's scores are by dataset name, and each requirement names one dataset
        raise ValueError(
            f"datasets: {', '.join(map(repr, twice))} given twice; each dataset of an evaluation needs its own name"
        )
    return tuple(datasets)


def _dataset_configs(datasets: Sequence[EvaluationDataset], located: Sequence[S3Data | None]) -> list[dict[str, Any]]:
    return [
        _requests.evaluation_dataset(
            name=dataset.name,
            task_type=dataset.task_type,
            metric_names=dataset.metric_names,
            uri=None if data is None else data.uri,
        )
        for dataset, data in zip(datasets, located, strict=True)
    ]


def _invocation_key(model: Any) -> kms.IKey | None:
    """The customer managed key of an evaluated model that this app encrypted (a throughput of it, an import)."""
    return getattr(model, "_invocation_key", None)


def _allow_bedrock_in_key_policy(key: kms.IKey) -> None:
    """The statement that model-evaluation-security-kms.html says "You must add ... to your existing AWS KMS key
    policy", added to a key this app made (an imported key's policy is its owner's to change). Its DescribeKey is a
    statement of its own: a DescribeKey request has no encryption context (the Service Authorization Reference gives
    it no kms:EncryptionContext key), so under the page's condition it would never be allowed."""
    if not isinstance(key, kms.Key):
        return
    jobs = cdk.Stack.of(key).format_arn(service="bedrock", resource="evaluation-job", resource_name="*")
    for actions, conditions in (
        (
            ["kms:GenerateDataKey", "kms:Decrypt"],
            {"kms:EncryptionContext:evaluationJobArn": jobs, "aws:SourceArn": jobs},
        ),
        (["kms:DescribeKey"], {"aws:SourceArn": jobs}),
    ):
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=actions,
                resources=["*"],
                conditions={"StringLike": conditions},
            )
        )


def _invoked(scope: Construct, *models: tuple[Any, str | None]) -> dict[str, tuple[str, str] | None]:
    """The models a job invokes (as given, and their identifiers; None: not given), each with its resource type and
    ARN (None: unknown)."""
    return {
        identifier: _served_resource(scope, given, identifier) for given, identifier in models if identifier is not None
    }


def _served_resource(scope: Construct, given: Any, identifier: str) -> tuple[str, str] | None:
    """The resource type and ARN of an evaluated model: a construct's kind, or what its identifier names."""
    from .model_import import ImportedModelBase
    from .serving import ProvisionedThroughputBase

    if isinstance(given, ProvisionedThroughputBase):
        return "provisioned-model", identifier
    if isinstance(given, ImportedModelBase):
        return "imported-model", identifier
    if is_unresolved(identifier) and ":foundation-model/" in identifier:  # aws_bedrock.FoundationModel's ARN
        return "foundation-model", identifier
    return model_resource(scope, identifier)


def _service_role(
    scope: Construct,
    datasets: Sequence[S3Data | None],
    output: S3Data,
    models: Mapping[str, tuple[str, str] | None],
    kms_key: kms.IKey | None,
    model_keys: Sequence[kms.IKey],
) -> OwnRole:
    """A role that may read exactly the datasets, write the results, invoke exactly these models (identifier: its
    resource type and ARN, None when unknown) and decrypt those of them encrypted with model_keys."""
    grants = Grants()
    wildcards: list[str] = []
    for data in datasets:
        if data is not None:
            wildcards += data.allow_read(scope, grants)
    wildcards += output.allow_output(scope, grants)
    bucket_arn, objects = output.arns(scope, folder=True)
    grants.allow(list(OUTPUT_BUCKET_ACTIONS), [bucket_arn])
    grants.allow(list(OUTPUT_OBJECT_ACTIONS), [objects])
    for model, resource in models.items():
        kind = resource[0] if resource is not None else None
        creating = ["bedrock:CreateModelInvocationJob"] if kind == "foundation-model" else []
        wildcards += allow_invoking(scope, grants, model, [*INVOKE_ACTIONS, *creating])
        if resource is not None and resource[0] in READ_ACTIONS:
            grants.allow([READ_ACTIONS[resource[0]]], [resource[1]])
    invocation_jobs = cdk.Stack.of(scope).format_arn(
        service="bedrock", resource="model-invocation-job", resource_name="*"
    )
    grants.allow(list(INVOCATION_JOB_ACTIONS), [invocation_jobs])
    wildcards.append(invocation_jobs)
    if kms_key is not None:
        grants.allow(EVALUATION_KEY_ACTIONS, [kms_key.key_arn])
    for model_key in model_keys:
        grants.allow(["kms:Decrypt"], [model_key.key_arn])
    role = OwnRole(scope, cdk.Stack.of(scope), JOB_KIND, "Assumed by Bedrock to run a model evaluation", grants)
    if wildcards:
        acknowledge(
            role.resource,
            (
                "IAM5",
                "Bedrock reads every object under a dataset prefix, writes the results under the output prefix, "
                "routes an inference profile to its model in any of the profile's Regions, and runs the prompts as "
                "batch inference jobs whose names it chooses.",
                wildcard_resources(scope, sorted(set(wildcards))),
            ),
        )
    return role


def _allow_reading_results(scope: Construct, output: S3Data, handler: iam.IRole) -> None:
    """The gate reads the results under the output prefix, with the handler's role."""
    grants = Grants()
    wildcards = output.allow_read(scope, grants, folder=True)
    for statement in grants.statements:
        handler.add_to_principal_policy(iam.PolicyStatement.from_json(statement))
    if wildcards:
        reason = "The evaluation gate reads the result files Bedrock writes under the output prefix."
        acknowledge(handler, ("IAM5", reason, wildcard_resources(scope, wildcards)))


def _check_response_size(datasets: Sequence[EvaluationDataset], *, with_baseline: bool) -> None:
    """The gate's attributes (a score per dataset, metric and model) must fit CloudFormation's response."""
    by_name = {dataset.name: dataset.metric_names for dataset in datasets}
    problem = evaluation_scores.gate_data_problem(by_name, with_baseline)
    if problem is not None:
        raise ValueError(f"datasets: {problem}")
