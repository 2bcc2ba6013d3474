"""A template, as CloudFormation reads it: dependencies, intrinsic functions, parameters and exports.

Only what CDK templates of this library and plain templates of its resources use is supported (Ref,
Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If with simple conditions, Fn::ImportValue,
parameters of type String, Number and lists); anything else is an error that names it, not a silent guess.
Plain templates are read from JSON or YAML, short-form tags (!Ref, !Sub...) included (load_template).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _fn_sub

NO_VALUE = object()  # AWS::NoValue: the property is removed
_LIST_PARAMETER = re.compile(r"CommaDelimitedList|List<.+>")


class UnsupportedTemplate(ValueError):
    pass


class TemplateError(ValueError):
    """What CloudFormation refuses in a template or its use: a parameter without a value, an export that
    does not exist. The message is CloudFormation's."""


def load_template(path: Path | str, parameters: Mapping[str, Any] | None = None) -> Template:
    """A plain template from a JSON or YAML file (short-form tags read as cfn-lint reads them), with
    parameter values given as CloudFormation takes them (``--parameters``)."""
    from cfnlint.decode import decode  # type: ignore[import-untyped]  # loaded only for a plain template

    body, problems = decode(str(path))
    if body is None or problems:
        raise TemplateError(f"{path}: " + "; ".join(str(problem) for problem in problems or ["not a template"]))
    # cfn-lint's nodes (dicts and strings that know their line) become plain JSON values.
    # The file's bytes, as uploaded: no newline translation (a CRLF file keeps its size), UTF-8 whatever the locale.
    raw = Path(path).read_bytes()
    template = Template(json.loads(json.dumps(body)), parameters, size_bytes=len(raw), text=raw.decode("utf-8-sig"))
    missing = [name for name, parameter in template.parameters.items() if "Default" not in parameter]
    missing = [name for name in missing if name not in template.parameter_values]
    if missing:  # CloudFormation refuses the stack operation before it starts
        raise TemplateError(f"Parameters: [{', '.join(missing)}] must have values")
    return template


@dataclass(frozen=True)
class Environment:
    """Where the stack is deployed (the pseudo parameters)."""

    account: str
    region: str
    stack_name: str
    stack_id: str
    # How many stacks of this name were made before this one: CloudFormation draws generated names anew for each.
    incarnation: int = 0

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
    """A template and the parameter values it is deployed with (given ones; the others take their Default).
    size_bytes: the size of the template as uploaded (its file); by default, the body as the CDK writes it. text: the
    template as uploaded, which GetTemplate answers (a YAML one as YAML); by default, the body as JSON."""

    def __init__(
        self,
        body: Mapping[str, Any],
        parameters: Mapping[str, Any] | None = None,
        size_bytes: int | None = None,
        text: str | None = None,
    ) -> None:
        self.body = body
        self.text = json.dumps(body) if text is None else text
        self.size_bytes = len(json.dumps(body, indent=1).encode()) if size_bytes is None else size_bytes
        self.resources: dict[str, dict[str, Any]] = dict(body.get("Resources", {}))
        self.outputs: dict[str, dict[str, Any]] = dict(body.get("Outputs", {}))
        self.parameters: dict[str, dict[str, Any]] = dict(body.get("Parameters", {}))
        self.conditions: dict[str, Any] = dict(body.get("Conditions", {}))
        self.parameter_values: dict[str, str] = {}
        for name, value in (parameters or {}).items():
            if name not in self.parameters:
                raise TemplateError(f"Parameters: [{name}] do not exist in the template")
            self.parameter_values[name] = _as_parameter_text(value)
        for name, parameter in self.parameters.items():
            if name in self.parameter_values:
                _check_parameter(name, parameter, self.parameter_values[name])

    def parameter(self, name: str) -> Any:
        """Ref of a parameter: its value (a list for list types), given or its Default."""
        parameter = self.parameters[name]
        if name in self.parameter_values:
            value = self.parameter_values[name]
        elif "Default" in parameter:
            value = _as_parameter_text(parameter["Default"])
            _check_parameter(name, parameter, value)
        else:
            raise TemplateError(f"Parameters: [{name}] must have values")
        if _LIST_PARAMETER.fullmatch(str(parameter.get("Type", "String"))):
            return [item.strip() for item in value.split(",")] if value else []
        return value

    def exports(self, resolver: Resolver) -> dict[str, Any]:
        """The exported outputs of the deployed template: export name -> value."""
        return {
            export: resolver.resolve(self.outputs[name]["Value"])
            for name, export in self.export_names(resolver).items()
        }

    def export_value(self, resolver: Resolver, export: str) -> Any:
        """The value of the output exported under this name, no other read (KeyError: none is)."""
        for name, exported in self.export_names(resolver).items():
            if exported == export:
                return resolver.resolve(self.outputs[name]["Value"])
        raise KeyError(export)

    def export_names(self, resolver: Resolver) -> dict[str, str]:
        """The exported outputs' names: output name -> export name (their values need not be resolvable: a stack whose
        delete failed may have lost the resource one reads)."""
        return {
            name: str(resolver.resolve(output["Export"]["Name"]))
            for name, output in self.outputs.items()
            if "Export" in output and self.output_included(name, resolver.env)
        }

    def output_included(self, name: str, env: Environment) -> bool:
        condition = self.outputs[name].get("Condition")
        return condition is None or self.condition(condition, env)

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


def _as_parameter_text(value: Any) -> str:
    """A parameter value as CloudFormation holds it: text (YAML may have given a number, a boolean or a list)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_as_parameter_text(item) for item in value)
    return str(value)


def _check_parameter(name: str, parameter: Mapping[str, Any], value: str) -> None:
    allowed = parameter.get("AllowedValues")
    if allowed is not None and value not in [_as_parameter_text(item) for item in allowed]:
        raise TemplateError(f"Parameter '{name}' must be one of AllowedValues")
    pattern = parameter.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), value):
        raise TemplateError(f"Parameter '{name}' must match pattern {pattern}")
    if parameter.get("Type") == "List<Number>" and value:  # the user guide: CloudFormation validates each as a number
        for item in value.split(","):
            _number(name, item.strip(), "a list of numbers")
    if parameter.get("Type") == "Number":
        number = _number(name, value, "a number")
        if "MinValue" in parameter and number < float(parameter["MinValue"]):
            raise TemplateError(f"Parameter '{name}' must be a number not less than {parameter['MinValue']}")
        if "MaxValue" in parameter and number > float(parameter["MaxValue"]):
            raise TemplateError(f"Parameter '{name}' must be a number not greater than {parameter['MaxValue']}")
    if parameter.get("Type", "String") == "String":
        if "MinLength" in parameter and len(value) < int(parameter["MinLength"]):
            raise TemplateError(f"Parameter '{name}' must contain at least {parameter['MinLength']} characters")
        if "MaxLength" in parameter and len(value) > int(parameter["MaxLength"]):
            raise TemplateError(f"Parameter '{name}' must contain at most {parameter['MaxLength']} characters")


def _number(name: str, text: str, expected: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise TemplateError(f"Parameter '{name}' must be {expected}") from None


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
        names = _fn_sub.referenced_names(text) - set(variables)
        return names | _references(variables)
    return set().union(*(_references(item) for item in value.values())) if value else set()


@dataclass(frozen=True)
class Resolver:
    """Resolves intrinsic functions against the deployed resources: attributes_of(logical id) for Fn::GetAtt,
    physical_id_of(logical id) for Ref, import_value(export name) for Fn::ImportValue (None: no other stacks)."""

    template: Template
    env: Environment
    attributes_of: Callable[[str], Mapping[str, Any]]
    physical_id_of: Callable[[str], str]
    import_value: Callable[[str], Any] | None = None

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
            return self.template.parameter(name)
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
        if name == "Fn::ImportValue":
            if self.import_value is None:
                raise UnsupportedTemplate("Fn::ImportValue: no other stacks to import from")
            return self.import_value(str(self.resolve(argument)))
        raise UnsupportedTemplate(f"{name}: intrinsic function not emulated")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {key: self.resolve(item) for key, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            literal, reference = _fn_sub.read(match)
            if literal:
                return "${" + reference + "}"
            if reference in values:
                return str(values[reference])
            if "." in reference and not reference.startswith("AWS::"):
                logical_id, attribute = reference.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self._ref(reference))

        return _fn_sub.REFERENCE.sub(replace, text)
