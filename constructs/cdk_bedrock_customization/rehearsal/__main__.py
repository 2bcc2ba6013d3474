"""Rehearse a CDK app's create, update and delete locally. Not AWS: see the README.

    cdk-bedrock-customization rehearse [--app "python3 app.py"] [--update-context '{"key": "value"}']
        [--job-minutes 120] [--template examples/cloudformation/fine-tuning-job.yaml]
        [--parameter DataBucketName=my-data] [--template-job-minutes 20]

It synthesizes the app, deploys every stack, prints the outputs, synthesizes it again with the update
context and deploys that, deploys the plain CloudFormation templates (stack name: the file's name) against
the app's exports, then deletes the stacks, the templates' first, reporting what each step replaced,
updated in place, deleted, retained and stopped. The example app's rehearsal deploys the example template
through its provider stack's exported ServiceToken.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bedrock_world import Timings
from .cloud import LocalCloud, synthesize
from .engine import Outcome
from .template import TemplateError

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


@dataclass(frozen=True)
class PlainTemplate:
    """A plain CloudFormation template to deploy after the app: its file, stack name and parameter values."""

    path: Path
    stack_name: str
    parameters: Mapping[str, str] = field(default_factory=dict)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    parameters = dict(item.split("=", 1) for item in args.parameter if "=" in item)
    if len(parameters) != len(args.parameter):
        parser.error("--parameter takes NAME=VALUE")
    templates = _templates(args.template, args.app, parameters)
    timings = Timings(
        job_minutes=args.job_minutes,
        # Job names start with their stack's name.
        job_minutes_for={f"{template.stack_name}-": args.template_job_minutes for template in templates},
        failing_jobs=tuple(args.fail_job),
    )
    # The functions' own logs (CloudWatch Logs in AWS; crhelper logs a failure's traceback) are not the
    # report: without a handler, Python would print their warnings and errors to stderr.
    logging.getLogger().addHandler(logging.NullHandler())
    print("Local rehearsal: CloudFormation, Lambda, Step Functions and Bedrock are emulated in this process.")
    print("Nothing is created in AWS; what succeeds here can still fail there (quotas, permissions, data).\n")
    with tempfile.TemporaryDirectory(prefix="deploy-local-") as work:
        steps = [
            ("create", synthesize(args.app, Path(work) / "create")),
            ("update", synthesize(args.app, Path(work) / "update", json.loads(args.update_context))),
        ]
        return rehearse(steps, LocalCloud(timings, job_quota=args.job_quota), templates)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdk-bedrock-customization rehearse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--app", default=f"{sys.executable} {DEFAULT_APP}", help="the CDK app command (default: app.py)"
    )
    parser.add_argument(
        "--update-context",
        default=json.dumps(EXAMPLE_UPDATE),
        help="CDK context (JSON) for the update step; default: the example app's knobs",
    )
    parser.add_argument("--job-minutes", type=float, default=120.0, help="simulated duration of a job")
    parser.add_argument("--fail-job", action="append", default=[], help="jobs whose name contains this fail")
    parser.add_argument("--job-quota", type=int, default=2, help="concurrent jobs Bedrock allows (default 2)")
    parser.add_argument(
        "--template",
        action="append",
        type=Path,
        help=f"a plain CloudFormation template to deploy after the app (default for the example app: "
        f"{EXAMPLE_TEMPLATE})",
    )
    parser.add_argument(
        "--template-job-minutes",
        type=float,
        default=TEMPLATE_JOB_MINUTES,
        help="simulated duration of the templates' jobs (default 20: a provider waits at most an hour for a job)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter value for the templates (default for the example template: "
        + ", ".join(f"{name}={value}" for name, value in EXAMPLE_TEMPLATE_PARAMETERS.items())
        + ")",
    )
    return parser


def _templates(paths: list[Path] | None, app: str, parameters: Mapping[str, str]) -> list[PlainTemplate]:
    """The plain templates to deploy: those given, or by default the example app's (with its parameter
    values, unless given), unless another app is rehearsed."""
    if paths is None:
        example = app.split()[-1:] == [DEFAULT_APP] and EXAMPLE_TEMPLATE.is_file()
        paths = [EXAMPLE_TEMPLATE] if example else []
        parameters = {**EXAMPLE_TEMPLATE_PARAMETERS, **parameters} if paths else parameters
    return [PlainTemplate(path, path.stem, parameters) for path in paths]


def rehearse(steps: Sequence[tuple[str, Path]], local: LocalCloud, templates: Sequence[PlainTemplate] = ()) -> int:
    """Deploy each step's assembly in turn, then the plain templates, then delete the stacks (the last
    deployed first); 0 when every step succeeded."""
    with local as cloud:
        for step, assembly in steps:
            if not _succeeded(step, cloud.deploy(assembly), cloud):
                return 1
        for template in templates:
            try:
                outcome = cloud.deploy_template(template.path, template.stack_name, template.parameters)
            except TemplateError as error:  # refused before the stack is touched, as CloudFormation refuses it
                print(f"\n== template {template.path} ==\n{template.stack_name}: refused: {error}")
                cloud.delete()
                return 1
            if not _succeeded(f"template {template.path}", {template.stack_name: outcome}, cloud):
                return 1
        report("delete", cloud.delete(), cloud)
    return 0


def _succeeded(step: str, outcomes: Mapping[str, Outcome], cloud: LocalCloud) -> bool:
    """Report the step; when it failed, delete the stacks."""
    report(step, outcomes, cloud)
    if all(outcome.succeeded for outcome in outcomes.values()):
        return True
    cloud.delete()
    return False


def report(step: str, outcomes: Mapping[str, Outcome], cloud: LocalCloud) -> None:
    print(f"\n== {step} ==")
    for stack, outcome in outcomes.items():
        print(f"{stack}: {outcome.operation} {'succeeded' if outcome.succeeded else 'FAILED: ' + outcome.reason}")
        if outcome.rollback_failed:
            print(f"  {outcome.status}: {outcome.rollback_reason}")
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
    deployments = sorted(d["modelDeploymentName"] for d in cloud.bedrock.deployments())
    print(f"  deployments: {', '.join(deployments) or 'none'}")


def _jobs(jobs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{job['jobName']} {job['status']}" for job in jobs) or "none"


if __name__ == "__main__":
    sys.exit(main())
