"""A synthesized template, as CloudFormation reads it: dependencies, intrinsic functions and parameters.

Only what CDK templates of this library use is supported (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select,
Fn::Split, Fn::If with simple conditions); anything else is an error that names it, not a silent guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

NO_VALUE = object()  # AWS::NoValue: the property is removed
_SUB_REFERENCE = re.compile(r"\$\{([^}!][^}]*)\}")


class UnsupportedTemplate(ValueError):
    pass


@dataclass(frozen=True)
class Environment:
    """Where the stack is deployed (the pseudo parameters)."""

    account: str
    region: str
    stack_name: str
    stack_id: str

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise UnsupportedTemplate(f"Ref {name}: pseudo parameter not emulated")
        return values[name]


class Template:
    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body
        self.resources: dict[str, dict[str, Any]] = dict(body.get("Resources", {}))
        self.outputs: dict[str, dict[str, Any]] = dict(body.get("Outputs", {}))
        self.parameters: dict[str, dict[str, Any]] = dict(body.get("Parameters", {}))
        self.conditions: dict[str, Any] = dict(body.get("Conditions", {}))

    def dependencies(self, logical_id: str) -> set[str]:
        """The resources logical_id waits for: DependsOn, and every Ref, Fn::GetAtt and Fn::Sub reference."""
        resource = self.resources[logical_id]
        depends_on = resource.get("DependsOn", [])
        found = set([depends_on] if isinstance(depends_on, str) else depends_on)
        found |= {name for name in _references(resource.get("Properties", {})) if name in self.resources}
        return found

    def included(self, logical_id: str, env: Environment) -> bool:
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(condition, env)

    def condition(self, name: str, env: Environment) -> bool:
        resolver = Resolver(self, env, lambda _id: {}, lambda _id: "")
        return bool(resolver.resolve(self.conditions[name]))


def _references(value: Any) -> set[str]:
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if set(value) == {"Ref"}:
        return {value["Ref"]}
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        return {target[0] if isinstance(target, list) else target.split(".", 1)[0]}
    if set(value) == {"Fn::Sub"}:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        names = {match.split(".", 1)[0] for match in _SUB_REFERENCE.findall(text)} - set(variables)
        return names | _references(variables)
    return set().union(*(_references(item) for item in value.values())) if value else set()


class Resolver:
    """Resolves intrinsic functions against the deployed resources."""

    def __init__(
        self,
        template: Template,
        env: Environment,
        attributes_of: Callable[[str], Mapping[str, Any]],
        physical_id_of: Callable[[str], str],
    ) -> None:
        self.template = template
        self.env = env
        self.attributes_of = attributes_of
        self.physical_id_of = physical_id_of

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._ref(argument)
            if name.startswith("Fn::") or name == "Condition":
                return self._function(name, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.env.pseudo(name)
        if name in self.template.parameters:
            parameter = self.template.parameters[name]
            if "Default" not in parameter:
                raise UnsupportedTemplate(f"Ref {name}: a parameter without a default")
            return parameter["Default"]
        return self.physical_id_of(name)

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        attributes = self.attributes_of(logical_id)
        if attribute not in attributes:
            raise UnsupportedTemplate(f"Fn::GetAtt {logical_id}.{attribute}: the resource has no such attribute")
        return attributes[attribute]

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self._get_att(logical_id, self.resolve(attribute))
        if name == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(str(item) for item in self.resolve(items))
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Select":
            index, items = self.resolve(argument)
            return items[int(index)]
        if name == "Fn::Split":
            delimiter, text = self.resolve(argument)
            return str(text).split(delimiter)
        if name == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.template.condition(condition, self.env) else if_false)
        if name == "Fn::Equals":
            first, second = self.resolve(argument)
            return first == second
        if name == "Fn::Not":
            return not self.resolve(argument)[0]
        if name == "Fn::And":
            return all(self.resolve(argument))
        if name == "Fn::Or":
            return any(self.resolve(argument))
        if name == "Condition":
            return self.template.condition(argument, self.env)
        if name == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument), separators=(",", ":"))
        raise UnsupportedTemplate(f"{name}: intrinsic function not emulated")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {key: self.resolve(item) for key, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            reference = match.group(1)
            if reference in values:
                return str(values[reference])
            if "." in reference and not reference.startswith("AWS::"):
                logical_id, attribute = reference.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self._ref(reference))

        return _SUB_REFERENCE.sub(replace, text)
