"""Rehearse a CDK app's create, update and delete locally. Not AWS: see the README.

    cdk-bedrock-customization rehearse [--app "python3 app.py"] [--update-context '{"key": "value"}']
        [--job-minutes 120] [--template examples/cloudformation/fine-tuning-job.yaml]
        [--parameter DataBucketName=my-data] [--template-job-minutes 20]
        [--evaluation-score Builtin.Correctness=0.4] [--model-evaluation-score MODEL METRIC=VALUE]
        [--status-every MINUTES]

It synthesizes the app, deploys every stack (its file assets published to S3 first, as `cdk deploy` does),
prints the outputs, synthesizes it again with the update context and deploys that, deploys the plain
CloudFormation templates (stack name: the file's name) against the app's exports, then deletes the stacks, the
templates' first, reporting what each step replaced, updated in place, deleted, retained and stopped, and the
jobs (customization, import, copy and evaluation), models, deployments and provisioned throughput Bedrock then
holds. A stack whose delete fails (a committed provisioned throughput cannot be deleted before its term ends) is
deleted again retaining what failed, as `aws cloudformation delete-stack --retain-resources` does. The example
app's rehearsal deploys the example template through its provider stack's exported ServiceToken, and its evaluation
jobs score as EXAMPLE_EVALUATION_SCORES says (its gate passes) unless --evaluation-score changes a metric of the
evaluated models. With --status-every, while a step deploys, every MINUTES of simulated time it prints the table that
`cdk-bedrock-customization status` shows of each stack being deployed, read from the rehearsal's CloudFormation
and Bedrock.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .bedrock_world import Timings
from .cloud import LocalCloud, SharedStackNames, SynthesisFailed, stacks_of, synthesize
from .engine import Outcome
from .template import TemplateError, load_template

DEFAULT_APP = "app.py"
# The example app's knobs (app.py reads them from the CDK context): one more epoch replaces the fine-tuned
# model's job, a new team tag is changed in place everywhere.
EXAMPLE_UPDATE = {"supportAssistantEpochs": 3, "team": "ml-platform-v2"}
# A plain template that declares a model through the example app's provider stack (BedrockCustomizationProvider,
# its ProviderStackName parameter's default), and the values of its parameters that have no default.
EXAMPLE_TEMPLATE = Path("examples/cloudformation/fine-tuning-job.yaml")
EXAMPLE_TEMPLATE_PARAMETERS = {"DataBucketName": "deploy-local-training-data"}
# The templates' jobs end well within the hour that a provider waits for a job.
TEMPLATE_JOB_MINUTES = 20.0
# What the example app's evaluation jobs score, by the model they evaluate (None: any model but those named, here
# the fine-tuned support assistant, through its provisioned throughput): its gate passes (Correctness at least 0.7,
# Helpfulness 0.05 better than the base model's). --evaluation-score METRIC=VALUE changes the evaluated models'.
EXAMPLE_EVALUATION_SCORES: dict[str | None, dict[str, float]] = {
    None: {"Builtin.Correctness": 0.86, "Builtin.Helpfulness": 0.83},
    "amazon.nova-micro-v1:0": {"Builtin.Correctness": 0.74, "Builtin.Helpfulness": 0.71},
}


@dataclass(frozen=True)
class PlainTemplate:
    """A plain CloudFormation template to deploy after the app: its file, stack name and parameter values."""

    path: Path
    stack_name: str
    parameters: Mapping[str, str] = field(default_factory=dict)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    example = _is_example(args.app)
    try:
        parameters = _parameters(args.parameter, templated=example or args.template is not None)
    except ValueError as error:
        parser.error(str(error))
    app = args.app or f"{sys.executable} {DEFAULT_APP}"
    # The example's knobs are not your app's: its update step changes only what you give.
    update_context = args.update_context if args.update_context is not None else EXAMPLE_UPDATE if example else {}
    try:
        scores = _evaluation_scores(args.evaluation_score, example, args.model_evaluation_score)
    except ValueError as error:
        parser.error(str(error))
    templates = _templates(args.template, example, parameters)
    for template in templates:  # before the app's rehearsal, which takes minutes
        try:
            load_template(template.path, template.parameters)
        except (TemplateError, OSError) as error:
            named = str(error) if str(error).startswith(str(template.path)) else f"{template.path}: {error}"
            parser.error(f"--template {named}")
    timings = Timings(
        job_minutes=args.job_minutes,
        # Job names start with their stack's name.
        job_minutes_for={f"{template.stack_name}-": args.template_job_minutes for template in templates},
        failing_jobs=tuple(args.fail_job),
        evaluation_scores=scores,
    )
    # The functions' own logs (CloudWatch Logs in AWS; crhelper logs a failure's traceback) are not the
    # report: without a handler, Python would print their warnings and errors to stderr.
    root = logging.getLogger()
    if not any(isinstance(handler, logging.NullHandler) for handler in root.handlers):
        root.addHandler(logging.NullHandler())
    print("Local rehearsal: CloudFormation, Lambda, Step Functions and Bedrock are emulated in this process.")
    print("Nothing is created in AWS; what succeeds here can still fail there (quotas, permissions, data).\n")
    if example:
        print(
            f"With no --app, and {EXAMPLE_TEMPLATE} here, this is this repository's example app: its evaluation "
            "scores and its plain template are rehearsed too. Give --app to rehearse your own app without them.\n"
        )
    with tempfile.TemporaryDirectory(prefix="deploy-local-") as work:
        try:
            printed: set[str] = set()  # each warning once: the update's own are those the create did not print
            steps = [
                ("create", synthesize(app, Path(work) / "create", printed=printed)),
                ("update", synthesize(app, Path(work) / "update", update_context, printed=printed, label=" (update)")),
            ]
        except SynthesisFailed as error:
            print(f"{parser.prog}: {error}", file=sys.stderr)
            return 1
        local = LocalCloud(timings, job_quota=args.job_quota, status_every=args.status_every)
        # The cloud assembly's folder is drawn anew each run: the report names it alike (in Node.js traces), so as
        # to be the same on every run.
        with contextlib.redirect_stdout(_Replacing(sys.stdout, work, "<work>")):
            return rehearse(steps, local, templates)


class _Replacing(io.TextIOBase):
    """A text stream that writes to another with a text replaced."""

    def __init__(self, stream: TextIO, text: str, replacement: str) -> None:
        self._stream, self._text, self._replacement = stream, text, replacement

    def write(self, text: str) -> int:
        self._stream.write(text.replace(self._text, self._replacement))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdk-bedrock-customization rehearse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--app", help="the CDK app command (default: app.py, this repository's example where its template is here)"
    )
    parser.add_argument(
        "--update-context",
        type=_json_object,
        help="CDK context (a JSON object) for the update step, over the app's own; default: none for an app given "
        f"by --app, and the example app's knobs ({json.dumps(EXAMPLE_UPDATE)}) for it",
    )
    parser.add_argument("--job-minutes", type=_minutes, default=120.0, help="simulated duration of a job (default 120)")
    parser.add_argument(
        "--fail-job", action="append", default=[], help="jobs whose name contains this fail (repeatable)"
    )
    parser.add_argument(
        "--job-quota", type=_positive_count, default=2, help="concurrent jobs Bedrock allows (default 2)"
    )
    parser.add_argument(
        "--template",
        action="append",
        type=Path,
        help=f"a plain CloudFormation template to deploy after the app (repeatable; default for the example app: "
        f"{EXAMPLE_TEMPLATE})",
    )
    parser.add_argument(
        "--template-job-minutes",
        type=_minutes,
        default=TEMPLATE_JOB_MINUTES,
        help="simulated duration of the templates' jobs (default 20: a provider waits at most an hour for a job)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter value for the templates, repeatable (default for the example template: "
        + ", ".join(f"{name}={value}" for name, value in EXAMPLE_TEMPLATE_PARAMETERS.items())
        + ")",
    )
    _add_evaluation_scores(parser)
    parser.add_argument(
        "--status-every",
        type=_report_interval,
        metavar="MINUTES",
        help="while a step deploys, print the status table of each stack being deployed (what "
        "`cdk-bedrock-customization status` shows) every MINUTES of simulated time; default: off",
    )
    return parser


def _add_evaluation_scores(parser: argparse.ArgumentParser) -> None:
    """The options that set what the rehearsal's evaluation jobs score."""
    parser.add_argument(
        "--model-evaluation-score",
        action="append",
        default=[],
        nargs=2,
        metavar=("MODEL", "METRIC=VALUE"),
        help="a metric's score in the results of the jobs that evaluate MODEL, as the job names it, repeatable (a "
        "baseline's base model id, e.g. amazon.nova-micro-v1:0): a gate can then compare a model with its "
        "baseline; for MODEL, a metric not given scores 0.5",
    )
    parser.add_argument(
        "--evaluation-score",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="a metric's score in the results of the evaluated models, repeatable (every model that neither the "
        "example nor --model-evaluation-score names: the example names its base model), e.g. "
        "Builtin.Correctness=0.4: the example's gate fails; default for the example app: "
        + ", ".join(f"{metric}={value}" for metric, value in EXAMPLE_EVALUATION_SCORES[None].items())
        + "; a metric not given scores 0.5",
    )


def _minutes(text: str) -> float:
    """A positive, finite number of minutes (argparse's type for the durations)."""
    try:
        minutes = float(text)
    except ValueError:
        minutes = math.nan
    if not (math.isfinite(minutes) and minutes > 0):
        raise argparse.ArgumentTypeError(f"give a positive number of minutes: {text!r}")
    return minutes


def _report_interval(text: str) -> float:
    """At least a minute: a table for each simulated second of a two-hour job would never end."""
    minutes = _minutes(text)
    if minutes < 1:
        raise argparse.ArgumentTypeError(f"give a number of minutes, at least 1: {text!r}")
    return minutes


def _positive_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"give a whole number, at least 1: {text!r}")
    return count


def _json_object(text: str) -> dict[str, Any]:
    """CDK context: a JSON object (checked before anything is synthesized)."""
    try:
        context = json.loads(text)
    except ValueError:
        context = None
    if not isinstance(context, dict):
        raise argparse.ArgumentTypeError(f"give a JSON object, such as '{{\"epochs\": 2}}': {text!r}")
    return context


def _is_example(app: str | None) -> bool:
    """Whether the app is this repository's example: no --app given (app.py), with the example template here. An
    app given by --app is the user's, whatever it is called: the example's scores would pass its gates unasked."""
    return app is None and EXAMPLE_TEMPLATE.is_file()


def _evaluation_scores(
    given: Sequence[str], example: bool, given_for_models: Sequence[Sequence[str]] = ()
) -> dict[str | None, dict[str, float]]:
    """The scores of evaluation jobs: the example app's (or none), with those given (METRIC=VALUE) for any model
    that is not named, and those given for a model (MODEL, METRIC=VALUE). ValueError: one is not METRIC=VALUE with a
    finite number."""
    scores = {model: dict(metrics) for model, metrics in EXAMPLE_EVALUATION_SCORES.items()} if example else {}
    for model, item in [(None, item) for item in given] + [(model, item) for model, item in given_for_models]:
        metric, _, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not metric or not math.isfinite(number):
            option = "--evaluation-score" if model is None else "--model-evaluation-score MODEL"
            raise ValueError(f"{option} takes METRIC=VALUE, a number: {item!r}")
        scores.setdefault(model, {})[metric] = number
    return scores


def _parameters(items: Sequence[str], *, templated: bool) -> dict[str, str]:
    """The --parameter values by name: each NAME=VALUE, a name once, and only where a plain template is rehearsed
    (the app's stacks take none here)."""
    if items and not templated:
        raise ValueError("--parameter sets a plain template's parameters: give --template")
    parameters: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals:
            raise ValueError(f"--parameter takes NAME=VALUE: {item!r}")
        if name in parameters:
            raise ValueError(f"--parameter {name} given twice: {parameters[name]!r} and {value!r}")
        parameters[name] = value
    return parameters


def _templates(paths: list[Path] | None, example: bool, parameters: Mapping[str, str]) -> list[PlainTemplate]:
    """The plain templates to deploy: those given, or by default the example app's (with its parameter
    values, unless given), unless another app is rehearsed."""
    if paths is None:
        paths = [EXAMPLE_TEMPLATE] if example else []
        parameters = {**EXAMPLE_TEMPLATE_PARAMETERS, **parameters} if paths else parameters
    return [PlainTemplate(path, path.stem, parameters) for path in paths]


def rehearse(steps: Sequence[tuple[str, Path]], local: LocalCloud, templates: Sequence[PlainTemplate] = ()) -> int:
    """Deploy each step's assembly in turn, then the plain templates, then delete the stacks (the last
    deployed first); 0 when every step succeeded."""
    try:
        defined = [stacks_of(assembly) for _step, assembly in steps]
    except SharedStackNames as refusal:
        print(f"cdk-bedrock-customization rehearse: {refusal}", file=sys.stderr)
        return 1
    if not templates and not any(defined):
        print("cdk-bedrock-customization rehearse: the app defines no stack: nothing to rehearse", file=sys.stderr)
        return 1
    with local as cloud:
        for step, assembly in steps:
            if not _succeeded(step, cloud.deploy(assembly), cloud):
                return 1
        for template in templates:
            try:
                outcome = cloud.deploy_template(template.path, template.stack_name, template.parameters)
            except TemplateError as error:  # refused before the stack is touched, as CloudFormation refuses it
                print(f"\n== template {template.path} ==\n{template.stack_name}: refused: {error}")
                _delete(cloud)
                return 1
            if not _succeeded(f"template {template.path}", {template.stack_name: outcome}, cloud):
                return 1
        _delete(cloud)
    return 0


def _delete(cloud: LocalCloud) -> None:
    """Delete the stacks; a stack whose delete failed is deleted again, retaining the resources that failed (as
    `aws cloudformation delete-stack --retain-resources` does: what Bedrock cannot delete yet, such as a committed
    provisioned throughput, is left, and reported)."""
    outcomes = cloud.delete()
    report("delete", outcomes, cloud)
    failed = {name: outcome.delete_failed for name, outcome in outcomes.items() if outcome.delete_failed}
    if failed:
        retained = "; ".join(f"{name}: {', '.join(sorted(ids))}" for name, ids in failed.items())
        report(
            f"delete again, retaining what could not be deleted ({retained})", cloud.delete(list(failed), failed), cloud
        )


def _succeeded(step: str, outcomes: Mapping[str, Outcome], cloud: LocalCloud) -> bool:
    """Report the step; when it failed, delete the stacks (and report that)."""
    report(step, outcomes, cloud)
    if all(outcome.succeeded for outcome in outcomes.values()):
        return True
    _delete(cloud)
    return False


def report(step: str, outcomes: Mapping[str, Outcome], cloud: LocalCloud) -> None:
    print(f"\n== {step} ==")
    for stack, outcome in outcomes.items():
        print(f"{stack}: {outcome.operation} {'succeeded' if outcome.succeeded else 'FAILED: ' + outcome.reason}")
        if outcome.rollback_failed:
            print(f"  {outcome.status}: {outcome.rollback_reason}")
        if outcome.delete_failed:
            print(f"  {delete_failed_label(outcome)}: {', '.join(sorted(outcome.delete_failed))}")
        for label, names in (
            ("created", outcome.created),
            ("updated in place", outcome.updated_in_place),
            ("replaced", outcome.replaced),
            ("rolled back", outcome.rolled_back),
            ("deleted", outcome.deleted),
            ("retained", outcome.retained),
        ):
            if names:
                print(f"  {label}: {', '.join(sorted(names))}")
        for name, value in outcome.outputs.items():
            print(f"  output {name} = {value}")
    # By name: resources started at the same simulated second are made in whichever order their threads ran.
    jobs = sorted(cloud.bedrock.jobs(), key=lambda job: str(job["jobName"]))
    print(f"  Bedrock jobs: {_jobs(jobs)}")
    print(f"  peak concurrent jobs: {cloud.bedrock.peak_concurrent_jobs}")
    stopped = [job["jobName"] for job in jobs if job["status"] in ("Stopping", "Stopped")]
    print(f"  stopped jobs: {', '.join(stopped) or 'none'}")
    models = sorted(model["modelName"] for model in cloud.bedrock.models() + cloud.bedrock.imported_models())
    print(f"  custom models: {', '.join(models) or 'none'}")
    imports = sorted(cloud.bedrock.import_jobs(), key=lambda job: str(job["jobName"]))
    print(f"  import jobs: {_jobs(imports)}")
    copies = sorted(cloud.bedrock.copy_jobs(), key=lambda job: str(job.get("targetModelName", "")))
    listed_copies = ", ".join(f"{job.get('targetModelName')} {job['status']}" for job in copies)
    print(f"  copy jobs: {listed_copies or 'none'}")
    open_weight = sorted(model["modelName"] for model in cloud.bedrock.import_job_models())
    print(f"  imported models: {', '.join(open_weight) or 'none'}")
    deployments = sorted(d["modelDeploymentName"] for d in cloud.bedrock.deployments())
    print(f"  deployments: {', '.join(deployments) or 'none'}")
    evaluations = sorted(cloud.bedrock.evaluation_jobs(), key=lambda job: str(job["jobName"]))
    print(f"  evaluation jobs: {_jobs(evaluations)}")
    throughputs = sorted(cloud.bedrock.throughputs(), key=lambda item: str(item["provisionedModelName"]))
    listed = ", ".join(f"{item['provisionedModelName']} {item['status']}" for item in throughputs)
    print(f"  provisioned throughput: {listed or 'none'}")


def delete_failed_label(outcome: Outcome) -> str:
    """How the report names the resources whose delete failed: a stack's delete and a create's rollback keep them
    in the stack; an update's cleanups abandon them, as CloudFormation does, and they still exist."""
    if outcome.operation == "DELETE" or outcome.status == "ROLLBACK_FAILED":
        return "delete failed"
    return "left outside the stack, still existing (DELETE_FAILED)"


def _jobs(jobs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{job['jobName']} {job['status']}" for job in jobs) or "none"


if __name__ == "__main__":
    sys.exit(main())
