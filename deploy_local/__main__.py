"""make deploy-local: rehearse a CDK app's create, update and delete locally. Not AWS: see the README.

    python -m deploy_local [--app "python3 app.py"] [--update-context '{"key": "value"}'] [--job-minutes 120]

It synthesizes the app, deploys every stack, prints the outputs, synthesizes it again with the update
context and deploys that, then deletes the stacks, reporting what each step replaced, updated in place,
deleted, retained and stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .bedrock_world import Timings
from .cloud import DEFAULT_TIME_SCALE, LocalCloud, synthesize
from .engine import Outcome

# The example app's knobs (app.py reads them from the CDK context): one more epoch replaces the fine-tuned
# model's job, a new team tag is changed in place everywhere.
EXAMPLE_UPDATE = {"supportAssistantEpochs": 3, "team": "ml-platform-v2"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", default=f"{sys.executable} app.py", help="the CDK app command (default: app.py)")
    parser.add_argument(
        "--update-context",
        default=json.dumps(EXAMPLE_UPDATE),
        help="CDK context (JSON) for the update step; default: the example app's knobs",
    )
    parser.add_argument("--job-minutes", type=float, default=120.0, help="simulated duration of a job")
    parser.add_argument("--fail-job", action="append", default=[], help="jobs whose name contains this fail")
    parser.add_argument("--job-quota", type=int, default=2, help="concurrent jobs Bedrock allows (default 2)")
    parser.add_argument(
        "--time-scale", type=float, default=DEFAULT_TIME_SCALE, help="real seconds per simulated second"
    )
    args = parser.parse_args(argv)
    timings = Timings(job_minutes=args.job_minutes, failing_jobs=tuple(args.fail_job))
    print("Local rehearsal: CloudFormation, Lambda, Step Functions and Bedrock are emulated in this process.")
    print("Nothing is created in AWS; what succeeds here can still fail there (quotas, permissions, data).\n")
    with tempfile.TemporaryDirectory(prefix="deploy-local-") as work:
        steps = [
            ("create", synthesize(args.app, Path(work) / "create")),
            ("update", synthesize(args.app, Path(work) / "update", json.loads(args.update_context))),
        ]
        return rehearse(steps, LocalCloud(timings, args.time_scale, job_quota=args.job_quota))


def rehearse(steps: Sequence[tuple[str, Path]], local: LocalCloud) -> int:
    """Deploy each step's assembly in turn, then delete the stacks; 0 when every step succeeded."""
    with local as cloud:
        for step, assembly in steps:
            outcomes = cloud.deploy(assembly)
            report(step, outcomes, cloud)
            if not all(outcome.succeeded for outcome in outcomes.values()):
                cloud.delete()
                return 1
        report("delete", cloud.delete(), cloud)
    return 0


def report(step: str, outcomes: Mapping[str, Outcome], cloud: LocalCloud) -> None:
    print(f"\n== {step} ==")
    for stack, outcome in outcomes.items():
        print(f"{stack}: {outcome.operation} {'succeeded' if outcome.succeeded else 'FAILED: ' + outcome.reason}")
        for label, names in (
            ("created", outcome.created),
            ("updated in place", outcome.updated_in_place),
            ("replaced", outcome.replaced),
            ("deleted", outcome.deleted),
            ("retained", outcome.retained),
        ):
            if names:
                print(f"  {label}: {', '.join(sorted(names))}")
        for name, value in outcome.outputs.items():
            print(f"  output {name} = {value}")
    print(f"  Bedrock jobs: {_jobs(cloud.bedrock.jobs())}")
    print(f"  peak concurrent jobs: {cloud.bedrock.peak_concurrent_jobs}")
    stopped = [job["jobName"] for job in cloud.bedrock.jobs() if job["status"] in ("Stopping", "Stopped")]
    print(f"  stopped jobs: {', '.join(stopped) or 'none'}")
    models = [model["modelName"] for model in cloud.bedrock.models() + cloud.bedrock.imported_models()]
    print(f"  custom models: {', '.join(models) or 'none'}")
    print(f"  deployments: {', '.join(d['modelDeploymentName'] for d in cloud.bedrock.deployments()) or 'none'}")


def _jobs(jobs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{job['jobName']} {job['status']}" for job in jobs) or "none"


if __name__ == "__main__":
    sys.exit(main())
