"""The local cloud a rehearsal runs in: moto with the Bedrock stand-in, Bedrock moving over simulated time,
and one LocalStack per stack of the cloud assembly. Nothing leaves this process but the Node subprocess
that runs the Provider framework."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from bedrock_custom_resource import index, notifier
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from moto import mock_aws

from tests.support.bedrock_stand_in import BedrockStandIn
from tests.support.shared_loader import shared_botocore_loader

from .bedrock_world import BedrockWorld, SimulatedClock, Timings
from .engine import LocalStack, Outcome, Printer
from .template import Environment, Template

ACCOUNT = "111122223333"
REGION = "us-east-1"
# Time in the rehearsal runs this many times faster than real time (a 2-hour job takes about 1 s).
DEFAULT_TIME_SCALE = 1 / 6000


@dataclass
class StackArtifact:
    name: str
    template: Template


def synthesize(app: str, outdir: Path, context: Mapping[str, Any] | None = None) -> Path:
    """Run a CDK app command as the CDK CLI does (CDK_OUTDIR, CDK_CONTEXT_JSON), without an AWS account."""
    env = dict(os.environ, CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(dict(context or {})))
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    completed = subprocess.run(app, shell=True, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{app} failed:\n{completed.stderr[-4000:]}")
    return outdir


def stacks_of(assembly_dir: Path) -> list[StackArtifact]:
    """The assembly's stacks, in the order of their dependencies."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order or artifacts[name]["type"] != "aws:cloudformation:stack":
            return
        for dependency in artifacts[name].get("dependencies", []):
            visit(dependency)
        order.append(name)

    for name in artifacts:
        visit(name)
    return [
        StackArtifact(
            artifacts[name].get("displayName", name),
            Template(json.loads((assembly_dir / artifacts[name]["properties"]["templateFile"]).read_text())),
        )
        for name in order
    ]


@dataclass
class LocalCloud:
    """A context manager: enter it, deploy assemblies, delete the stacks, read Bedrock's state."""

    timings: Timings = field(default_factory=Timings)
    time_scale: float = DEFAULT_TIME_SCALE
    write: Callable[[str], None] = print
    job_quota: int | None = None
    # (function ARN, payload) -> whether Lambda runs that invocation twice, as after a timeout.
    retry_first_user_invocation: Callable[[str, Mapping[str, Any]], bool] = lambda _arn, _payload: False

    def __post_init__(self) -> None:
        self.clock = SimulatedClock(self.time_scale)
        self.printer = Printer(self.clock, self.write)
        self.stacks: dict[str, LocalStack] = {}
        self._exit = contextlib.ExitStack()

    def __enter__(self) -> LocalCloud:
        patch = self._exit.enter_context(_monkeypatch())
        self._exit.enter_context(shared_botocore_loader())
        for name, value in {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "MOTO_ACCOUNT_ID": ACCOUNT,
        }.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DATA_PATH"):
            patch.delenv(name, raising=False)
        self._exit.enter_context(mock_aws())
        self.bedrock = BedrockStandIn(patch, region=REGION, account_id=ACCOUNT)
        if self.job_quota is not None:
            self.bedrock.limit_concurrent_jobs(self.job_quota)
        for handler in [*index.HANDLERS.values(), notifier]:
            patch.setattr(handler, "bedrock_client", self.bedrock.client)
        patch.setattr(notifier, "cloudformation_client", self._cloudformation_client)
        self.world = self._exit.enter_context(
            BedrockWorld(self.bedrock, self.clock, self.timings, self._publish, self.printer.line)
        )
        return self

    def __exit__(self, *exc: Any) -> None:
        for stack in self.stacks.values():
            stack.close()
        self._exit.__exit__(*exc)

    def deploy(self, assembly_dir: Path) -> dict[str, Outcome]:
        outcomes = {}
        for artifact in stacks_of(assembly_dir):
            stack = self.stacks.get(artifact.name) or self._new_stack(artifact.name)
            outcomes[artifact.name] = stack.deploy(artifact.template, assembly_dir)
            if not outcomes[artifact.name].succeeded:
                break
        return outcomes

    def delete(self) -> dict[str, Outcome]:
        outcomes = {}
        for name in reversed(list(self.stacks)):
            outcomes[name] = self.stacks[name].delete()
        return outcomes

    def _new_stack(self, name: str) -> LocalStack:
        stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{uuid.uuid4()}"
        stack = LocalStack(
            Environment(ACCOUNT, REGION, name, stack_id),
            self.clock,
            self.printer,
            self.world.lock,
            retry_first_user_invocation=self.retry_first_user_invocation,
        )
        self.stacks[name] = stack
        return stack

    def _publish(self, event: dict[str, Any]) -> None:
        for stack in self.stacks.values():
            stack.publish(event)

    def _cloudformation_client(self) -> Any:
        """The notifier's CloudFormation client: ListStackResources is answered from the local stacks."""
        client = boto3.client("cloudformation", region_name=REGION)

        def list_stack_resources(params: Mapping[str, Any], **_kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
            # params is the serialized request: the query protocol's parameters are its body.
            stack = next(s for s in self.stacks.values() if s.env.stack_id == params["body"]["StackName"])
            response = AWSResponse("https://cloudformation.local/", 200, HTTPHeaders(), None)
            return response, {"StackResourceSummaries": stack.list_stack_resources()}

        client.meta.events.register("before-call.cloudformation.ListStackResources", list_stack_resources)
        return client


@contextlib.contextmanager
def _monkeypatch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch
