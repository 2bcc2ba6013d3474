"""The type hints of a construct's parameters, checked at run time for the library's own types and collections.

A value of another type (an S3 URI where ``S3Data`` is expected, one ``S3Data`` where a list is, a string where a
``Mapping`` is) is a TypeError that names the parameter and shows the value, raised before the construct adds
anything to the tree, rather than an AttributeError from deep inside. The expected types are read from the
``__init__``'s own hints: a construct calls ``check_prop_types(ItsClass.__init__, locals())`` first thing.

What is checked, member by member of a hint's union: the classes of this package, ``Sequence[X]`` (a list or a
tuple, and each element against X when X is checked), ``Mapping`` (any mapping; its keys and values are left to
the contract), and, beside those, None and plain str, int, float and bool. A hint with any other member (a jsii
type such as ``iam.IRole`` or ``cdk.Duration``) is checked member by member (a jsii interface admits an object of
the kernel whose class has the interface's members), since such a value is dereferenced before jsii sees it; a hint
of plain types alone is checked for None only (jsii and the contract check the rest), and ``Any`` not at all.
"""

from __future__ import annotations

import functools
import importlib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._tokens import is_jsii_object

_PACKAGE = __name__.partition(".")[0]
_PLAIN = (type(None), str, int, float, bool)


@dataclass(frozen=True)
class _Expected:
    """The classes a value may be, and what each element of a list or tuple must be (None: anything)."""

    classes: tuple[type, ...]
    elements: _Expected | None = None


def check_prop_types(init: Callable[..., Any], props: Mapping[str, Any]) -> None:
    """Check props (the parameters of init, by name: its ``locals()`` before anything else) against init's hints;
    and check the other parameters as _check_unchecked does."""
    for parameter, expected in _checked(init):
        _check(parameter, props[parameter], expected)
    for parameter, members in _unchecked(init):
        _check_unchecked(parameter, props[parameter], members)


def checked_parameters(init: Callable[..., Any]) -> tuple[str, ...]:
    """The parameters of init whose type check_prop_types checks, in order."""
    return tuple(parameter for parameter, _expected in _checked(init))


def check_types(**given: tuple[Any, type | tuple[type, ...]]) -> None:
    """Each value (by parameter) is of the type, or one of the types, expected: else a TypeError naming the
    parameter, the types expected (None aside) and the value."""
    for parameter, (value, expected) in given.items():
        if not isinstance(value, expected):
            raise _refusal(parameter, expected if isinstance(expected, tuple) else (expected,), value)


def _refusal(parameter: str, expected: tuple[Any, ...], value: Any) -> TypeError:
    names = [getattr(kind, "__name__", str(kind)) for kind in expected if kind is not type(None)]
    return TypeError(f"{parameter}: expected {' or '.join(names)}, got {type(value).__name__} {value!r:.120}")


def _check(parameter: str, value: Any, expected: _Expected) -> None:
    check_types(**{parameter: (value, expected.classes)})
    if expected.elements is not None and isinstance(value, list | tuple):
        for index, element in enumerate(value):
            _check(f"{parameter}[{index}]", element, expected.elements)


@functools.cache
def _checked(init: Callable[..., Any]) -> tuple[tuple[str, _Expected], ...]:
    """The checked parameters of init and what each expects, read once per function."""
    checked = []
    for parameter, hint in _hints(init).items():
        expected = _expected(hint) if parameter != "return" else None
        if expected is not None:
            checked.append((parameter, expected))
    return tuple(checked)


@functools.cache
def _unchecked(init: Callable[..., Any]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The parameters of init that _checked leaves alone and whose hint does not allow None or Any, each with its
    hint's members."""
    checked = {parameter for parameter, _expected in _checked(init)}
    found = []
    for parameter, hint in _hints(init).items():
        members = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
        if parameter in checked or parameter == "return" or Any in members:
            continue
        found.append((parameter, members))
    return tuple(found)


def _check_unchecked(parameter: str, value: Any, members: tuple[Any, ...]) -> None:
    """None where the hint does not allow it; and, for a hint with a jsii type (of which a value is dereferenced
    before jsii sees it), a value that is none of its members: a jsii interface's, any jsii object."""
    if value is None:
        admitted = type(None) in members
    elif all(member in _PLAIN for member in members):
        admitted = True  # jsii and the contract check these (a number may be given as text, as CloudFormation does)
    else:
        admitted = any(_admits(member, value) for member in members)
    if not admitted:
        raise _refusal(parameter, members, value)


def _admits(member: Any, value: Any) -> bool:
    origin = typing.get_origin(member) or member
    if origin in (Sequence, list):
        return isinstance(value, list | tuple)
    if origin in (Mapping, dict):
        return isinstance(value, Mapping)
    try:
        return isinstance(value, origin)
    except TypeError:  # a jsii interface (a Protocol that isinstance cannot check)
        return _implements(origin, value)


def _implements(interface: type, value: Any) -> bool:
    """Whether value is an object of the kernel whose class has every member the jsii interface declares (read from
    the classes, so no getter runs): a Duration, or a FoundationModelIdentifier, given as an IModel has not."""
    if not is_jsii_object(value):
        return False
    # An object the kernel returns as several interfaces at once (jsii's InterfaceDynamicProxy) has them as delegates.
    kinds = [type(delegate) for delegate in getattr(value, "__dict__", {}).get("_delegates", [value])]
    return all(any(hasattr(kind, name) for kind in kinds) for name in _members(interface))


@functools.cache
def _members(interface: type) -> frozenset[str]:
    ancestors = [kind for kind in interface.__mro__ if kind not in (object, typing.Protocol, typing.Generic)]
    return frozenset(name for kind in ancestors for name in vars(kind) if not name.startswith("_"))


def _hints(init: Callable[..., Any]) -> dict[str, Any]:
    """init's hints, resolved in its module; a name that module imports only under TYPE_CHECKING resolves to the
    package's export of that name (a name neither knows is a NameError, which the tests catch)."""
    try:
        return typing.get_type_hints(init)
    except NameError:
        package = importlib.import_module(_PACKAGE)
        exports = {name: getattr(package, name) for name in package.__all__}
        return typing.get_type_hints(init, localns=exports)


def _expected(hint: Any) -> _Expected | None:
    """What a value of hint may be, or None when hint is not checked here: no member of its union is the
    package's own or a collection, or one member is something else (a jsii type, Any)."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    classes: list[type] = []
    elements: _Expected | None = None
    own = False
    for member in typing.get_args(hint) if union else (hint,):
        origin = typing.get_origin(member) or member
        if origin in (Sequence, list):
            arguments = typing.get_args(member)
            classes += [list, tuple]
            elements = _expected(arguments[0]) if arguments else None
        elif origin in (Mapping, dict):
            classes.append(Mapping)
        elif member in _PLAIN:  # allowed beside the others, but not a reason to check (jsii checks str alone)
            classes.append(member)
            continue
        elif isinstance(member, type) and member.__module__.partition(".")[0] == _PACKAGE:
            classes.append(member)
        else:
            return None
        own = True
    return _Expected(tuple(dict.fromkeys(classes)), elements) if own else None
