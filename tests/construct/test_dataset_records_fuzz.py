"""A dataset's check goes on past a refused record: what it reports for a file of good and bad records, fuzzed, is
what the records give one by one. The reference is computed by validating each record alone (after neutral good
records, so at its own line), then the records that pass alone together (a neutral record in place of each refused
one, for what the dataset as a whole must agree on): never from what the check itself reports for the file."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from cdk_bedrock_customization.datasets import DatasetError, validate_dataset, validate_prompt_dataset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOVA_LITE = "amazon.nova-lite-v1:0:300k"
NOVA_2 = "amazon.nova-2-lite-v1:0:256k"
TITAN = "amazon.titan-text-express-v1:0:8k"
LLAMA_31 = "meta.llama3-1-8b-instruct-v1:0:128k"
LLAMA_VISION = "meta.llama3-2-11b-instruct-v1:0:128k"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"
NO_COUNTS = {"min_training_records": None, "max_training_records": None, "min_total_records": None}


def text(value: str) -> dict[str, str]:
    return {"text": value}


def media(kind: str, fmt: str) -> dict[str, Any]:
    return {kind: {"format": fmt, "source": {"s3Location": {"uri": f"s3://bucket/file.{fmt}"}}}}


def conversation(user: list[Any], reply: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024", "system": [text("Be brief.")]}
    record["messages"] = [{"role": "user", "content": user}]
    if reply is not None:
        record["messages"].append({"role": "assistant", "content": reply})
    return record | extra


IMAGE, VIDEO, DOCUMENT = media("image", "png"), media("video", "mp4"), media("document", "pdf")
TOOLS = {"tools": [{"toolSpec": {"name": "add", "description": "adds", "inputSchema": {"json": {"type": "object"}}}}]}
TOOL_USE = conversation(
    [text("2+2?")], [{"toolUse": {"toolUseId": "t1", "name": "add", "input": {"a": 2}}}], toolConfig=TOOLS
)
TOOL_USE["messages"] += [
    {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [text("4")]}}]},
    {"role": "assistant", "content": [text("4.")]},
]
PLAIN = conversation([text("hi")], [text("hello")])
HAIKU_RECORD = {"system": "s", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
RFT_RECORD = {"messages": [{"role": "user", "content": "2+2"}], "reference_answer": "4"}
PROMPT = {"prompt": "p", "referenceResponse": "r"}

# Per dataset kind: how it is checked, a neutral record, and records that pass alone and that are refused alone
# (media seen before the refusal, media counts, reserved keywords, tool use, turn order, schema).
KINDS: dict[str, dict[str, Any]] = {
    "nova": {
        "check": (NOVA_LITE, "FINE_TUNING"),
        "neutral": PLAIN,
        "records": [
            PLAIN,
            conversation([text("what"), IMAGE], [text("a cat")]),
            conversation([text("what"), VIDEO], [text("a clip")]),
            conversation([text("what"), DOCUMENT], [text("a doc")]),
            TOOL_USE,
            conversation([text("what"), IMAGE, {"bogus": 1}], [text("x")]),
            conversation([text("what"), VIDEO, {"bogus": 1}], [text("x")]),
            conversation([text("what"), IMAGE], [text("User: x")]),
            conversation([text("what"), VIDEO]),
            conversation([text("what"), *[IMAGE] * 11], [text("x")]),
            conversation([text("q")], [text("")]),
            conversation(
                [text("2+2?")], [{"toolUse": {"toolUseId": "t1", "name": "nope", "input": {}}}], toolConfig=TOOLS
            ),
            {"messages": "x"},
        ],
    },
    "nova-2": {
        "check": (NOVA_2, "FINE_TUNING"),
        "neutral": PLAIN,
        "records": [
            PLAIN,
            conversation([text("what"), IMAGE], [text("a cat")]),
            conversation([text("what"), DOCUMENT], [text("a doc")]),
            conversation([text("hi")], [{"reasoningContent": {"reasoningText": {"text": "greet"}}}, text("Hello.")]),
            conversation([text("what"), DOCUMENT, {"bogus": 1}], [text("x")]),
            conversation([text("what"), media("video", "webm")], [text("x")]),
            {"messages": []},
        ],
    },
    "llama-vision": {
        "check": (LLAMA_VISION, "FINE_TUNING"),
        "neutral": PLAIN,
        "records": [PLAIN, conversation([text("what"), IMAGE], [text("a cat")]), conversation([text("w"), VIDEO])],
    },
    "prompt-completion": {
        "check": (TITAN, "FINE_TUNING"),
        "neutral": {"prompt": "p", "completion": "c"},
        "records": [{"prompt": "p", "completion": "c"}, {"prompt": "p"}, {"prompt": "p" * 30_000, "completion": "c"}],
    },
    "continued-pre-training": {
        "check": (TITAN, "CONTINUED_PRE_TRAINING"),
        "neutral": {"input": "x"},
        "records": [{"input": "x"}, {"input": 1}, {"input": "x", "other": 1}],
    },
    "claude": {
        "check": (HAIKU, "FINE_TUNING"),
        "neutral": HAIKU_RECORD,
        "records": [HAIKU_RECORD, {"messages": [{"role": "user", "content": "a"}]}, {"system": "x\nHuman: y"}],
    },
    "distillation": {
        "check": (LLAMA_31, "DISTILLATION"),
        "neutral": conversation([text("q")]),
        "records": [conversation([text("q")]), conversation([text("q"), text("r")]), {"schemaVersion": "x"}],
    },
    "reinforcement": {
        "check": (NOVA_2, "REINFORCEMENT_FINE_TUNING"),
        "neutral": RFT_RECORD,
        "records": [RFT_RECORD, {"messages": [{"role": "user", "content": "2+2"}]}],
    },
    "evaluation-prompts": {
        "check": None,
        "neutral": PROMPT,
        "records": [PROMPT, {"prompt": ""}, {"prompt": "p"}, {**PROMPT, "category": 1}],
    },
}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def changed(draw: st.DrawFn, record: Any) -> Any:
    """record with one change somewhere inside: a value replaced, a key deleted, or a key added."""
    record = copy.deepcopy(record)
    places: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        for key in list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []:
            places.append((node, key))
            walk(node[key])

    walk(record)
    if not places:
        return record
    parent, key = draw(st.sampled_from(places))
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[key] = draw(JSON)
    elif isinstance(parent, dict) and action == "delete":
        del parent[key]
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(["text", "image", "video", "toolUse", "reasoningContent", "role", "x"]))] = draw(
            JSON
        )
    return record


def problems(path: Path, records: list[Any], kind: dict[str, Any]) -> dict[int, str]:
    """What the check reports for records written at path, by line, the path left out (nothing: it passes).
    Anything but a DatasetError fails the test."""
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    try:
        if kind["check"] is None:
            validate_prompt_dataset(path, task_type="Generation", metric_names=["Builtin.Accuracy"])
        else:
            base_model, customization_type = kind["check"]
            validate_dataset(path, customization_type=customization_type, base_model=base_model, quotas=NO_COUNTS)
    except DatasetError as error:
        found = [problem.removeprefix(f"{path}:") for problem in error.problems]
        return {int(problem.split(":")[0]): problem for problem in found}
    return {}


def expected(folder: Path, records: list[Any], kind: dict[str, Any]) -> dict[int, str]:
    neutral = kind["neutral"]
    alone = {}
    for line, record in enumerate(records, 1):
        refused = problems(folder / "alone.jsonl", [neutral] * (line - 1) + [record], kind)
        assert set(refused) <= {line}
        alone.update(refused)
    together = [neutral if line in alone else record for line, record in enumerate(records, 1)]
    return alone | problems(folder / "together.jsonl", together, kind)


# A record's refusal for holding other media than an earlier record (of the dataset as a whole), named first where its
# own problem comes later in it: right when the earlier record is not itself refused.
MODALITY_CONFLICT = re.compile(r"but line (\d+) holds")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(sorted(KINDS)))
def test_a_file_reports_what_its_records_give_one_by_one(tmp_path_factory, data: st.DataObject, name: str) -> None:
    kind = KINDS[name]
    record = st.sampled_from(kind["records"])
    records = data.draw(st.lists(record | record.flatmap(changed), min_size=1, max_size=8))
    folder = tmp_path_factory.mktemp(name)
    found, reference = problems(folder / "file.jsonl", records, kind), expected(folder, records, kind)
    assert sorted(found) == sorted(reference)
    for line, problem in found.items():
        conflict = MODALITY_CONFLICT.search(problem)
        if problem != reference[line]:
            assert conflict is not None, (problem, reference[line])
        if conflict is not None:
            cited = int(conflict.group(1))
            assert cited < line and cited not in reference, problem
