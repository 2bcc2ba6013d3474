"""Limits that only AWS checks (DESIGN.md, fact 11), refused here as AWS refuses them.

- a stack: at most 500 resources, 200 outputs and 200 parameters, a Description of at most 1,024 bytes, and a
  template of at most 1 MB (1,000,000 bytes, passed through S3, as the CDK
  CLI passes every template of more than 51,200 bytes); CloudFormation refuses the stack operation before it
  starts (a ValidationError);
- a Lambda function's environment variables: 4 KB, measured as Lambda measures them, the variables as compact
  JSON ({"KEY":"value",...}: keys and values, quotes and separators), in UTF-8 bytes; its error shows the string
  it measured;
- an EventBridge rule: an EventPattern EventBridge accepts, a Name of at most 64 characters, and each target's
  Input of at most 8192 characters
  (the AWS::Events::Rule resource schema's maxLength; CloudFormation fails the resource's properties
  validation);
- a wait condition's Timeout: at most 12 hours;
- a DependsOn naming no resource, or a circular dependency between resources, refused before the stack operation
  starts.
The custom resource response's 4096 bytes are checked where the response arrives (engine).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from moto.events.exceptions import InvalidEventPatternException

from .._cycles import cycle_of
from .event_rules import event_pattern
from .template import Environment, Template

MAX_RESOURCES = 500
# The CloudFormation quotas page: outputs and parameters per template, and a template's Description.
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_DESCRIPTION_BYTES = 1024
# CloudFormation's refusal of a larger one: "Template may not exceed 1000000 bytes in size." (cfn-lint's E1002).
MAX_TEMPLATE_BYTES = 1_000_000
MAX_LAMBDA_ENVIRONMENT_BYTES = 4096
MAX_RULE_NAME_CHARACTERS = 64
MAX_TARGET_INPUT_CHARACTERS = 8192
MAX_EVENT_PATTERN_CHARACTERS = 4096  # botocore's events model: PutRule's EventPattern, max 4096
# AWS::CloudFormation::WaitCondition, Timeout: "The maximum time that can be specified for this property is 12 hours
# (43200 seconds)".
MAX_WAIT_CONDITION_SECONDS = 43200


def template_refusal(template: Template, env: Environment) -> str | None:
    """CloudFormation's ValidationError message for a template it refuses before the stack operation, or None. A
    DependsOn names a resource the template makes in env: not one whose Condition is false (cfn-lint's E3005)."""
    sections = (
        ("resources", template.resources, MAX_RESOURCES),
        ("outputs", template.outputs, MAX_OUTPUTS),
        ("parameters", template.parameters, MAX_PARAMETERS),
    )
    for section, declared, most in sections:
        if len(declared) > most:
            return (
                f"Template format error: Number of {section}, {len(declared)}, is greater than maximum allowed, {most}"
            )
    description = str(template.body.get("Description", ""))
    if len(description.encode()) > MAX_DESCRIPTION_BYTES:
        return f"Template format error: Description length is greater than {MAX_DESCRIPTION_BYTES} bytes"
    if template.size_bytes > MAX_TEMPLATE_BYTES:
        return f"Template may not exceed {MAX_TEMPLATE_BYTES} bytes in size ({template.size_bytes} bytes)"
    needs = {logical_id: sorted(template.dependencies(logical_id)) for logical_id in template.resources}
    made = {logical_id for logical_id in template.resources if template.included(logical_id, env)}
    unresolved = sorted(
        {name for logical_id in made for name in _depends_on(template.resources[logical_id]) if name not in made}
        | {name for named in needs.values() for name in named if name not in template.resources}
    )
    if unresolved:
        return (
            f"Template format error: Unresolved resource dependencies [{', '.join(unresolved)}] in the Resources "
            "block of the template"
        )
    cycle = cycle_of(needs)
    if cycle:
        return f"Circular dependency between resources: [{', '.join(sorted(set(cycle)))}]"
    return None


def _depends_on(resource: Mapping[str, Any]) -> list[str]:
    depends_on = resource.get("DependsOn") or []
    return [depends_on] if isinstance(depends_on, str) else list(depends_on)


def resource_refusal(logical_id: str, resource_type: str, properties: Mapping[str, Any]) -> str | None:
    """The stack event's reason for a resource whose create or update AWS refuses, or None."""
    if resource_type == "AWS::Lambda::Function":
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        measured = lambda_environment_string(variables)
        if len(measured.encode()) > MAX_LAMBDA_ENVIRONMENT_BYTES:
            return (
                'Resource handler returned message: "Lambda was unable to configure your environment variables '
                "because the environment variables you have provided exceeded the 4KB limit. String measured: "
                f'{measured}" (Service: Lambda, Status Code: 400)'
            )
    if resource_type == "AWS::CloudFormation::WaitCondition":
        timeout = str(properties.get("Timeout", ""))
        if timeout and not (timeout.isdigit() and 1 <= int(timeout) <= MAX_WAIT_CONDITION_SECONDS):
            return (
                f"Properties validation failed for resource {logical_id} with message: [#/Timeout: {timeout} is not "
                f"a number of seconds from 1 to {MAX_WAIT_CONDITION_SECONDS}]"
            )
    if resource_type == "AWS::Events::Rule":
        pattern = properties.get("EventPattern")
        if pattern:
            try:
                event_pattern(pattern)
            except InvalidEventPatternException as refused:
                return (
                    f'Resource handler returned message: "{refused.message}" (Service: EventBridge, Status Code: 400)'
                )
        problems = []
        if pattern:  # characters, as CloudFormation sends it: the JSON text, or the object written compactly
            text = (
                pattern if isinstance(pattern, str) else json.dumps(pattern, separators=(",", ":"), ensure_ascii=False)
            )
            if len(text) > MAX_EVENT_PATTERN_CHARACTERS:
                problems.append(
                    f"#/EventPattern: expected maxLength: {MAX_EVENT_PATTERN_CHARACTERS}, actual: {len(text)}"
                )
        name = properties.get("Name")
        if name is not None and len(str(name)) > MAX_RULE_NAME_CHARACTERS:
            problems.append(f"#/Name: expected maxLength: {MAX_RULE_NAME_CHARACTERS}, actual: {len(str(name))}")
        for index, target in enumerate(properties.get("Targets") or []):
            text = target.get("Input")
            length = len(str(text)) if text is not None else 0
            if length > MAX_TARGET_INPUT_CHARACTERS:
                problems.append(
                    f"#/Targets/{index}/Input: expected maxLength: {MAX_TARGET_INPUT_CHARACTERS}, actual: {length}"
                )
        if problems:
            return f"Properties validation failed for resource {logical_id} with message: [{', '.join(problems)}]"
    return None


def lambda_environment_string(variables: Mapping[str, Any]) -> str:
    """The string Lambda measures against its 4 KB: the variables as compact JSON, every value a string (as
    CloudFormation passes them)."""
    return json.dumps({str(key): _as_text(value) for key, value in variables.items()}, separators=(",", ":"))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
