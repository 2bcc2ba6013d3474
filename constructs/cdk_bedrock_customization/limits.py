"""CloudFormation's and its services' limits that only AWS checks (DESIGN.md, fact 11), checked at synth.

A stack that would pass one fails ``cdk synth`` with what to do, instead of failing its deployment in AWS.
The resource count is checked before synthesis (aws-cdk-lib's own check at 500 says nothing of what to do);
the rest on the synthesized template, by a validation plugin of the stack. The plugin also checks this library's
resources as the template carries them, as the handler will: a value that was a token when its construct checked it
(a Lazy, which resolves at synth) or that an escape hatch wrote (add_property_override) is checked there.
"""

from __future__ import annotations

import functools
import json
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from bedrock_custom_resource import contract
from bedrock_single_function import polling_input
from bedrock_single_function.polling_input import LONGEST_ARN, MAX_RULE_NAME_CHARACTERS, MAX_TARGET_INPUT_CHARACTERS

import constructs
from constructs import Construct

from . import _fn_sub, _iam_sizes
from ._cycles import cycle_of
from ._tokens import DYNAMIC_REFERENCE

MAX_RESOURCES = 500
# CloudFormation takes a template of at most 1 MB from S3 (the CDK uploads every template it deploys).
MAX_TEMPLATE_BYTES = 1_000_000
# Lambda: "4 KB" for all of a function's environment variables. Counted here as their JSON map, which is more
# than the keys and values alone: the check errs on the side of failing at synth.
MAX_ENVIRONMENT_BYTES = 4096
MAX_FUNCTION_NAME_CHARACTERS = 64
# A single-function provider's request carries a presigned ResponseURL: about 1,500 characters besides the stack name
# and logical id it repeats.
RESPONSE_URL_CHARACTERS = 1500
_REQUEST_ID = "0" * 36
MAX_STACK_NAME_CHARACTERS = 128  # CloudFormation's; a stack whose name is a token counts as that long
SPLIT_ADVICE = (
    "split the models between stacks (each stack gets its own provider), or share one service role between "
    "models (role=...)"
)


def check_resource_count(stack: cdk.Stack) -> list[str]:
    """Pre-synthesis: the stack's resources against CloudFormation's 500 per template: a nested stack's are in its
    own template (the parent holds one AWS::CloudFormation::Stack for it)."""
    resources = [construct for construct in stack.node.find_all() if isinstance(construct, cdk.CfnResource)]
    if len(resources) <= MAX_RESOURCES:  # its own are fewer still: no round trip per resource to find its stack
        return []
    count = sum(1 for resource in resources if cdk.Stack.of(resource) is stack)
    if count <= MAX_RESOURCES:
        return []
    return [
        f"{stack.stack_name} has {count} resources; CloudFormation allows {MAX_RESOURCES} per stack: {SPLIT_ADVICE}"
    ]


def template_problems(
    template: Mapping[str, Any],
    polled_types: frozenset[str] = frozenset(),
    size: int | None = None,
    stack_name: str = "s" * MAX_STACK_NAME_CHARACTERS,
) -> list[tuple[str, str, str]]:
    """What a synthesized template breaks of fact 11's limits, as (logical id or "", problem, what to do).

    polled_types: the custom resource types that a single-function provider polls through EventBridge targets
    that carry their requests. size: the template file's bytes, as uploaded (default: its compact JSON).
    stack_name: the stack's (default: one as long as CloudFormation allows)."""
    problems = []
    if size is None:
        size = len(json.dumps(template, separators=(",", ":")).encode())
    if size > MAX_TEMPLATE_BYTES:
        problems.append(
            ("", f"the template has {size:,} bytes; CloudFormation takes at most {MAX_TEMPLATE_BYTES:,}", SPLIT_ADVICE)
        )
    for logical_id, resource in (template.get("Resources") or {}).items():
        problems += [(logical_id, *problem) for problem in _resource_problems(resource, polled_types)]
        if resource.get("Type") in polled_types:
            problems += [(logical_id, *problem) for problem in _polling_problems(resource, logical_id, stack_name)]
    cycle = dependency_cycle(template.get("Resources") or {})
    if cycle:
        problems.append(
            (
                cycle[0],
                f"circular dependency: {' -> '.join(cycle)}, which CloudFormation refuses",
                "if a model waits (node.add_dependency) for one declared after it: the stack's jobs start in the "
                "order they are declared (at most max_concurrent_jobs at once), so declare first the one to train "
                "first",
            )
        )
    return problems


def dependency_cycle(resources: Mapping[str, Any]) -> list[str]:
    """A cycle of the resources' dependencies (DependsOn, Ref, Fn::GetAtt, Fn::Sub's names), as the logical ids on
    it, the first again at the end; [] when there is none. Depth first, in the template's order."""
    return cycle_of(
        {logical_id: sorted(_dependencies(resource, resources)) for logical_id, resource in resources.items()}
    )


def _dependencies(resource: Mapping[str, Any], resources: Mapping[str, Any]) -> set[str]:
    depends_on = resource.get("DependsOn") or []
    found = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    pending: list[Any] = [resource.get("Properties")]
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "Ref" and isinstance(item, str):
                    found.add(item)
                elif key == "Fn::GetAtt" and isinstance(item, list) and item and isinstance(item[0], str):
                    found.add(item[0])
                elif key == "Fn::GetAtt" and isinstance(item, str):
                    found.add(item.split(".")[0])
                elif key == "Fn::Sub":
                    text = item[0] if isinstance(item, list) and item else item
                    variables = item[1] if isinstance(item, list) and len(item) > 1 else {}
                    if isinstance(text, str):
                        names = _fn_sub.referenced_names(text)
                        # A name its own variables define is that variable, not a resource (the Fn::Sub page).
                        found.update(names - set(variables if isinstance(variables, dict) else ()))
                    pending.append(item)
                else:
                    pending.append(item)
    return {name for name in found if name in resources}


def _polling_problems(resource: Mapping[str, Any], logical_id: str, stack_name: str) -> Iterator[tuple[str, str]]:
    length = polling_input_length(resource, logical_id, stack_name)
    if length > MAX_TARGET_INPUT_CHARACTERS:
        yield (
            f"its properties would make a polling request of about {length:,} characters; EventBridge allows "
            f"{MAX_TARGET_INPUT_CHARACTERS:,} in the single-function provider's polling target",
            "shorten the properties (fewer or shorter tags) or the logical id, or use the Provider framework",
        )


def polling_input_length(resource: Mapping[str, Any], logical_id: str, stack_name: str) -> int:
    """The characters of the single-function provider's polling target Input for this resource, at least: the
    request's event as crhelper writes it (json.dumps), its ids and ARNs at their longest, without
    OldResourceProperties (the adapter drops them); an intrinsic counts as its JSON (see _size)."""
    properties = {key: value for key, value in (resource.get("Properties") or {}).items() if key != "ServiceToken"}
    event = {
        "RequestType": "Update",
        "ServiceToken": LONGEST_ARN,  # the function's
        "ResponseURL": "u" * RESPONSE_URL_CHARACTERS + stack_name + logical_id,
        "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{stack_name}/{_REQUEST_ID}",
        "RequestId": _REQUEST_ID,
        "LogicalResourceId": logical_id,
        "ResourceType": resource.get("Type", ""),
        "ResourceProperties": {"ServiceToken": LONGEST_ARN, **properties},
    }
    return polling_input.polling_input_length(event)


def _resource_problems(resource: Mapping[str, Any], polled_types: frozenset[str]) -> Iterator[tuple[str, str]]:
    resource_type = resource.get("Type", "")
    properties = resource.get("Properties") or {}
    if resource_type == "AWS::Lambda::Function":
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        size = _size(_deployed_values(variables)) if variables else 0
        if size > MAX_ENVIRONMENT_BYTES:
            yield (
                f"its environment variables take at least {size:,} bytes; Lambda allows {MAX_ENVIRONMENT_BYTES:,} "
                "in all",
                "keep per-model settings out of function environments",
            )
        yield from _name_problem(properties.get("FunctionName"), "FunctionName", MAX_FUNCTION_NAME_CHARACTERS)
    elif resource_type == "AWS::Events::Rule":
        yield from _name_problem(properties.get("Name"), "Name", MAX_RULE_NAME_CHARACTERS)
        for target in properties.get("Targets") or []:
            length = _characters(_deployed(target.get("Input", ""), _characters))
            if length > MAX_TARGET_INPUT_CHARACTERS:
                yield (
                    f"target {target.get('Id')}'s Input has at least {length:,} characters; EventBridge allows "
                    f"{MAX_TARGET_INPUT_CHARACTERS:,}",
                    "shorten the input",
                )
    elif resource_type in contract.CONTRACTS and not _is_intrinsic(properties) and not _holds_a_condition(properties):
        yield from _contract_problems(resource_type, properties)


def _contract_problems(resource_type: str, properties: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    given = {name: value for name, value in properties.items() if name != "ServiceToken"}
    sent = contract.as_cloudformation_sends(given)  # the handler's request: every scalar a string
    try:
        contract.create_request(resource_type, sent, is_unresolved=_known_only_at_deploy)
    except contract.InvalidProperties as error:
        yield (
            f"the handler would refuse it at deploy: {error}",
            "give a value Bedrock takes (here a value resolved at synth, such as a Lazy, or a property override)",
        )


def _known_only_at_deploy(value: Any) -> bool:
    """An intrinsic function, or a string with a dynamic reference that CloudFormation resolves before it sends it."""
    return _is_intrinsic(value) or (isinstance(value, str) and DYNAMIC_REFERENCE in value)


def _holds_a_condition(value: Any) -> bool:
    """Whether an Fn::If is in value: its AWS::NoValue branch removes the member or item it is, so what the handler
    gets (how many tags, which member of a union) is known only at deploy."""
    if isinstance(value, dict):
        return "Fn::If" in value or any(_holds_a_condition(item) for item in value.values())
    return isinstance(value, list) and any(_holds_a_condition(item) for item in value)


def _is_intrinsic(value: Any) -> bool:
    """Whether a template value is known only at deploy: a Ref or an Fn:: function."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))
    )


def _name_problem(name: Any, member: str, limit: int) -> Iterator[tuple[str, str]]:
    if isinstance(name, str) and len(name) > limit:
        yield f"{member} {name!r} has {len(name)} characters; AWS allows {limit}", "choose a shorter name"


def _deployed_values(variables: Any) -> Any:
    """Environment variables, each counted as _deployed does (an intrinsic map is left as it is)."""
    if not isinstance(variables, dict):
        return variables
    return {key: _deployed(value, _size) for key, value in variables.items()}


def _deployed(value: Any, measure: Callable[[Any], int]) -> Any:
    """A template value as counted once deployed: a literal as itself; an intrinsic as its shortest deployed text
    when that measures more (a pseudo parameter: a stack id written as a Ref deploys as about 90 characters), else
    as itself (see _size)."""
    if isinstance(value, str):
        return value
    shortest = _iam_sizes.shortest_deployed(value)
    return shortest if isinstance(shortest, str) and measure(shortest) > measure(value) else value


def _characters(value: Any) -> int:
    """A target input's characters once deployed, at least (botocore's TargetInput: a string of at most 8192, a
    length in characters, not UTF-8 bytes): a literal's own, an intrinsic's as its JSON, its characters unescaped."""
    if isinstance(value, str):
        return len(value)
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def _size(value: Any) -> int:
    """A value's size once deployed, at least: a literal string's own, an intrinsic's as its JSON (the value
    it resolves to is unknown at synth, and is usually longer)."""
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, separators=(",", ":")).encode())


@jsii.implements(cdk.IPolicyValidationPlugin)
class TemplateLimits:
    """A validation plugin that checks one stack's synthesized template (see template_problems)."""

    def __init__(self, stack: cdk.Stack, polled_types: frozenset[str]) -> None:
        self._template_file = stack.template_file
        self._app = stack.node.root
        self._polled_types = polled_types
        name = stack.stack_name
        self._stack_name = "s" * MAX_STACK_NAME_CHARACTERS if cdk.Token.is_unresolved(name) else name

    @property
    def name(self) -> str:
        return "cdk-bedrock-customization limits"

    @property
    def version(self) -> str:
        return "1.0.0"

    @property
    def rule_ids(self) -> list[str]:
        return ["StackLimits"]

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        violations = []
        paths = [Path(path) for path in context.template_paths]
        mine = [path for path in paths if path.name == self._template_file]
        if not mine and paths:  # a nested stack's template is not among them, but beside them in the cloud assembly
            mine = [path for path in [paths[0].parent / self._template_file] if path.is_file()]
        # Nested stacks' templates too: their policies may be attached to a parent's role (a provider's handler role).
        # This app's, by name: the folder may keep those of an earlier synth (a nested stack renamed since).
        folders = {path.parent for path in paths}
        nested = {folder / name for folder in folders for name in _NESTED_TEMPLATES.get(self._app, ())}
        nested = {path for path in nested if path.is_file()}
        assembly = tuple(sorted((str(path), path.stat().st_mtime_ns) for path in {*paths, *mine, *nested}))
        for path in mine:
            text = path.read_bytes()
            problems = template_problems(json.loads(text), self._polled_types, len(text), self._stack_name)
            # A role's policies may be in other stacks' templates (a provider's handler role): reported in its own.
            problems += [
                (logical_id, problem, _iam_sizes.ADVICE)
                for name, logical_id, problem in _iam_problems(assembly)
                if name == path.name
            ]
            for logical_id, problem, fix in problems:
                violations.append(
                    cdk.PolicyViolation(
                        rule_name="StackLimits",
                        description=f"{logical_id or self._template_file}: {problem}",
                        fix=fix,
                        violating_resources=[
                            cdk.PolicyViolatingResource(
                                resource_logical_id=logical_id, template_path=str(path), locations=["."]
                            )
                        ],
                    )
                )
        return cdk.PolicyValidationPluginReport(success=not violations, violations=violations)


@functools.lru_cache(maxsize=4)
def _iam_problems(assembly: tuple[tuple[str, int], ...]) -> list[tuple[str, str, str]]:
    """IAM's size problems of the assembly's templates (paths and modification times): each stack's plugin asks."""
    templates = {Path(path).name: json.loads(Path(path).read_bytes()) for path, _ in assembly}
    return list(_iam_sizes.iam_problems(templates))


# Each app's nested stacks whose models use another stack's provider, by template file: their grants policies are on
# that provider's handler role, which the IAM size check counts with them (and with the nested stacks between).
_NESTED_TEMPLATES: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def count_nested_templates(stack: cdk.Stack) -> None:
    """Have the IAM size check read stack's template, and its nested parents', when it is a nested stack."""
    files = _NESTED_TEMPLATES.setdefault(stack.node.root, set())
    while stack.nested:
        files.add(stack.template_file)
        parent = stack.nested_stack_parent
        assert parent is not None  # a nested stack has one
        stack = parent


def check_limits(scope: Construct, polled_types: frozenset[str] = frozenset()) -> None:
    """Check scope's stack against fact 11's limits at synth: its resources before synthesis, its template
    after."""
    stack = cdk.Stack.of(scope)
    scope.node.add_validation(_ResourceCount(stack))
    cdk.Validations.of(stack).add_plugins(TemplateLimits(stack, polled_types))


@jsii.implements(constructs.IValidation)
class _ResourceCount:
    def __init__(self, stack: cdk.Stack) -> None:
        self._stack = stack

    def validate(self) -> list[str]:
        return check_resource_count(self._stack)
