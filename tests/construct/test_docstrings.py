"""Every export of the package documents itself: its docstring, each public method's parameters and each public
property, as aws-cdk-lib documents every prop (the API reference a user reads is these docstrings)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import cdk_bedrock_customization
import pytest

# Parameters that need no words: the object itself, and a construct's place in the tree (aws-cdk-lib's own).
SELF_EVIDENT = frozenset(("self", "cls", "scope", "construct_id"))
# Value classes made by their static methods: their constructors' parameters are the library's own fields.
MADE_BY_FACTORIES = frozenset(
    ("Completion", "Customization", "EvaluationDataset", "ModelSource", "RequestMetadataFilter", "S3Data")
)


def own_classes(cls: type) -> list[type]:
    """cls and the classes of this library it inherits from (not aws-cdk-lib's, documented there)."""
    return [base for base in cls.__mro__ if base.__module__.startswith("cdk_bedrock_customization")]


def public_members(cls: type) -> Iterator[tuple[type, str, Any]]:
    """Each public member cls has (its own, or a base class's of this library), with the class that defines it."""
    seen: set[str] = set()
    for base in own_classes(cls):
        for name, member in vars(base).items():
            public = not name.startswith("_") or (name == "__init__" and cls.__name__ not in MADE_BY_FACTORIES)
            if public and name not in seen:
                seen.add(name)
                yield base, name, member


def documents(docstring: str, parameter: str) -> bool:
    """A ``:param name:`` line, or the name in the prose (``name``, or as a word)."""
    return re.search(rf"(?<![\w.]){re.escape(parameter)}(?!\w)", docstring) is not None


def undocumented(cls: type) -> Iterator[str]:
    name = cls.__name__
    if not (cls.__doc__ or "").strip():
        yield f"{name}: no docstring"
    for owner, member_name, member in public_members(cls):
        if isinstance(member, property):
            if not (member.__doc__ or "").strip():
                yield f"{name}.{member_name}: a property without a docstring"
            continue
        function: Callable[..., Any] = getattr(member, "__func__", member)
        if not inspect.isfunction(function):
            continue
        # A constructor's parameters may be documented with its class, as a dataclass's fields are.
        docstring = (function.__doc__ or "") + ((owner.__doc__ or "") if member_name == "__init__" else "")
        if member_name != "__init__" and not docstring.strip():
            yield f"{name}.{member_name}: no docstring"
        for parameter in inspect.signature(function).parameters:
            if parameter not in SELF_EVIDENT and not documents(docstring, parameter):
                yield f"{name}.{member_name}: parameter {parameter} undocumented"


EXPORTS = [getattr(cdk_bedrock_customization, name) for name in cdk_bedrock_customization.__all__]


@pytest.mark.parametrize("export", [e for e in EXPORTS if inspect.isclass(e)], ids=lambda export: export.__name__)
def test_every_public_parameter_and_property_is_documented(export):
    assert list(undocumented(export)) == []


def test_the_check_finds_an_undocumented_parameter_and_property():
    class Undocumented:
        """A class."""

        def __init__(self, scope: Any, construct_id: str, *, size: int) -> None:
            """:param colour: not size"""

        @property
        def area(self) -> int:
            return 0

    Undocumented.__module__ = "cdk_bedrock_customization.example"
    assert list(undocumented(Undocumented)) == [
        "Undocumented.__init__: parameter size undocumented",
        "Undocumented.area: a property without a docstring",
    ]
