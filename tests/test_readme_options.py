"""The README's option tables match the constructors they document, so that neither can change without the other;
and its section on the models file names every field of each kind of entry in that kind's YAML example.

A table is one whose header is ``option | type | default``, ``option | default`` (the construct is the first
exported construct named in backticks in the heading above it) or ``construct | option | default`` (an empty
construct cell: the row above's). Its option cell names one or more parameters in backticks, before any ``:``
description (parenthesized types are skipped): ``| `job_tags`, `custom_model_tags` | none |``.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import cdk_bedrock_customization
import pytest
from cdk_bedrock_customization import models_file

from constructs import Construct

README = Path(__file__).resolve().parent.parent / "README.md"
TABLE_HEADERS = {("option", "type", "default"), ("option", "default"), ("construct", "option", "default")}
# Exported constructs without a table, and why: a new construct must be given a table or a reason here.
UNTABLED = {
    "CustomModelBase": "a base class: its options are its subclasses'",
    "CustomModelDeploymentBase": "a base class, made by from_custom_model_deployment_arn",
    "ProvisionedThroughputBase": "a base class, made by from_provisioned_model_arn",
    "ImportedModelBase": "a base class, made by from_imported_model_arn and _name",
    "InvocableModel": "a base class",
    "ModelsFromFile": "its options are the models file's, documented by its example section and schema",
    "CustomizationProviderStack": "documented by its example in Plain CloudFormation",
    "JobCompletionNotifier": "documented in Waiting for the job, where its settings are explained",
}
EXPORTED_CONSTRUCTS = {
    name
    for name in cdk_bedrock_customization.__all__
    if inspect.isclass(export := getattr(cdk_bedrock_customization, name)) and issubclass(export, Construct)
}

Rows = dict[str, dict[str, str]]  # construct -> option -> default cell


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _option_names(cell: str) -> list[str]:
    """The parameters an option cell names: `a`, `b` before any ':' outside backticks, types in parentheses
    skipped. Anything else there is an error, so that a misread cell cannot pass unnoticed."""
    named = re.match(r"(?:`[^`]*`|[^:`])*", cell)
    assert named is not None
    names = named.group(0)
    while re.search(r"\([^()]*\)", names):
        names = re.sub(r"\([^()]*\)", "", names)
    names = names.strip()
    if not re.fullmatch(r"`\w+`(\s*,\s*`\w+`)*", names):
        raise ValueError(f"cannot read the option cell {cell!r}")
    return re.findall(r"`(\w+)`", names)


def _tables(text: str) -> Iterator[tuple[str, list[list[str]]]]:
    """Each table outside code blocks: the heading above it, and its rows (header first)."""
    heading, fenced = "", False
    table: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("|"):
            table.append(_cells(line))
            continue
        if table:
            yield heading, table
            table = []
        if not fenced and line.startswith("#"):
            heading = line


def option_rows(text: str) -> Rows:
    rows: Rows = {}
    for heading, (header, _rule, *body) in _tables(text):
        if tuple(header) not in TABLE_HEADERS:
            continue
        construct = next((name for name in re.findall(r"`(\w+)`", heading) if name in EXPORTED_CONSTRUCTS), "")
        for row in body:
            if header[0] == "construct":
                construct = row[0].strip("`") or construct
                row = row[1:]
            assert construct in EXPORTED_CONSTRUCTS, f"an option table under {heading!r} names no construct"
            for name in _option_names(row[0]):
                assert name not in rows.get(construct, {}), f"{construct}: {name} is in the README twice"
                rows.setdefault(construct, {})[name] = row[-1]
    return rows


def parameters(function: Callable[..., object], *, leave_out: tuple[str, ...] = ()) -> dict[str, inspect.Parameter]:
    """The keyword-only parameters: what the tables document (scope and construct_id are positional)."""
    return {
        name: parameter
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in leave_out
    }


def differences(construct: str, documented: dict[str, str]) -> list[str]:
    """What the README's rows for construct get wrong about its constructor."""
    found = []
    accepted = parameters(getattr(cdk_bedrock_customization, construct).__init__)
    for name, parameter in accepted.items():
        default = documented.get(name)
        if default is None:
            found.append(f"{name}: a parameter with no row in the README")
        elif (parameter.default is inspect.Parameter.empty) != default.startswith("required"):
            found.append(f"{name}: the README says {default!r}, the default is {parameter.default!r}")
        elif isinstance(parameter.default, enum.Enum) and parameter.default.name not in default:
            found.append(f"{name}: the README says {default!r}, the default is {parameter.default.name}")
        elif type(parameter.default) is int and str(parameter.default) not in default:
            found.append(f"{name}: the README says {default!r}, the default is {parameter.default}")
    found += [f"{name}: a README row that is no parameter" for name in documented if name not in accepted]
    return found


README_ROWS = option_rows(README.read_text())
MODELS_FILE_HEADING = "## Models as data"


def unnamed_fields(text: str) -> dict[str, list[str]]:
    """Per kind of entry of the models file, its fields that the README's section on the file does not name in
    that kind's part of its YAML examples."""
    start = text.index(MODELS_FILE_HEADING)
    end = text.find("\n## ", start + len(MODELS_FILE_HEADING))
    named = named_per_kind(text[start : None if end < 0 else end])
    found = {
        kind: [field.name for field in fields if field.name not in named.get(kind, set())]
        for kind, fields in models_file.FIELDS.items()
    }
    return {kind: names for kind, names in found.items() if names}


def named_per_kind(section: str) -> dict[str, set[str]]:
    """Per top-level key of a section's YAML examples (a kind of entry), the names its part writes as code: its
    YAML keys, and the items of the field lists in its comments (``# also: job_name, role (ARN); source_uri or
    model_package_arn``). Prose does not count: a field is named
    by the example of its own kind."""
    named: dict[str, set[str]] = {}
    for example in re.findall(r"^```ya?ml\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL):
        kind = None
        for line in example.splitlines():
            kind = top.group(1) if (top := re.match(r"(\w+):", line)) else kind
            if kind is not None:
                code, _, comment = line.partition("#")
                named.setdefault(kind, set()).update(re.findall(r"(\w+)\s*:", code), _listed(comment))
    return named


def _listed(comment: str) -> set[str]:
    """The field names a comment lists: each item (between commas, semicolons, "or" and "and") that is one word
    after any "label:", with an optional parenthesized note."""
    items = re.split(r"[,;]|\bor\b|\band\b", comment)
    return {found.group(1) for item in items if (found := re.fullmatch(r"(?:.*:)?\s*(\w+)\s*(?:\([^)]*\))?\s*", item))}


def test_every_construct_has_a_table_or_a_reason() -> None:
    assert sorted(README_ROWS) == sorted(EXPORTED_CONSTRUCTS - set(UNTABLED))
    assert set(UNTABLED) <= EXPORTED_CONSTRUCTS  # a renamed or removed construct leaves no stale reason


@pytest.mark.parametrize("construct", sorted(README_ROWS))
def test_the_readme_table_matches_the_constructor(construct: str) -> None:
    found = differences(construct, README_ROWS[construct])
    assert not found, "\n".join(found)


def test_the_models_file_section_names_every_field() -> None:
    assert unnamed_fields(README.read_text()) == {}


def every_field_as_keys(leave_out: tuple[str, str] | None = None) -> str:
    """A models-file example that names every field of every kind as a YAML key, but leave_out (kind, field)."""
    return "\n".join(
        f"{kind}:\n  key:\n" + "".join(f"    {field.name}: x\n" for field in fields if (kind, field.name) != leave_out)
        for kind, fields in models_file.FIELDS.items()
    )


def test_a_field_unnamed_in_its_own_kind_is_found_though_another_kind_names_it() -> None:
    text = f"{MODELS_FILE_HEADING}\n```yaml\n{every_field_as_keys(('provisioned_throughput', 'tags'))}```\n"
    assert unnamed_fields(text) == {"provisioned_throughput": ["tags"]}
    assert unnamed_fields(text + "A throughput's `tags` are its own.\n") == {"provisioned_throughput": ["tags"]}
    assert unnamed_fields(text + "```yaml\nprovisioned_throughput:    # model; tags\n```\n") == {}
    assert unnamed_fields(text + "\n## Next\n```yaml\nprovisioned_throughput: {x: {tags: {}}}\n```\n") == {
        "provisioned_throughput": ["tags"]
    }


@pytest.mark.parametrize(
    ("written", "named"),
    [
        ("deployments:\n  x: {model: m, tags: {a: b}}", {"model", "tags", "x", "a"}),
        ("models:\n  # also: job_name, role (ARN); after, description", {"job_name", "role", "after", "description"}),
        ("imported_models:  # source_uri or model_package_arn; model_name,\n  # removal_policy", None),
        ("models:\n  # and for the kinds that need them: teacher_model, grader", {"teacher_model", "grader"}),
        ("deployments:  # model: a key of models, or a custom model ARN", set()),
        ("models:\n  # a model id or ARN, or the key of another model (continued training)", {"ARN"}),
        ("models:\n  # (event_driven | polling | no_wait), completion_timeout_hours", {"completion_timeout_hours"}),
    ],
    ids=["yaml-keys", "field-list", "or-and-continued", "labelled-list", "described", "prose", "values-then-field"],
)
def test_a_kind_names_its_yaml_keys_and_the_fields_its_comments_list(written: str, named: set[str] | None) -> None:
    kind = written.partition(":")[0]
    expected = named if named is not None else {"source_uri", "model_package_arn", "model_name", "removal_policy"}
    assert named_per_kind(f"```yaml\n{written}\n```\n") == {kind: {kind} | expected}


def test_the_typed_shortcuts_take_the_constructors_options() -> None:
    # The README documents add_deployment, add_provisioned_throughput and CustomizationProvider.of by the tables
    # of the constructors they call.
    from cdk_bedrock_customization import (
        CustomizationProvider,
        CustomModelBase,
        CustomModelDeployment,
        ProvisionedThroughput,
    )

    pairs = [
        (CustomModelBase.add_deployment, CustomModelDeployment.__init__),
        (CustomModelBase.add_provisioned_throughput, ProvisionedThroughput.__init__),
        (CustomizationProvider.of, CustomizationProvider.__init__),
    ]
    for shortcut, constructor in pairs:
        assert list(parameters(shortcut)) == list(parameters(constructor, leave_out=("model",)))


TABLES = """\
## A section on `CustomModel`, then `ModelEvaluation`

| option | type | default |
|---|---|---|
| `base_model` | model id | required |
| `job_tags`, `custom_model_tags` (`Mapping`) | mapping | none |

```python
# not a heading: `ModelEvaluation`
```

| construct | option | default |
|---|---|---|
| `CustomModelDeployment` | `model`: the custom model (`CustomModelBase`) | required |
| | `removal_policy` | `DESTROY` |
| `ProvisionedThroughput` | `kms_key` (`kms.IKey`), `tags` | none |

| | not an option table |
|---|---|
| `ModelEvaluation` | x |
"""


def test_the_parser_reads_each_form_of_table() -> None:
    assert option_rows(TABLES) == {
        "CustomModel": {"base_model": "required", "job_tags": "none", "custom_model_tags": "none"},
        "CustomModelDeployment": {"model": "required", "removal_policy": "`DESTROY`"},
        "ProvisionedThroughput": {"kms_key": "none", "tags": "none"},
    }


def test_an_unreadable_option_cell_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot read the option cell"):
        _option_names("the `model` to serve")


def test_each_kind_of_drift_is_found() -> None:
    documented = {
        "model": "required",
        "model_deployment_name": "required",  # has a default
        "description": "none",
        "tags": "none",
        "removal_policy": "`RETAIN`",  # the default is DESTROY
        "retain": "none",  # no such parameter
    }  # and provider is missing
    assert differences("CustomModelDeployment", documented) == [
        "model_deployment_name: the README says 'required', the default is None",
        "removal_policy: the README says '`RETAIN`', the default is DESTROY",
        "provider: a parameter with no row in the README",
        "retain: a README row that is no parameter",
    ]
