"""The local cloud a rehearsal runs in: moto with the Bedrock stand-in, Bedrock moving over simulated time,
and one LocalStack per stack: those of cloud assemblies, and plain templates deployed after them, which
may import their exports. Nothing leaves this process but the Node subprocess that runs the Provider
framework. As ``cdk deploy`` does, a cloud assembly's stack has its file assets published to S3 (moto's) before
it is deployed (buckets.py).

Simulated time is a virtual clock (clock.py): the thread that enters the cloud is one of its actors until it
leaves, so that time stands still between the operations it asks for and moves only while they wait.

With status_every, each deploy (of an assembly or a template) prints, every status_every simulated minutes, the
status table of the stack it is deploying, as `cdk-bedrock-customization status` reads it (status_reports.py)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bedrock_custom_resource import index, notifier, provisioned_throughput
from bedrock_single_function import provider as single_function_provider
from crhelper import log_helper, resource_helper
from moto import mock_aws

from ..emulation.bedrock_stand_in import BedrockStandIn
from ..emulation.patches import patched
from ..emulation.shared_loader import shared_botocore_loader
from . import buckets
from .bedrock_world import MINUTE, BedrockWorld, Timings
from .clock import VirtualClock
from .cloudformation_reads import local_cloudformation_client
from .engine import LocalStack, Outcome, Printer
from .lambda_service import LateRetries
from .response_endpoint import ResponseEndpoint
from .single_function import install_moto_compensations
from .status_reports import StatusReader, StatusReports
from .template import Environment, Template, TemplateError, load_template

ACCOUNT = "111122223333"
REGION = "us-east-1"


@dataclass
class StackArtifact:
    name: str  # its CloudFormation stack's
    template: Template
    # The file names of its asset manifests (the cdk:asset-manifest artifacts it depends on), in the assembly.
    asset_manifests: tuple[str, ...] = ()
    directory: Path = Path()  # the (nested) cloud assembly it is in: a Stage's stacks are in one of their own


class SynthesisFailed(RuntimeError):
    """The app command failed, or wrote no cloud assembly."""


def synthesize(
    app: str,
    outdir: Path,
    context: Mapping[str, Any] | None = None,
    *,
    printed: set[str] | None = None,
    label: str = "",
) -> Path:
    """Run a CDK app command as the CDK CLI does (CDK_OUTDIR, CDK_CONTEXT_JSON), without an AWS account, from the
    current directory: its project's context (project_context) with context over it. Its warnings and errors are
    printed, as cdk synth prints them, but for those already in printed (which gets the others); label ends each
    line."""
    merged = {**project_context(Path.cwd()), **(context or {})}
    env = dict(os.environ, CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(merged))
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    completed = subprocess.run(app, shell=True, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SynthesisFailed(f"{app} failed (exit status {completed.returncode}):\n{completed.stderr[-4000:]}")
    if not (outdir / "manifest.json").is_file():
        raise SynthesisFailed(f"{app} wrote no cloud assembly to CDK_OUTDIR: give a CDK app's command (--app)")
    found = synth_annotations(outdir)
    shown = set() if printed is None else printed
    for _level, line in found:
        if line not in shown:
            print(f"{line}{label}", file=sys.stderr)
            shown.add(line)
    errors = [line for level, line in found if level == "Error"]
    if errors:
        raise SynthesisFailed(f"{app}: found errors, as cdk synth does:\n" + "\n".join(errors))
    return outdir


# Annotations, as the CDK CLI prints them after a synth; an error fails it.
ANNOTATION_LEVELS = {"aws:cdk:warning": "Warning", "aws:cdk:error": "Error"}


def synth_annotations(assembly_dir: Path) -> list[tuple[str, str]]:
    """The warnings and errors of the assembly's stacks, as (level, "[Level at /path] message"), as cdk synth prints
    them (from each stack's metadata, in its manifest or the file it names)."""
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    found = []
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        metadata = dict(artifact.get("metadata", {}))
        if "additionalMetadataFile" in artifact:
            metadata.update(json.loads((assembly_dir / artifact["additionalMetadataFile"]).read_text()))
        for path, entries in metadata.items():
            for entry in entries:
                level = ANNOTATION_LEVELS.get(entry.get("type"))
                if level is not None:
                    found.append((level, f"[{level} at {path}] {entry.get('data')}"))
    return found


def project_context(directory: Path) -> dict[str, Any]:
    """The context the CDK CLI gives an app it runs from directory: cdk.context.json's (the lookups it saved), then
    cdk.json's context (feature flags among them) over it."""
    context: dict[str, Any] = {}
    for name, member in (("cdk.context.json", None), ("cdk.json", "context")):
        path = directory / name
        if not path.is_file():
            continue
        try:
            settings = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise SynthesisFailed(f"{path}: {error}") from error
        values = settings.get(member, {}) if member and isinstance(settings, dict) else settings
        if not isinstance(values, dict):
            raise SynthesisFailed(f"{path}: the context is not a JSON object")
        context.update(values)
    return context


def stacks_of(assembly_dir: Path) -> list[StackArtifact]:
    """The assembly's stacks, in the order of their dependencies, then those of its nested assemblies (each Stage's,
    as `cdk deploy '**'` deploys them; a stack never depends on another Stage's)."""
    placed = _stacks_in_environments(assembly_dir)
    names = [stack.name for stack, _ in placed]
    if shared := sorted({name for name in names if names.count(name) > 1}):
        environments = [environment for stack, environment in placed if stack.name in shared]
        if len(set(environments)) < len(environments) or any("unknown-" in place for place in environments):
            raise SharedStackNames(
                f"stacks share a name ({', '.join(shared)}) in one account and Region (or may: an environment-agnostic "
                "stack deploys where the CLI's credentials point): in AWS too they are one stack, each deploy "
                "replacing the other's template; give each a name of its own (stack_name=)"
            )
        raise SharedStackNames(
            f"stacks share a name ({', '.join(shared)}): AWS keeps them apart in their accounts or Regions, but the "
            f"rehearsal plays one account and Region ({ACCOUNT}, {REGION}), where they would be one stack; give "
            "each a name of its own (stack_name=) to rehearse them"
        )
    return [stack for stack, _ in placed]


def _stacks_in_environments(assembly_dir: Path) -> list[tuple[StackArtifact, str]]:
    """stacks_of's stacks, each with its environment (aws://account/region, unknown-account or unknown-region where
    it is environment-agnostic)."""
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
    stacks = []
    for name in order:
        text = (assembly_dir / artifacts[name]["properties"]["templateFile"]).read_bytes()
        manifests = tuple(
            str(artifacts[dependency]["properties"]["file"])
            for dependency in artifacts[name].get("dependencies", [])
            if artifacts.get(dependency, {}).get("type") == "cdk:asset-manifest"
        )
        # The size is the file's, as the CDK CLI uploads it. The stack's name is the artifact's unless it has another
        # (a Stage's stack: Prod-Models; one given stack_name=).
        stack_name = artifacts[name]["properties"].get("stackName", name)
        template = Template(json.loads(text), None, len(text), text.decode())
        environment = str(artifacts[name].get("environment", "aws://unknown-account/unknown-region"))
        stacks.append((StackArtifact(stack_name, template, manifests, assembly_dir), environment))
    for artifact in artifacts.values():
        if artifact["type"] == "cdk:cloud-assembly":
            stacks += _stacks_in_environments(assembly_dir / artifact["properties"]["directoryName"])
    return stacks


class SharedStackNames(ValueError):
    """Stacks of one name (of other accounts or Regions), which the rehearsal cannot keep apart."""


@dataclass
class LocalCloud:
    """A context manager: enter it, deploy assemblies, delete the stacks, read Bedrock's state."""

    timings: Timings = field(default_factory=Timings)
    write: Callable[[str], None] = print
    job_quota: int | None = None
    # (function ARN, payload) -> whether Lambda runs that invocation twice, as after a timeout.
    retry_first_user_invocation: Callable[[str, Mapping[str, Any]], bool] = lambda _arn, _payload: False
    # (function ARN, payload) -> the delays of Lambda's later retries of that asynchronous invocation (LateRetries).
    late_retries: LateRetries = lambda _arn, _payload: ()
    # Simulated minutes between the status tables a deploy prints of the stacks it deploys (None: none).
    status_every: float | None = None

    def __post_init__(self) -> None:
        self.clock = VirtualClock()
        self.printer = Printer(self.clock, self.write)
        self.stacks: dict[str, LocalStack] = {}
        self._deploying: list[str] = []  # the stacks whose deploy is under way
        # The deleted stacks that a stack of their name replaced: DescribeStacks still answers their ids, and Lambda
        # may still deliver their late requests, until the cloud closes.
        self._deleted_stacks: list[LocalStack] = []
        self._status: StatusReader | None = None
        self._exit = contextlib.ExitStack()

    def __enter__(self) -> LocalCloud:
        # This thread drives the rehearsal: time moves only while it waits for what it asked (or has left).
        self._exit.enter_context(self.clock.actor())
        patch = self._exit.enter_context(patched())
        self._exit.enter_context(shared_botocore_loader())
        for name, value in {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "MOTO_ACCOUNT_ID": ACCOUNT,
        }.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DATA_PATH"):
            patch.delenv(name)
        self._exit.enter_context(mock_aws())
        self.bedrock = BedrockStandIn(patch, region=REGION, account_id=ACCOUNT)
        self.bedrock.use_clock(self.clock.moment)  # on the time CloudFormation's events are stamped with
        if self.job_quota is not None:
            self.bedrock.limit_concurrent_jobs(self.job_quota)
        for handler in [*index.HANDLERS.values(), notifier]:
            patch.setattr(handler, "bedrock_client", self._bedrock_client)
        patch.setattr(notifier, "cloudformation_client", self._cloudformation_client)
        patch.setattr(index, "cloudformation_client", self._cloudformation_client)  # a rollback's Delete reads it
        # The single function's deadline (its total timeout) runs on the simulated clock, and so does crhelper's
        # timer of the function's own timeout (threading.Timer is all it uses of threading).
        patch.setattr(single_function_provider, "now", self.clock.now)
        patch.setattr(index, "now", self.clock.now)  # how long a rollback's polls wait to delete what its update made
        patch.setattr(single_function_provider, "sleep", self.clock.sleep)
        patch.setattr(provisioned_throughput, "now", self.clock.moment)  # as Bedrock's, on the simulated clock
        patch.setattr(resource_helper, "threading", SimpleNamespace(Timer=self.clock.timer))
        # crhelper sets the process's root and boto loggers' levels on each invocation: not this process's.
        patch.setattr(log_helper, "setup", lambda *_args, **_kwargs: None)
        install_moto_compensations(patch)
        self.responses = ResponseEndpoint(self.clock)
        self._exit.callback(self.responses.close)
        world = BedrockWorld(self.bedrock, self.clock, self.timings, self._publish, self.printer.line)
        if self.status_every is not None:
            self._status = StatusReader(self.bedrock, self.clock, self._cloudformation_client(), world.lock, REGION)
        self.world = self._exit.enter_context(world)
        return self

    def __exit__(self, *exc: Any) -> None:
        for stack in [*self.stacks.values(), *self._deleted_stacks]:
            stack.close()
        self._exit.__exit__(*exc)

    def deploy(self, assembly_dir: Path, stacks: Collection[str] | None = None) -> dict[str, Outcome]:
        """Deploy the assembly's stacks (or only those named), in the order of their dependencies."""
        artifacts = stacks_of(assembly_dir)
        unknown = sorted(set(stacks or ()) - {artifact.name for artifact in artifacts})
        if unknown:
            raise ValueError(f"{assembly_dir} has no stacks {unknown}")
        outcomes = {}
        with self._status_reports():
            for artifact in artifacts:
                if stacks is not None and artifact.name not in stacks:
                    continue
                if not artifact.template.resources:  # CloudFormation refuses a template without resources
                    emptied = self._without_resources(artifact.name)
                    if emptied is not None:
                        outcomes[artifact.name] = emptied
                    if emptied is None or emptied.succeeded:
                        continue
                    break
                refusal = self._publish_file_assets(artifact)
                if refusal is not None:
                    outcomes[artifact.name] = refusal
                    break
                stack = self._stack_to_deploy(artifact.name)
                # Its functions' code: assets are staged in the outermost assembly, a Stage's stacks' too.
                outcomes[artifact.name] = self._deploy_stack(stack, artifact.template, assembly_dir)
                if not outcomes[artifact.name].succeeded:
                    break
        return outcomes

    def _deploy_stack(self, stack: LocalStack | Outcome, template: Template, directory: Path) -> Outcome:
        if isinstance(stack, Outcome):  # what the CLI did before it (_stack_to_deploy) failed
            return stack
        self._deploying.append(stack.env.stack_name)
        try:
            return stack.deploy(template, directory)
        finally:
            self._deploying.remove(stack.env.stack_name)

    def _status_reports(self) -> contextlib.AbstractContextManager[object]:
        """While a deploy runs: the status tables of the stacks it is deploying (status_every), or nothing."""
        if self._status is None or self.status_every is None:
            return contextlib.nullcontext()
        every = self.status_every * MINUTE
        return StatusReports(self.clock, every, lambda: self._deploying, self._status.read, self.printer.line)

    def _publish_file_assets(self, artifact: StackArtifact) -> Outcome | None:
        """Publish the stack's file assets to moto's S3 (every stack is deployed in REGION), as `cdk deploy` does
        before it deploys the stack; None once they are, else the failed Outcome: the CLI stops before the stack."""
        try:
            with self.world.lock:  # as every in-process function's calls to moto hold it
                buckets.publish_file_assets(artifact.directory, artifact.asset_manifests, ACCOUNT, REGION)
        except (buckets.PublishingFailed, OSError) as error:
            reason = f"{artifact.name}: failed to publish its assets: {error}"
            self.printer.line(reason)
            existing = self.stacks.get(artifact.name)
            return Outcome("UPDATE" if existing is not None and existing.state else "CREATE", False, reason)
        return None

    def deploy_template(
        self, path: Path | str, stack_name: str, parameters: Mapping[str, Any] | None = None
    ) -> Outcome:
        """Create (or update) stack_name from a plain CloudFormation template (JSON or YAML), with these
        parameter values; it may import the exports of the stacks deployed before it. TemplateError: the
        template or its parameters are refused before the stack is touched, as CloudFormation refuses them."""
        template = load_template(path, parameters)
        stack = self._stack_to_deploy(stack_name)
        with self._status_reports():
            return self._deploy_stack(stack, template, Path(path).parent)

    def delete(
        self, stacks: Collection[str] | None = None, retain_resources: Mapping[str, Collection[str]] | None = None
    ) -> dict[str, Outcome]:
        """Delete the stacks (or those named), the last deployed first. As CloudFormation does, a stack
        whose export another stack imports is not deleted. retain_resources: by stack name, the logical ids its
        delete keeps (DeleteStack's RetainResources, for a stack whose delete failed: LocalStack.delete)."""
        outcomes = {}
        for name in reversed(list(self.stacks)):
            if stacks is not None and name not in stacks:
                continue
            stack = self.stacks[name]
            in_use = [(export, self._importer_of(export, name)) for export in stack.export_names()]
            in_use = [(export, importer) for export, importer in in_use if importer is not None]
            if in_use:
                export, importer = in_use[0]
                reason = f"Export {export} cannot be deleted as it is in use by {importer}"
                self.printer.event("DELETE_FAILED", "AWS::CloudFormation::Stack", name, reason)
                outcomes[name] = Outcome("DELETE", False, reason)
                continue
            outcomes[name] = stack.delete((retain_resources or {}).get(name, ()))
        return outcomes

    def _without_resources(self, name: str) -> Outcome | None:
        """What the CDK CLI does with a stack that has no resources: it deletes the stack of that name, or, when there
        is none, deploys nothing (None)."""
        stack = self.stacks.get(name)
        if stack is None or stack.status == "DELETE_COMPLETE":
            self.printer.line(f"{name}: stack has no resources, skipping deployment.")
            return None
        self.printer.line(f"{name}: stack has no resources, deleting existing stack.")
        return self.delete([name])[name]

    def _stack_to_deploy(self, name: str) -> LocalStack | Outcome:
        """The stack of that name; a new one, with a new stack id as CloudFormation gives it, when there is none or
        the last one was deleted. A stack whose create failed (ROLLBACK_COMPLETE, or ROLLBACK_FAILED with what its
        rollback could not delete) is deleted first, as the CDK CLI does; when that delete fails, its Outcome, with
        the CLI's message."""
        stack = self.stacks.get(name)
        if stack is not None and stack.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
            self.printer.line(f"{name} failed creation ({stack.status}): deleting it before creating it again")
            deleted = stack.delete()
            if not deleted.succeeded:
                deleted.reason = _delete_failed_message(name, deleted)
                self.printer.line(deleted.reason)
                return deleted
        if stack is not None and stack.status != "DELETE_COMPLETE":
            return stack
        if stack is not None:
            self._deleted_stacks.append(stack)
            del self.stacks[name]  # the new one is the last deployed, which a delete of every stack takes first
        return self._new_stack(name)

    def _new_stack(self, name: str) -> LocalStack:
        stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{uuid.uuid4()}"
        stack = LocalStack(
            Environment(
                ACCOUNT, REGION, name, stack_id, sum(old.env.stack_name == name for old in self._deleted_stacks)
            ),
            self.clock,
            self.printer,
            self.world.lock,
            retry_first_user_invocation=self.retry_first_user_invocation,
            late_retries=self.late_retries,
            responses=self.responses,
            owner_of_function=self._owner_of_function,
            import_value=lambda export: self._import_value(export, name),
            importer_of=lambda export: self._importer_of(export, name),
        )
        self.stacks[name] = stack
        return stack

    def _importer_of(self, export: str, exporter: str) -> str | None:
        """A stack other than exporter that imports the export (None: none does)."""
        return next((name for name, stack in self.stacks.items() if name != exporter and export in stack.imports), None)

    def _owner_of_function(self, function_arn: str) -> LocalStack | None:
        """Lambda: the stack whose function this is (function names are unique in an account and Region)."""
        return next((stack for stack in self.stacks.values() if stack.has_function(function_arn)), None)

    def _import_value(self, export: str, importer: str) -> Any:
        for name, stack in self.stacks.items():
            if name != importer and export in stack.export_names():
                return stack.export_value(export)
        raise TemplateError(f"No export named {export} found")

    def _publish(self, event: dict[str, Any]) -> None:
        for stack in self.stacks.values():
            stack.publish(event)

    def _bedrock_client(self) -> Any:
        """A handler's Bedrock client: the stand-in's, whose calls wake Bedrock's world when they return."""
        return self.world.watch(self.bedrock.client())

    def _cloudformation_client(self) -> Any:
        """The notifier's and the handler's CloudFormation client: its reads are answered from the local stacks, and
        from the ids of the deleted stacks that a stack of their name replaced (cloudformation_reads.py)."""
        return local_cloudformation_client(REGION, lambda: [*self.stacks.values(), *self._deleted_stacks])


def _delete_failed_message(name: str, deleted: Outcome) -> str:
    """The CDK CLI's error when a delete it waited for failed (waitForStackDelete): the status, and its reason."""
    return (
        f"The stack named {name} is in a failed state. You may need to delete it from the AWS console : "
        f"{deleted.status} ({deleted.reason})"
    )
