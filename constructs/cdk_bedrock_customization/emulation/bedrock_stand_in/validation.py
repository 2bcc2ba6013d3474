"""Bedrock's request validation, as the stand-in applies it to every emulated operation: required members,
enums, lengths, patterns and minimums from the service model, each refusal a ValidationException naming the
member in Bedrock's wording. botocore checks only some of this (required members, types, minimums), and only
when parameter validation is on.

Deliberately not contract.py's validator: the stand-in judges the handler's requests, so it must not share the
handler's own rules, or a mistake in them would pass unnoticed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape
from moto.bedrock.exceptions import BedrockClientError


class BedrockValidationException(BedrockClientError):
    """moto's own ValidationException replaces the message with a generic text; this one keeps it."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def refuse_invalid(request_shape: Shape, params: Mapping[str, Any]) -> None:
    """Raise the ValidationException Bedrock answers to a request that breaks its shape's rules."""
    problems = _problems(request_shape, params, "")
    if problems:
        plural = "s" if len(problems) > 1 else ""
        detected = f"{len(problems)} validation error{plural} detected"
        raise BedrockValidationException(f"{detected}: {'; '.join(problems)}")


def _problems(shape: Shape, value: Any, path: str) -> list[str]:
    """What Bedrock's validation says about value, the member at path."""
    if isinstance(shape, StructureShape):
        return _structure_problems(shape, value, path)
    if isinstance(shape, ListShape | MapShape):
        return _collection_problems(shape, value, path)
    if isinstance(shape, StringShape):
        return _string_problems(shape, value, path)
    if shape.type_name in ("integer", "long"):
        return _integer_problems(shape, value, path)
    return []


def _structure_problems(shape: StructureShape, value: Any, path: str) -> list[str]:
    if not isinstance(value, Mapping):
        return _broken(value, path, "be a structure")
    problems = [
        f"Value null at '{_member(path, name)}' failed to satisfy constraint: Member must not be null"
        for name in shape.required_members
        if value.get(name) is None
    ]
    for name, item in value.items():
        if name in shape.members and item is not None:
            problems += _problems(shape.members[name], item, _member(path, name))
    if shape.is_tagged_union and len(value) != 1:
        problems += _broken(value, path, f"have exactly one of {sorted(shape.members)} set")
    return problems


def _collection_problems(shape: ListShape | MapShape, value: Any, path: str) -> list[str]:
    if not isinstance(value, list | Mapping):
        return _broken(value, path, f"be a {shape.type_name}")
    problems = _length_problems(shape, value, path)
    if isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value):
            problems += _problems(shape.member, item, f"{path}.{index + 1}.member")
    elif isinstance(shape, MapShape) and isinstance(value, Mapping):
        for key, item in value.items():
            problems += _problems(shape.key, key, f"{path}.key") + _problems(shape.value, item, f"{path}.{key}")
    return problems


# Values Bedrock accepts that the service model's enum lacks: the user guide's model-as-judge evaluation requests
# ("Use built-in metrics", model-evaluation-judge-create) send "taskType": "General".
_ACCEPTED_BEYOND_ENUM: dict[str, tuple[str, ...]] = {"EvaluationTaskType": ("General",)}


def _string_problems(shape: StringShape, value: Any, path: str) -> list[str]:
    if not isinstance(value, str):
        return _broken(value, path, "be a string")
    if shape.enum:
        accepted = [*shape.enum, *_ACCEPTED_BEYOND_ENUM.get(shape.name, ())]
        return [] if value in accepted else _broken(value, path, f"satisfy enum value set: [{', '.join(shape.enum)}]")
    problems = _length_problems(shape, value, path)
    pattern = shape.metadata.get("pattern")
    if pattern is not None and not _compiled(pattern).fullmatch(value):
        problems += _broken(value, path, f"satisfy regular expression pattern: {pattern}")
    return problems


def _integer_problems(shape: Shape, value: Any, path: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if isinstance(value, bool) or not isinstance(value, int):
        return _broken(value, path, "be an integer")
    if low is not None and value < low:
        return _broken(value, path, f"have value greater than or equal to {low}")
    if high is not None and value > high:
        return _broken(value, path, f"have value less than or equal to {high}")
    return []


def _length_problems(shape: Shape, value: Any, path: str) -> list[str]:
    """The length rules of a string, a list or a map."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    problems = []
    if low is not None and len(value) < low:
        problems += _broken(value, path, f"have length greater than or equal to {low}")
    if high is not None and len(value) > high:
        problems += _broken(value, path, f"have length less than or equal to {high}")
    return problems


def _broken(value: Any, path: str, rule: str) -> list[str]:
    return [f"Value '{value}' at '{path}' failed to satisfy constraint: Member must {rule}"]


def _member(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
