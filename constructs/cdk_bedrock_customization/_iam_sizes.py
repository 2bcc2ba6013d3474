"""IAM's policy size quotas, checked on a cloud assembly's templates at synth (the IAM user guide, "IAM and AWS STS
quotas": a role's inline policies together "cannot exceed 10,240 characters", a managed policy "6,144"; IAM does not
count white space). Only IAM checks them, at deploy: a provider's handler role grows with each stack that uses it and
each model or role named by ARN, a model's service role with its datasets' S3 URIs.

Sizes are lower bounds, so that only what surely fails is refused: characters (not UTF-8 bytes, not JSON escapes)
without any white space; a pseudo parameter as its shortest value (a stack id, a Region); any other value known only
at deploy (a parameter, another resource's attribute, an import) as nothing; what CloudFormation may leave out
(AWS::NoValue, an Fn::If, a resource with a Condition) as absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import _fn_sub

MAX_ROLE_POLICY_CHARACTERS = 10_240
MAX_MANAGED_POLICY_CHARACTERS = 6_144
# The shortest each pseudo parameter resolves to in any partition (botocore's partitions.json): a Region has at least
# 9 characters (us-east-1), a URL suffix 10 (aws-iso's c2s.ic.gov), a stack's id is
# arn:aws:cloudformation:<Region>:<account>:stack/<name>/<36-character id>.
_SHORTEST = {
    "AWS::Partition": "aws",
    "AWS::Region": "x" * 9,
    "AWS::AccountId": "x" * 12,
    "AWS::URLSuffix": "x" * 10,
    "AWS::StackName": "x",
    "AWS::StackId": "arn:aws:cloudformation:" + "x" * 9 + ":" + "x" * 12 + ":stack/x/" + "x" * 36,
}
ADVICE = (
    "grant one role less: a provider's handler role takes a policy of each stack that uses it (give some stacks a "
    "provider of their own: CustomizationProvider.of(stack)) and names each model or role given by ARN; a model's "
    "service role names each dataset's S3 URI (shorter URIs, fewer validation datasets, or role=)"
)


def policy_characters(document: Any) -> int:
    """The document's characters as IAM counts them, at least."""
    shortest = shortest_deployed(document)
    if isinstance(shortest, str):  # CloudFormation's Json type takes the document as JSON text too, given or joined
        try:
            shortest = json.loads(shortest)
        except ValueError:  # not JSON once what is known only at deploy is left out: nothing can be told
            return 0
    if shortest is _ABSENT or shortest is None:
        return 0
    return len("".join(json.dumps(shortest, ensure_ascii=False).split()))


# What CloudFormation leaves out, or may: AWS::NoValue, and an Fn::If (either branch may be AWS::NoValue).
_ABSENT = object()


def shortest_deployed(value: Any) -> Any:
    """A template value as CloudFormation deploys it, at its shortest: each pseudo parameter as its shortest value,
    anything else known only at deploy as nothing, what CloudFormation may leave out as _ABSENT."""
    if isinstance(value, list):
        return [item for item in map(shortest_deployed, value) if item is not _ABSENT]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            if not isinstance(argument, str):
                return ""
            return _ABSENT if argument == "AWS::NoValue" else _SHORTEST.get(argument, "")
        if key == "Fn::Sub":
            return _shortest_sub(argument)
        if key == "Fn::If":
            return _ABSENT
        if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list):
            parts = shortest_deployed(argument[1])
            if all(isinstance(part, str) for part in parts):
                return str(argument[0]).join(parts)
        if key.startswith("Fn::"):
            return ""
    shortest = {key: shortest_deployed(item) for key, item in value.items()}
    return {key: item for key, item in shortest.items() if item is not _ABSENT}


def _shortest_sub(argument: Any) -> str:
    """Fn::Sub's text at its shortest: a pseudo parameter as its shortest value, a variable of its own as its value's
    shortest text, ${!Literal} as ${Literal}, anything else known only at deploy as nothing."""
    listed = isinstance(argument, list) and len(argument) == 2
    text, variables = (argument[0], argument[1]) if listed else (argument, {})
    if not isinstance(text, str) or not isinstance(variables, dict):
        return ""

    def value(found: re.Match[str]) -> str:
        literal, name = _fn_sub.read(found)
        if literal:
            return "${" + name + "}"
        if name in variables:
            shortest = shortest_deployed(variables[name])
            return shortest if isinstance(shortest, str) else ""
        return _SHORTEST.get(name, "")

    return _fn_sub.REFERENCE.sub(value, text)


def iam_problems(templates: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """(template name, logical id, problem) for each role whose inline policies, wherever in these templates they
    are attached to it, and each managed policy, that IAM would refuse."""
    roles = _Roles(templates)
    attached: dict[tuple[str, str], list[int]] = {}
    for name, template in templates.items():
        for logical_id, resource in (template.get("Resources") or {}).items():
            if "Condition" in resource:  # it may not be made
                continue
            properties = resource.get("Properties") or {}
            if resource.get("Type") == "AWS::IAM::Role":
                documents = [policy.get("PolicyDocument") for policy in _listed(properties.get("Policies"))]
                attached.setdefault((name, logical_id), []).extend(map(policy_characters, documents))
            elif resource.get("Type") == "AWS::IAM::Policy":
                for entry in _listed(properties.get("Roles")):
                    held_by = roles.of(entry, name)
                    if held_by is not None:
                        attached.setdefault(held_by, []).append(policy_characters(properties.get("PolicyDocument")))
            elif resource.get("Type") == "AWS::IAM::ManagedPolicy":
                size = policy_characters(properties.get("PolicyDocument"))
                if size > MAX_MANAGED_POLICY_CHARACTERS:
                    problem = f"the managed policy takes at least {size:,} characters; IAM allows "
                    yield name, logical_id, problem + f"{MAX_MANAGED_POLICY_CHARACTERS:,}"
    for (name, logical_id), sizes in attached.items():
        role = _resource(templates, (name, logical_id))
        made = role.get("Type") == "AWS::IAM::Role" and "Condition" not in role
        if made and sum(sizes) > MAX_ROLE_POLICY_CHARACTERS:
            yield (
                name,
                logical_id,
                f"the role's {len(sizes)} inline policies take at least {sum(sizes):,} characters together; IAM "
                f"allows {MAX_ROLE_POLICY_CHARACTERS:,}",
            )


def _listed(value: Any) -> list[dict[str, Any]]:
    """A list property's items as given: none when the list is an intrinsic (an Fn::If may resolve to any list)."""
    return [item for item in value if isinstance(item, dict) and item] if isinstance(value, list) else []


def _resource(templates: Mapping[str, Mapping[str, Any]], held_by: tuple[str, str]) -> Mapping[str, Any]:
    name, logical_id = held_by
    return (templates[name].get("Resources") or {}).get(logical_id) or {}


class _Roles:
    """The role a policy's Roles entry names, wherever in the templates it is made."""

    def __init__(self, templates: Mapping[str, Mapping[str, Any]]) -> None:
        self._templates = templates
        self._exported = _exported_resources(templates)
        # Each parameter name: the templates whose AWS::CloudFormation::Stack resources pass it, and those resources.
        self._passed: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for name, template in templates.items():
            for resource in (template.get("Resources") or {}).values():
                parameters = (resource.get("Properties") or {}).get("Parameters")
                if resource.get("Type") == "AWS::CloudFormation::Stack" and isinstance(parameters, dict):
                    for parameter in parameters:
                        self._passed.setdefault(parameter, []).append((name, resource))

    def of(self, entry: Any, template_name: str) -> tuple[str, str] | None:
        """The role an entry names (its name, or CDK's name from its ARN, as Role.from_role_arn makes it); None when
        unknown (an Fn::If: it may name another, or none)."""
        arn = _arn_named(entry)
        if arn is None:
            return self._named(entry, template_name, "Ref", frozenset())
        held_by = self._named(arn, template_name, "Arn", frozenset())
        path = (_resource(self._templates, held_by).get("Properties") or {}).get("Path") if held_by else None
        # A role with a path: the name taken from its ARN is the path's first part, not its name.
        return held_by if path in (None, "/") else None

    def _named(
        self, value: Any, template_name: str, kind: str, seen: frozenset[tuple[str, str]]
    ) -> tuple[str, str] | None:
        """The (template name, logical id) of the resource whose name (kind "Ref") or ARN (kind "Arn") value is: a
        Ref or Fn::GetAtt of the template's, an import of another stack's export, or a nested stack's parameter."""
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((function, argument),) = value.items()
        if function == "Fn::ImportValue":
            return self._exported.get(argument) if isinstance(argument, str) else None
        resources = self._templates[template_name].get("Resources") or {}
        if function == "Fn::GetAtt" and kind == "Arn":
            names = argument.split(".", 1) if isinstance(argument, str) else argument
            arn_of = isinstance(names, list) and names[1:] == ["Arn"] and isinstance(names[0], str)
            return (template_name, names[0]) if arn_of and names[0] in resources else None
        if function != "Ref" or not isinstance(argument, str):
            return None
        if argument in resources:
            return (template_name, argument) if kind == "Ref" else None
        return self._passed_in(template_name, argument, kind, seen)

    def _passed_in(
        self, template_name: str, parameter: str, kind: str, seen: frozenset[tuple[str, str]]
    ) -> tuple[str, str] | None:
        """What a nested stack's parameter names, when each AWS::CloudFormation::Stack passing a parameter of that
        name names the same: one without a Default, which the stack that makes the nested stack must pass."""
        declared = (self._templates[template_name].get("Parameters") or {}).get(parameter)
        nested = template_name.endswith(".nested.template.json") and (template_name, parameter) not in seen
        if not nested or not isinstance(declared, dict) or "Default" in declared:
            return None
        seen |= {(template_name, parameter)}
        passed = self._passed.get(parameter, [])
        if any("Condition" in stack for _, stack in passed):  # the nested stack it makes may not be made
            return None
        named = {self._named(stack["Properties"]["Parameters"][parameter], name, kind, seen) for name, stack in passed}
        return named.pop() if len(named) == 1 else None


def _arn_named(entry: Any) -> Any:
    """X when the entry is CDK's name from an ARN X (Arn.extractResourceName): Fn::Select 1 of Fn::Split "/" of
    Fn::Select 5 of Fn::Split ":" of X; None otherwise."""
    for index, delimiter in ((1, "/"), (5, ":")):
        selected = entry.get("Fn::Select") if isinstance(entry, dict) and len(entry) == 1 else None
        if not (isinstance(selected, list) and len(selected) == 2 and str(selected[0]) == str(index)):
            return None
        split = selected[1].get("Fn::Split") if isinstance(selected[1], dict) and len(selected[1]) == 1 else None
        if not (isinstance(split, list) and len(split) == 2 and split[0] == delimiter):
            return None
        entry = split[1]
    return entry


def _exported_resources(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """Each export's name: the template and logical id of the resource whose Ref or attribute it exports."""
    exported = {}
    for name, template in templates.items():
        for output in (template.get("Outputs") or {}).values():
            export_name = (output.get("Export") or {}).get("Name")
            value = output.get("Value")
            if not isinstance(export_name, str) or not isinstance(value, dict):
                continue
            target = value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0]
            if isinstance(target, str):
                exported[export_name] = (name, target)
    return exported
