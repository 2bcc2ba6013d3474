"""Model evaluation: automated model evaluation jobs and the results they write to S3, an emulation written here,
not a moto gap.

moto 5.2.x implements none of CreateEvaluationJob, GetEvaluationJob, StopEvaluationJob and ListEvaluationJobs. The
job is a ``Kind`` (``bookkeeping``) following its declaration, ``contract.MODEL_EVALUATION``: named by jobName, tagged
by jobTags (TaggableResourcesArn admits an evaluation-job ARN, so the tag operations take it too), read by its ARN
only (GetEvaluationJob's jobIdentifier pattern is an ARN's: a name is ValidationException), and stopped, not deleted,
by the declaration's delete (StopEvaluationJob). Its rules, as the API reference and the user guide document them,
or as the stand-in chooses where they document nothing:

- only what the stand-in emulates is accepted: an automated job (evaluationConfig.automated) of one Bedrock model
  (inferenceConfig.models holding exactly one bedrockModel: "For automated model evaluation jobs, only a single model
  is supported"). A human-based job, a RAG job (inferenceConfig.ragConfigs, or applicationType RagEvaluation), two
  models and a precomputedInferenceSource are ValidationException naming what is not supported;
- the evaluated model must exist and be invocable in the job's account and Region: a provisioned-model ARN names a
  provisioned throughput of the stand-in (``serving``), an imported-model ARN a model that an import job imported
  (``imports``); either unknown is ResourceNotFoundException, and a throughput that is not InService is
  ValidationException (the stand-in's choice). Anything else the service model's EvaluationBedrockModelIdentifier
  admits (a foundation model id or ARN, an inference profile, a prompt router, a SageMaker endpoint) is taken on
  trust. A custom-model or custom-model-deployment ARN is refused by that pattern, as every request is validated;
  the evaluator (judge) model is checked only against its own pattern;
- a custom dataset (``dataset.datasetLocation.s3Uri``) must be an object in moto's S3 when the job is created, holding
  JSON lines (one object with a string ``prompt`` each, at most ``MAX_PROMPTS``), else ValidationException naming the
  URI. It is read then: its records are the job's, whatever the object holds later (Bedrock reads it as the job
  runs). A dataset without a location must be a built-in one (its name starts ``Builtin.``; the name is not checked
  against the documented list), whose records are ``BUILTIN_PROMPTS`` synthetic prompts ("We have randomly down
  sampled each open-source dataset to include only 100 prompts");
- the output bucket (outputDataConfig.s3Uri) must exist (ValidationException naming the URI): the job writes an empty
  ``<s3Uri>/<jobName>/amazon-bedrock-evaluations-permission-check`` at once, as Bedrock is seen to;
- a taken jobName (jobs are never deleted here: BatchDeleteEvaluationJob is not emulated) is ConflictException, which
  CreateEvaluationJob lists (the API reference documents no answer for it: the stand-in's choice);
- a repeated clientRequestToken returns the job it created (``bookkeeping``);
- StopEvaluationJob moves an InProgress job to Stopping (a test then finishes it to Stopped); a job that is not
  InProgress is ConflictException, which StopEvaluationJob lists (again the stand-in's choice);
- the list filters by status, application type, name and creation time, sorts by creation time (newest first) and
  pages (maxResults, nextToken); its summaries are the service model's EvaluationSummary, without the deprecated
  modelIdentifiers.

When a test (or a rehearsal) moves a job to Completed (``move_evaluation_job``), its results are written to moto's
S3, as the user guide's "Review the results of a model evaluation job saved in Amazon S3" lays them out, one file
per dataset config:
``<s3Uri>/<jobName>/<job id>/models/<model>/taskTypes/<taskType>/datasets/<dataset>/<uuid>_output.jsonl``
(the job id is the last part of its ARN; the s3Uri without its trailing slash). The ``<model>`` segment is
undocumented for ARNs: the stand-in writes the modelIdentifier with every "/" and ":" made "-"; consumers must not
parse it. Each line is one record, as the guide's example: ``automatedEvaluationResult.scores`` (one
``{"metricName", "result"}`` per requested metric), ``inputRecord`` (the dataset line's prompt, referenceResponse
and category) and ``modelResponses`` (the job's model identifier and a synthetic response). An automatic metric (no
evaluator model) is named without its ``Builtin.`` prefix ("Accuracy", as the guide's example); a judged one
(evaluationConfig.automated.evaluatorModelConfig, or a custom metric of customMetricConfig) is named as requested
and carries ``evaluatorDetails`` (its evaluator and an explanation).

The results: a move to Completed takes ``scores`` (``Scores``: by metric name, as requested or without ``Builtin.``),
else the scores the stand-in was given for the job's model identifier (``set_evaluation_scores``, per account and
Region; the identifier compared as written), else those given for any model, else none. A float gives every record
of every dataset that value; a sequence gives the records of each dataset file its values in order, cycled (None, or
NaN, is written as null: "not applicable"). A requested metric the scores do not name is ``DEFAULT_SCORE`` in every
record (0.5). A test's own scores must each name a metric the job requests (ValueError, to catch a typo); the
stand-in's apply to jobs of any metrics. A Failed job has failureMessages, always (``Internal failure`` unless a
test says). Only InProgress moves to Completed or Failed, and only Stopping to Stopped (ValueError otherwise).

It simplifies: a job moves only when a test drives it; nothing checks the role, the key, S3 Regions, metric names
against task types, or that a foundation model or evaluator exists; no report card or custom metric definitions are
written; taskType is the service model's enum and "General", which the user guide's judge examples send.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bedrock_custom_resource import contract
from moto.bedrock.exceptions import BedrockClientError, ResourceNotFoundException
from moto.bedrock.models import BedrockBackend
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from .bookkeeping import Handler, Kind, Params, Resource
from .imports import IMPORT_JOB_MODELS
from .listing import page
from .service_model import EVALUATION_JOB_STATUSES, iso, moment, present
from .serving import THROUGHPUTS
from .validation import BedrockValidationException

# A metric's results for one job: by metric name, one value for every record, or the records' values in order
# (cycled; None is "not applicable").
Scores = Mapping[str, float | Sequence[float | None]]

DEFAULT_SCORE = 0.5
DEFAULT_FAILURE_MESSAGE = "Internal failure"
BUILTIN_PREFIX = "Builtin."
# The user guide: "We have randomly down sampled each open-source dataset to include only 100 prompts", and "There
# can be up to 1000 prompts in your dataset per automatic evaluation job".
BUILTIN_PROMPTS = 100
MAX_PROMPTS = 1000
PERMISSION_CHECK = "amazon-bedrock-evaluations-permission-check"
RESULT_SUFFIX = "_output.jsonl"
# What a custom dataset's line carries into its record's inputRecord.
_INPUT_MEMBERS = ("prompt", "referenceResponse", "category")
_SCORES = "stand_in_evaluation_scores"


@dataclass(frozen=True)
class DatasetRun:
    """One of a job's dataset configs, with the records it evaluates (read when the job was created)."""

    task_type: str
    dataset_name: str
    metric_names: tuple[str, ...]  # as requested
    records: tuple[dict[str, Any], ...]  # each an inputRecord


@dataclass(kw_only=True)
class EvaluationJob(Resource):
    role_arn: str
    description: str | None
    key_id: str | None  # customerEncryptionKeyId, as given
    evaluation_config: dict[str, Any]
    inference_config: dict[str, Any]
    output_data_config: dict[str, Any]
    model_identifier: str  # the one evaluated model's
    runs: tuple[DatasetRun, ...]
    last_modified: datetime
    status: str = "InProgress"
    failure_messages: list[str] | None = None

    @property
    def job_id(self) -> str:
        return self.arn.rsplit("/", 1)[1]

    @property
    def automated(self) -> dict[str, Any]:
        automated: dict[str, Any] = self.evaluation_config["automated"]
        return automated

    def evaluator(self, metric_name: str) -> str | None:
        """The model that judges metric_name, or None for an automatic metric."""
        custom = self.automated.get("customMetricConfig")
        if custom is not None and metric_name in _custom_metric_names(custom):
            return _evaluator_of(custom["evaluatorModelConfig"])
        config = self.automated.get("evaluatorModelConfig")
        return None if config is None else _evaluator_of(config)

    def summary(self) -> dict[str, Any]:
        """As ListEvaluationJobs lists it (EvaluationSummary)."""
        custom = self.automated.get("customMetricConfig")
        evaluator = self.automated.get("evaluatorModelConfig")
        return present(
            jobArn=self.arn,
            jobName=self.name,
            status=self.status,
            creationTime=iso(self.created),
            jobType="Automated",
            evaluationTaskTypes=list(dict.fromkeys(run.task_type for run in self.runs)),
            evaluatorModelIdentifiers=None if evaluator is None else [_evaluator_of(evaluator)],
            customMetricsEvaluatorModelIdentifiers=(
                None if custom is None else [_evaluator_of(custom["evaluatorModelConfig"])]
            ),
            inferenceConfigSummary={"modelConfigSummary": {"bedrockModelIdentifiers": [self.model_identifier]}},
            applicationType="ModelEvaluation",
        )

    def describe(self) -> dict[str, Any]:
        """As GetEvaluationJob describes it."""
        return present(
            jobName=self.name,
            status=self.status,
            jobArn=self.arn,
            jobDescription=self.description,
            roleArn=self.role_arn,
            customerEncryptionKeyId=self.key_id,
            jobType="Automated",
            applicationType="ModelEvaluation",
            evaluationConfig=copy.deepcopy(self.evaluation_config),
            inferenceConfig=copy.deepcopy(self.inference_config),
            outputDataConfig=copy.deepcopy(self.output_data_config),
            creationTime=iso(self.created),
            lastModifiedTime=iso(self.last_modified),
            failureMessages=list(self.failure_messages) if self.status == "Failed" and self.failure_messages else None,
        )


def _evaluator_of(config: Mapping[str, Any]) -> str:
    (model,) = config["bedrockEvaluatorModels"]
    return str(model["modelIdentifier"])


def _custom_metric_names(custom: Mapping[str, Any]) -> set[str]:
    return {
        str(source["customMetricDefinition"]["name"])
        for source in custom["customMetrics"]
        if "customMetricDefinition" in source
    }


# --- creating a job -----------------------------------------------------------------------------------


def _only_what_is_emulated(params: Params) -> None:
    """Refuse, before anything else, a job of a sort the stand-in does not emulate (or Bedrock does not run)."""
    if "human" in params["evaluationConfig"]:
        raise _unsupported("a human-based model evaluation job (evaluationConfig.human)")
    if params.get("applicationType") == "RagEvaluation":
        raise _unsupported("a knowledge base evaluation job (applicationType RagEvaluation)")
    if "ragConfigs" in params["inferenceConfig"]:
        raise _unsupported("a knowledge base evaluation job (inferenceConfig.ragConfigs)")
    models = params["inferenceConfig"]["models"]
    if len(models) != 1:
        raise BedrockValidationException(
            f"inferenceConfig.models holds {len(models)} models: for automated model evaluation jobs, only a single"
            " model is supported"
        )
    if "bedrockModel" not in models[0]:
        raise _unsupported(
            "a job of precomputed inference responses (inferenceConfig.models.precomputedInferenceSource)"
        )


def _unsupported(what: str) -> BedrockValidationException:
    return BedrockValidationException(
        f"The Bedrock stand-in does not support {what}: it emulates automated model evaluation jobs of one model"
    )


def _job_name_free(backend: BedrockBackend, name: str) -> None:
    if EVALUATION_JOBS.held(backend, name) is not None:
        raise BedrockClientError("ConflictException", f"An evaluation job named {name} already exists")


def _build_job(backend: BedrockBackend, params: Params, base: Resource) -> EvaluationJob:
    model_identifier = str(params["inferenceConfig"]["models"][0]["bedrockModel"]["modelIdentifier"])
    _refuse_uninvocable_model(backend, model_identifier)
    runs = tuple(
        _dataset_run(backend, config) for config in params["evaluationConfig"]["automated"]["datasetMetricConfigs"]
    )
    output_uri = params["outputDataConfig"]["s3Uri"]
    bucket, prefix = _split_s3_uri(output_uri)
    s3 = _s3(backend)
    if not _bucket_exists(s3, bucket):
        raise BedrockValidationException(
            f"The output location {output_uri} is not usable: bucket {bucket} does not exist"
        )
    # Everything is checked: the job starts, and checks that it may write where its results go, as Bedrock does.
    s3.put_object(bucket, _key(prefix, base.name or "", PERMISSION_CHECK), b"")
    return EvaluationJob(
        **vars(base),
        last_modified=base.created,
        role_arn=params["roleArn"],
        description=params.get("jobDescription"),
        key_id=params.get("customerEncryptionKeyId"),
        evaluation_config=copy.deepcopy(params["evaluationConfig"]),
        inference_config=copy.deepcopy(params["inferenceConfig"]),
        output_data_config=copy.deepcopy(params["outputDataConfig"]),
        model_identifier=model_identifier,
        runs=runs,
    )


def _refuse_uninvocable_model(backend: BedrockBackend, identifier: str) -> None:
    """The evaluated model must be one the job can invoke; what the stand-in cannot know of is taken on trust."""
    if ":provisioned-model/" in identifier:
        throughput = THROUGHPUTS.held(backend, identifier)
        if throughput is None:
            raise ResourceNotFoundException(f"Provisioned model {identifier} not found")
        if throughput.status != "InService":
            raise BedrockValidationException(
                f"Provisioned model {identifier} is {throughput.status}, not InService: it cannot serve the evaluation"
            )
    elif ":imported-model/" in identifier and IMPORT_JOB_MODELS.held(backend, identifier) is None:
        raise ResourceNotFoundException(f"Imported model {identifier} not found")


def _dataset_run(backend: BedrockBackend, config: Mapping[str, Any]) -> DatasetRun:
    dataset = config["dataset"]
    name = str(dataset["name"])
    location = dataset.get("datasetLocation")
    if location is not None:
        records = _custom_records(backend, str(location["s3Uri"]))
    elif name.startswith(BUILTIN_PREFIX):
        records = _builtin_records(name)
    else:
        raise BedrockValidationException(
            f"Dataset {name} has no datasetLocation: only a built-in dataset (Builtin.*) has none"
        )
    return DatasetRun(
        task_type=str(config["taskType"]),
        dataset_name=name,
        metric_names=tuple(str(metric) for metric in config["metricNames"]),
        records=records,
    )


def _custom_records(backend: BedrockBackend, uri: str) -> tuple[dict[str, Any], ...]:
    """The inputRecords of a custom prompt dataset: JSON lines, each an object with a string prompt."""
    bucket, key = _split_s3_uri(uri)
    s3 = _s3(backend)
    found = s3.get_object(bucket, key) if key and _bucket_exists(s3, bucket) else None
    if found is None:
        raise BedrockValidationException(f"The dataset {uri} is not usable: there is no such object in S3")
    records = []
    for number, line in enumerate(found.value.decode(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
            raise BedrockValidationException(
                f"The dataset {uri} is not usable: line {number} is not a JSON object with a string prompt"
            )
        records.append({member: item[member] for member in _INPUT_MEMBERS if member in item})
    if not 1 <= len(records) <= MAX_PROMPTS:
        raise BedrockValidationException(
            f"The dataset {uri} is not usable: it holds {len(records)} prompts; it must hold 1 to {MAX_PROMPTS}"
        )
    return tuple(records)


def _builtin_records(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"prompt": f"Prompt {index} of {name}", "referenceResponse": f"Reference response {index} of {name}"}
        for index in range(1, BUILTIN_PROMPTS + 1)
    )


# --- moto's S3 ----------------------------------------------------------------------------------------


def _s3(backend: BedrockBackend) -> Any:
    """moto's S3 of the job's account and partition (S3 is global: one backend per partition)."""
    return s3_backends[backend.account_id][get_partition(backend.region_name)]


def _bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.get_bucket(bucket)
    except Exception:  # moto's MissingBucket, or a bucket of another account it refuses to show
        return False
    return True


def _split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key or prefix without its trailing slash) of an s3:// URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key.rstrip("/")


def _key(prefix: str, *parts: str) -> str:
    return "/".join(part for part in (prefix, *parts) if part)


def model_segment(model_identifier: str) -> str:
    """The results' models/<segment>: undocumented for ARNs; the stand-in's own spelling."""
    return model_identifier.replace("/", "-").replace(":", "-")


# --- a job moves on -----------------------------------------------------------------------------------


def stop_job(_backend: BedrockBackend, job: EvaluationJob) -> None:
    """StopEvaluationJob: an InProgress job is Stopping from now on; any other is ConflictException."""
    if job.status != "InProgress":
        raise BedrockClientError(
            "ConflictException", f"Evaluation job {job.arn} is {job.status}; only an InProgress job can be stopped"
        )
    job.status, job.last_modified = "Stopping", moment()


# The moves a test may make: InProgress ends Completed or Failed; Stopping ends Stopped.
_MOVES = {"InProgress": ("Completed", "Failed"), "Stopping": ("Stopped",)}


def move_evaluation_job(
    backend: BedrockBackend,
    job: EvaluationJob,
    status: str,
    scores: Scores | None = None,
    failure_message: str | None = None,
) -> None:
    """Move a job to status, as Bedrock would over time: Completed writes its results to S3 (with scores, or the
    stand-in's scores for its model); Failed has failureMessages (always); Stopped ends a Stopping job."""
    if status not in EVALUATION_JOB_STATUSES:
        raise ValueError(f"{status!r} is not an evaluation job status; use one of {EVALUATION_JOB_STATUSES}")
    if status not in _MOVES.get(job.status, ()):
        raise ValueError(
            f"evaluation job {job.arn} is {job.status}; only InProgress moves to Completed or Failed, and only"
            " Stopping to Stopped"
        )
    if scores is not None and status != "Completed":
        raise ValueError("scores are only for a job that completes")
    if status == "Completed":
        _write_results(
            backend, job, _checked_scores(scores, job) if scores is not None else _defaults_for(backend, job)
        )
    if status == "Failed":
        job.failure_messages = [failure_message or DEFAULT_FAILURE_MESSAGE]
    job.status, job.last_modified = status, moment()


def _write_results(backend: BedrockBackend, job: EvaluationJob, scores: Scores) -> None:
    bucket, prefix = _split_s3_uri(job.output_data_config["s3Uri"])
    s3 = _s3(backend)
    if not _bucket_exists(s3, bucket):
        raise ValueError(
            f"the output bucket {bucket} is gone; evaluation job {job.arn} cannot complete (move it to Failed)"
        )
    for run in job.runs:
        key = _key(
            prefix,
            job.name or "",
            job.job_id,
            "models",
            model_segment(job.model_identifier),
            "taskTypes",
            run.task_type,
            "datasets",
            run.dataset_name,
            f"{uuid.uuid4()}{RESULT_SUFFIX}",
        )
        lines = (json.dumps(record) for record in _records(job, run, scores))
        s3.put_object(bucket, key, "".join(f"{line}\n" for line in lines).encode())


def _records(job: EvaluationJob, run: DatasetRun, scores: Scores) -> Iterator[dict[str, Any]]:
    for index, input_record in enumerate(run.records):
        results = []
        for metric in run.metric_names:
            evaluator = job.evaluator(metric)
            result: dict[str, Any] = {
                "metricName": metric if evaluator is not None else metric.removeprefix(BUILTIN_PREFIX),
                "result": _result(_given(scores, metric), index),
            }
            if evaluator is not None:
                explanation = f"The stand-in's judgement of {metric} for prompt {index + 1}"
                result["evaluatorDetails"] = [{"modelIdentifier": evaluator, "explanation": explanation}]
            results.append(result)
        yield {
            "automatedEvaluationResult": {"scores": results},
            "inputRecord": copy.deepcopy(input_record),
            "modelResponses": [
                {"modelIdentifier": job.model_identifier, "response": f"The stand-in's response to prompt {index + 1}"}
            ],
        }


def _given(scores: Scores, metric: str) -> float | Sequence[float | None]:
    """What scores give metric: by its name as requested, or without its Builtin. prefix; else the default."""
    for name in (metric, metric.removeprefix(BUILTIN_PREFIX)):
        if name in scores:
            return scores[name]
    return DEFAULT_SCORE


def _result(given: float | Sequence[float | None], index: int) -> float | None:
    value = given if isinstance(given, int | float) else given[index % len(given)]
    return None if value is None or math.isnan(value) else float(value)


# --- the scores a test gives --------------------------------------------------------------------------


def checked_scores(scores: Scores) -> dict[str, float | tuple[float | None, ...]]:
    """scores, checked (a number, or a non-empty sequence of numbers or None, by metric name) and copied."""
    checked: dict[str, float | tuple[float | None, ...]] = {}
    for name, given in scores.items():
        if _is_number(given):
            checked[name] = _finite(name, given)
        elif isinstance(given, Sequence) and not isinstance(given, str | bytes) and given:
            checked[name] = tuple(None if value is None else _finite(name, value) for value in given)
        else:
            raise ValueError(f"the score of {name} is {given!r}: give a number or a non-empty sequence of them")
    return checked


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(name: str, value: object) -> float:
    if not _is_number(value):
        raise ValueError(f"a score of {name} is {value!r}: give a number (or None: not applicable)")
    number = float(value)  # type: ignore[arg-type]  # a number: checked above
    if math.isinf(number):
        raise ValueError(f"a score of {name} is {number}: give a finite number (or None, or NaN: not applicable)")
    return number


def _checked_scores(scores: Scores, job: EvaluationJob) -> Scores:
    """A test's scores for one job: each must name a metric the job requests (as requested, or without Builtin.)."""
    requested = {name for run in job.runs for metric in run.metric_names for name in (metric, _canonical(metric))}
    unknown = sorted(set(scores) - requested)
    if unknown:
        raise ValueError(f"evaluation job {job.arn} requests no metric {unknown}; it requests {sorted(requested)}")
    return checked_scores(scores)


def _canonical(metric: str) -> str:
    return metric.removeprefix(BUILTIN_PREFIX)


def set_evaluation_scores(backend: BedrockBackend, scores: Scores | None, model_identifier: str | None = None) -> None:
    """The scores a job of the backend's account and Region that evaluates model_identifier (or any model: None)
    gets when it completes without scores of its own; None forgets them."""
    defaults = _stand_in_scores(backend)
    if scores is None:
        defaults.pop(model_identifier, None)
    else:
        defaults[model_identifier] = checked_scores(scores)


def _stand_in_scores(backend: BedrockBackend) -> dict[str | None, Scores]:
    defaults = getattr(backend, _SCORES, None)
    if not isinstance(defaults, dict):
        defaults = {}
        setattr(backend, _SCORES, defaults)
    return defaults


def _defaults_for(backend: BedrockBackend, job: EvaluationJob) -> Scores:
    defaults = _stand_in_scores(backend)
    for identifier in (job.model_identifier, None):
        if identifier in defaults:
            return defaults[identifier]
    return {}


# --- the list -----------------------------------------------------------------------------------------


def _list_jobs(backend: BedrockBackend, params: Params) -> dict[str, Any]:
    jobs = [job for job in EVALUATION_JOBS.resources(backend).values() if _selected(job, params)]
    listed, next_token = page(jobs, params)
    return present(jobSummaries=[job.summary() for job in listed], nextToken=next_token)


def _selected(job: EvaluationJob, params: Params) -> bool:
    """Whether a job passes the list request's own filters (page applies those of name and creation time)."""
    return params.get("statusEquals") in (None, job.status) and params.get("applicationTypeEquals") in (
        None,
        "ModelEvaluation",
    )


# --- the kind, and the operations it answers ----------------------------------------------------------


class _EvaluationJobs(Kind[EvaluationJob]):
    """Its declared delete is StopEvaluationJob: a stop, which keeps the job."""

    def delete(self, backend: BedrockBackend, params: Params) -> dict[str, Any] | None:
        stop_job(backend, self.find(backend, params[self.identifier_member]))
        return {}


EVALUATION_JOBS = _EvaluationJobs(
    resource_type=contract.MODEL_EVALUATION,
    noun="evaluation job",
    check_request=_only_what_is_emulated,
    build=_build_job,
    name_rule=_job_name_free,
)
EVALUATION_KINDS = (EVALUATION_JOBS,)
EVALUATION_LISTINGS: dict[str, Handler] = {"ListEvaluationJobs": _list_jobs}
