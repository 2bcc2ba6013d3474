"""Whatever the properties, the contract answers with a request or with InvalidProperties (issue 15, item 3).

It never fails inside Python (TypeError, ValueError, KeyError, UnicodeError, RecursionError), and what it says
stays short and sendable. The bounds these tests hold it to:
- every problem starts with the property path it is about, and is at most PROBLEM_BYTES of UTF-8;
- InvalidProperties' message is at most contract.MAX_MESSAGE_BYTES (128 KiB: it is logged in full) and has no
  lone surrogate, so it encodes in UTF-8;
- the response's Reason made of it (responses.bounded_reason) is at most responses.MAX_REASON_BYTES (2048), so a
  response stays within CloudFormation's 4096 bytes (DESIGN.md, facts 4 and 11).
The known failures are tested one by one; then hypothesis mutates valid properties of every resource type.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

import pytest
from bedrock_custom_resource import contract, customization_job, index, responses
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import (
    ACCOUNT,
    REGION,
    CloudFormationEvents,
    distillation_properties,
    fine_tuning_properties,
    kept_by_a_single_function_provider,
    rft_properties,
)
from .test_imported_model import import_properties

PROBLEM_BYTES = 2048
CUSTOM_MODEL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/abcdefgh1234"
JOB_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/amazon.nova-micro-v1:0:128k/abcdefgh1234"
DIGITS = "7" * 5000  # beyond int()'s and str()'s limit of 4300 digits
DEEP = 10_000  # far beyond Python's recursion limit (1000)

VALID: dict[str, list[Callable[[], dict[str, Any]]]] = {
    contract.CUSTOMIZATION_JOB: [fine_tuning_properties, distillation_properties, rft_properties],
    contract.CUSTOM_MODEL: [import_properties],
    contract.MODEL_DEPLOYMENT: [
        lambda: {"modelArn": CUSTOM_MODEL_ARN, "description": "support bot", "tags": [{"key": "t", "value": "v"}]}
    ],
    contract.PROVISIONED_THROUGHPUT: [
        lambda: {"modelId": CUSTOM_MODEL_ARN, "modelUnits": "1", "commitmentDuration": "OneMonth"}
    ],
    contract.JOB_RESULT: [lambda: {"jobIdentifier": JOB_ARN}],
    contract.MODEL_IMPORT: [
        lambda: {
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/bedrock-imports",
            "modelDataSource": {"s3DataSource": {"s3Uri": "s3://weights-bucket/llama/"}},
            "importedModelTags": [{"key": "team", "value": "ml"}],
            "waitUntil": "Accepted",
        }
    ],
    contract.IMPORT_RESULT: [
        lambda: {"jobIdentifier": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-import-job/abcdefgh1234"}
    ],
    contract.MODEL_COPY: [
        lambda: {
            "sourceModelArn": CUSTOM_MODEL_ARN.replace(REGION, "us-west-2"),
            "targetModelName": "support-copy",
            "targetModelTags": [{"key": "team", "value": "ml"}],
        }
    ],
    contract.COPY_RESULT: [lambda: {"jobArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-copy-job/abcdefgh1234"}],
    contract.MODEL_EVALUATION: [
        lambda: {
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/bedrock-evaluations",
            "evaluationConfig": {
                "automated": {
                    "datasetMetricConfigs": [
                        {
                            "taskType": "QuestionAndAnswer",
                            "dataset": {"name": "Builtin.BoolQ"},
                            "metricNames": ["Builtin.Accuracy", "Builtin.Robustness"],
                        }
                    ]
                }
            },
            "inferenceConfig": {
                "models": [
                    {
                        "bedrockModel": {
                            "modelIdentifier": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/abcdefgh1234"
                        }
                    }
                ]
            },
            "outputDataConfig": {"s3Uri": "s3://results-bucket/evaluations/"},
            "jobTags": [{"key": "team", "value": "ml"}],
            "waitUntil": "Accepted",
        }
    ],
    contract.EVALUATION_GATE: [
        lambda: {
            "jobIdentifier": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/abcdefgh1234",
            "baselineJobIdentifier": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/abcdefgh5678",
            "requirements": [
                {"metricName": "Builtin.Accuracy", "atLeast": "0.8"},
                {"metricName": "Builtin.Robustness", "atMostBaselineMinus": 0, "datasetName": "Builtin.BoolQ"},
            ],
        }
    ],
}


def deeply_nested(depth: int, kind: type = list) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value] if kind is list else {"k": value}
    return value


def huge_integer() -> int:
    return 10**5000  # built without str(): Python refuses to convert it to decimal text


def problems_of(resource_type: str, properties: Any) -> list[str]:
    """The problems of properties; [] when they are valid. Anything but InvalidProperties fails the test."""
    try:
        contract.create_request(resource_type, properties)
    except contract.InvalidProperties as error:
        check_message(str(error), error.problems, resource_type, properties)
        return error.problems
    return []


def sent_bytes(reason: str) -> int:
    """The bytes reason takes in the framework's response body: JSON.stringify's string, less its quotes."""
    return len(json.dumps(reason, ensure_ascii=False).encode()) - 2


def check_message(message: str, problems: list[str], resource_type: str, properties: Any) -> None:
    assert problems
    assert len(message.encode(errors="surrogatepass")) <= contract.MAX_MESSAGE_BYTES
    message.encode()  # no lone surrogate: it can be logged and sent
    reason = responses.bounded_reason(message)
    assert sent_bytes(reason) <= responses.MAX_REASON_BYTES
    names = top_level_names(resource_type, properties)
    for problem in problems:
        assert len(problem.encode(errors="surrogatepass")) <= PROBLEM_BYTES, problem[:300]
        problem.encode()
        assert ": " in problem, problem[:300]
        assert starts_with_a_path(problem, names), problem[:300]


def top_level_names(resource_type: str, properties: Any) -> set[str]:
    """What a problem's path may start with: the operation's members, the handler's, "properties" (all of them),
    and the properties' own names that are short printable strings."""
    resource = contract.CONTRACTS[resource_type]
    members = contract.service_model().operation_model(resource.operation).input_shape.members
    names = {"properties", *members, *resource.handler_members}
    if isinstance(properties, dict):
        names |= {key for key in properties if isinstance(key, str) and 0 < len(key) <= 64 and key.isprintable()}
    return names


def starts_with_a_path(problem: str, names: set[str]) -> bool:
    """Whether problem starts with a property path: a name, then its members and items; or an odd name shown as
    a value is (a repr, or an integer too long to show)."""
    if any(problem.startswith(name) and problem[len(name) : len(name) + 1] in ".[: " for name in names):
        return True
    return problem[:1] in "'\"<(-0123456789" or problem.startswith(("None", "True", "False", "nan", "inf"))


def only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


def test_the_valid_properties_are_valid():
    for resource_type, builders in VALID.items():
        for build in builders:
            assert problems_of(resource_type, build()) == []


# --- the known failures, one by one ----------------------------------------------------------------------------


@pytest.mark.parametrize("job_type", [["FINE_TUNING"], {"type": "FINE_TUNING"}, [], {}, 1, None, True])
def test_a_customization_type_that_is_not_a_string(job_type):
    problem = only(problems_of(contract.CUSTOMIZATION_JOB, fine_tuning_properties(customizationType=job_type)))
    assert problem.startswith("customizationType: expected a string, got ")


@pytest.mark.parametrize(
    "wait_until",
    [["Completed"], {"Completed": 1}, 1, None, "\ud800", "x" * 100_000],
    ids=["list", "dict", "1", "None", "surrogate", "long"],
)
def test_a_wait_until_that_is_not_one_of_its_values(wait_until):
    problem = only(problems_of(contract.CUSTOMIZATION_JOB, fine_tuning_properties(waitUntil=wait_until)))
    assert problem.startswith("waitUntil: ") and problem.endswith(
        "is not one of ['Completed', 'Accepted', 'Validated']"
    )


@pytest.mark.parametrize(
    ("member", "value", "expected"),
    [
        ("epochCount", DIGITS, "must be at most 50"),
        ("epochCount", "-" + DIGITS, "must be at least 1"),
        ("epochCount", "+" + DIGITS, "must be at most 50"),
        ("epochCount", huge_integer(), "must be at most 50"),
        ("epochCount", -huge_integer(), "must be at least 1"),
    ],
    ids=["digits", "negative-digits", "plus-digits", "huge-int", "negative-huge-int"],
)
def test_an_integer_of_more_than_4300_digits_is_out_of_range(member, value, expected):
    properties = rft_properties()
    properties["customizationConfig"]["rftConfig"]["hyperParameters"][member] = value
    problem = only(problems_of(contract.CUSTOMIZATION_JOB, properties))
    assert problem.startswith(f"customizationConfig.rftConfig.hyperParameters.{member}: ")
    assert expected in problem


def test_an_integer_with_no_bound_and_too_many_digits_is_out_of_range():
    assert contract.value_problems("RFTMaxPromptLength", DIGITS, "maxPromptLength") == [
        f"maxPromptLength: '{DIGITS[:116]}... is out of range for a 32-bit integer"
    ]
    assert contract.value_problems("RFTMaxPromptLength", huge_integer(), "maxPromptLength") == [
        "maxPromptLength: <an integer of about 5001 digits> is out of range for a 32-bit integer"
    ]
    assert contract.value_problems("RFTMaxPromptLength", "0" * 5000 + "42", "maxPromptLength") == []
    assert contract.value_problems("RFTMaxPromptLength", "-0", "maxPromptLength") == []


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("2147483647", False),
        ("2147483648", True),
        ("-2147483648", False),
        ("-2147483649", True),
        (2**31, True),
        (1e300, True),
    ],
)
def test_an_integer_member_takes_what_a_32_bit_integer_holds(value, refused):
    """The service model's "integer" is Smithy's: a signed 32-bit integer, whatever bound (none, here) it has."""
    problems = contract.value_problems("RFTMaxPromptLength", value, "maxPromptLength")
    assert problems == ([f"maxPromptLength: {value!r} is out of range for a 32-bit integer"] if refused else [])


@pytest.mark.parametrize(
    "value",
    ["1e999", "-1e999", "NaN", "nan", "Infinity", "inf", DIGITS, huge_integer(), 10**400, math.nan, math.inf],
    ids=[
        "1e999",
        "-1e999",
        "NaN",
        "nan",
        "Infinity",
        "inf",
        "digits",
        "huge-int",
        "int-beyond-float",
        "float-nan",
        "float-inf",
    ],
)
def test_numbers_that_are_not_finite(value):
    properties = rft_properties()
    properties["customizationConfig"]["rftConfig"]["hyperParameters"]["learningRate"] = value
    problem = only(problems_of(contract.CUSTOMIZATION_JOB, properties))
    assert "learningRate: expected a finite number, got " in problem


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "arn:aws:iam::123456789012:role/\ud83d"])
def test_a_value_with_a_lone_surrogate(value):
    problem = only(problems_of(contract.CUSTOMIZATION_JOB, fine_tuning_properties(roleArn=value)))
    assert problem == f"roleArn: {value!r} is not valid Unicode: it has a lone surrogate"


def test_a_free_text_value_with_a_lone_surrogate():
    """A member whose pattern is .* would take it: the surrogate is refused before."""
    problem = only(
        problems_of(contract.MODEL_DEPLOYMENT, VALID[contract.MODEL_DEPLOYMENT][0]() | {"description": "\ud800"})
    )
    assert problem.startswith("description: '\\ud800' is not valid Unicode")


@pytest.mark.parametrize(
    "name",
    ["\ud800", "job\udc00Name", "a" * 10_000, "", "with\nnewline"],
    ids=["surrogate", "inside", "long", "empty", "newline"],
)
def test_a_property_name_that_is_odd_is_shown_as_a_value(name):
    problem = only(problems_of(contract.CUSTOMIZATION_JOB, fine_tuning_properties() | {name: "x"}))
    assert problem.startswith(repr(name)[:100])
    assert ": unknown property; expected one of " in problem


@pytest.mark.parametrize(
    "key",
    [1, None, (1, 2), 1.5, math.nan, huge_integer(), True],
    ids=["1", "None", "tuple", "1.5", "nan", "huge", "True"],
)
def test_keys_that_are_not_strings(key):
    problem = only(problems_of(contract.CUSTOMIZATION_JOB, fine_tuning_properties() | {key: "x"}))
    assert ": unknown property; expected one of " in problem
    properties = distillation_properties()
    properties["customizationConfig"][key] = {}
    problems = problems_of(contract.CUSTOMIZATION_JOB, properties)
    assert any(problem.startswith("customizationConfig: set exactly one of") for problem in problems)
    properties = distillation_properties()
    properties["trainingDataConfig"]["invocationLogsConfig"]["requestMetadataFilters"]["equals"][key] = "x"
    problems = problems_of(contract.CUSTOMIZATION_JOB, properties)
    assert any("requestMetadataFilters.equals key: expected a string, got " in problem for problem in problems)


@pytest.mark.parametrize("kind", [list, dict])
@pytest.mark.parametrize("member", ["roleArn", "trainingDataConfig", "jobTags", "hyperParameters", "waitUntil"])
def test_deep_nesting(member, kind):
    problem = only(
        problems_of(contract.CUSTOMIZATION_JOB, fine_tuning_properties(**{member: deeply_nested(DEEP, kind)}))
    )
    assert problem.startswith(member)


def rag_evaluation_properties(filter_levels: int) -> dict[str, Any]:
    """An evaluation of a knowledge base whose retrieval filter nests andAll filter_levels deep: RetrievalFilter is
    a shape of itself (its andAll and orAll are lists of RetrievalFilter), so the walk follows it as deep as it goes."""
    retrieval_filter: dict[str, Any] = {"equals": {"key": "k", "value": "v"}}
    for _ in range(filter_levels):
        retrieval_filter = {"andAll": [retrieval_filter, {"equals": {"key": "k", "value": "v"}}]}
    dataset = {"name": "d", "datasetLocation": {"s3Uri": "s3://bucket-a/d.jsonl"}}
    metrics = [{"taskType": "QuestionAndAnswer", "dataset": dataset, "metricNames": ["Builtin.ContextRelevance"]}]
    judge = {"bedrockEvaluatorModels": [{"modelIdentifier": "anthropic.claude-3-haiku-20240307-v1:0"}]}
    search = {"vectorSearchConfiguration": {"filter": retrieval_filter}}
    retrieve = {"knowledgeBaseId": "ABCDEFGHIJ", "knowledgeBaseRetrievalConfiguration": search}
    return {
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/svc",
        "evaluationConfig": {"automated": {"datasetMetricConfigs": metrics, "evaluatorModelConfig": judge}},
        "inferenceConfig": {"ragConfigs": [{"knowledgeBaseConfig": {"retrieveConfig": retrieve}}]},
        "outputDataConfig": {"s3Uri": "s3://bucket-a/out/"},
    }


def test_a_shape_of_itself_nested_too_deep_is_refused_naming_it():
    """It raised RecursionError past about 190 levels (an outside review's fuzzing); 30 levels is deeper than any
    filter a person writes."""
    assert problems_of(contract.MODEL_EVALUATION, rag_evaluation_properties(30)) == []
    problems = problems_of(contract.MODEL_EVALUATION, rag_evaluation_properties(DEEP // 10))
    # The two filters of the andAll list reached at that depth, each with its own path.
    assert len(set(problems)) == len(problems) == 2
    for problem in problems:
        assert problem.startswith("inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveCo...")
        assert problem.endswith(": nested more than 100 levels deep in the request")
    # The path cut in its middle: the problem stays in what a single-function provider's reason keeps.
    reason = str(contract.InvalidProperties(contract.MODEL_EVALUATION, problems[:1]))
    assert kept_by_a_single_function_provider(reason).endswith("nested more than 100 levels deep in the request")


@pytest.mark.parametrize(("levels", "refused"), [(90, False), (91, True), (5000, True)])
def test_a_document_nested_too_deep_is_refused_as_a_shape_is(levels, refused):
    """A retrieval filter's value is a document (botocore's FilterValue: "document": true), which holds any JSON, 10
    levels deep in the request (inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveConfig.
    knowledgeBaseRetrievalConfiguration.vectorSearchConfiguration.filter.equals.value): 90 lists in it reach 100.
    Unbounded, botocore's ParamValidator raised RecursionError on 5000."""
    properties = rag_evaluation_properties(0)
    value: Any = "v"
    for _ in range(levels):
        value = [value]
    search = properties["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]["retrieveConfig"]
    search["knowledgeBaseRetrievalConfiguration"]["vectorSearchConfiguration"]["filter"]["equals"]["value"] = value
    problems = problems_of(contract.MODEL_EVALUATION, properties)
    # The path cut in its middle (its first 60 characters and last 30), as every too-deep problem is.
    shown = "inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveCo...figuration.filter.equals.value"
    assert problems == ([f"{shown}: nested more than 100 levels deep in the request"] if refused else [])


def test_deep_nesting_inside_a_list_and_a_map():
    properties = distillation_properties(jobTags=[deeply_nested(DEEP), deeply_nested(DEEP, dict)])
    properties["trainingDataConfig"]["invocationLogsConfig"]["requestMetadataFilters"]["equals"] = {
        "project": deeply_nested(DEEP, dict)
    }
    problems = problems_of(contract.CUSTOMIZATION_JOB, properties)
    assert [problem.split(": ")[0] for problem in problems] == [
        "trainingDataConfig.invocationLogsConfig.requestMetadataFilters.equals.project",
        "jobTags[0]",
        "jobTags[1].k",
        "jobTags[1].key",
        "jobTags[1].value",
    ]


def test_a_long_value_is_shown_cut():
    problem = only(problems_of(contract.CUSTOMIZATION_JOB, fine_tuning_properties(jobName="a" * 1_000_000)))
    assert problem.startswith("jobName: 'aaaa") and problem.endswith(
        "... has 1000000 characters; it must have at most 63"
    )
    assert len(problem) < 200


def test_the_job_name_that_makes_re_backtrack_is_refused_at_once():
    """With re, this takes hours (DESIGN.md, fact 15)."""
    for name in ("a" + "-" * 38 + "_", "a" + "-" * 61 + "_"):
        problem = only(problems_of(contract.CUSTOMIZATION_JOB, fine_tuning_properties(jobName=name)))
        assert problem.startswith(f"jobName: {name!r} does not match")


def test_a_long_run_of_digits_in_a_decimal_is_parsed_in_linear_time():
    """With re, the decimal pattern takes quadratic time (minutes for a template's 1 MB)."""
    properties = rft_properties()
    properties["customizationConfig"]["rftConfig"]["hyperParameters"]["learningRate"] = "1" * 1_000_000 + "x"
    assert "learningRate: expected a finite number" in only(problems_of(contract.CUSTOMIZATION_JOB, properties))


@pytest.mark.parametrize(
    "properties", [[], "x", None, 1, deeply_nested(DEEP)], ids=["list", "str", "None", "1", "deep"]
)
def test_properties_that_are_not_an_object(properties):
    assert only(problems_of(contract.CUSTOMIZATION_JOB, properties)).startswith("properties: expected an object, got ")


def test_many_problems_are_listed_within_the_message_bound():
    properties = fine_tuning_properties() | {f"unknown{n:05}": "x" * 200 for n in range(2_000)}
    with pytest.raises(contract.InvalidProperties) as raised:
        contract.create_request(contract.CUSTOMIZATION_JOB, properties)
    assert len(raised.value.problems) == 2_000
    message = str(raised.value)
    check_message(message, raised.value.problems, contract.CUSTOMIZATION_JOB, properties)
    assert message.startswith("Invalid properties for Custom::BedrockModelCustomizationJob: unknown00000: unknown")
    assert message.endswith(" more") and "unknown01999" not in message


def test_the_reason_of_a_message_with_lone_surrogates_is_valid_utf8_and_bounded():
    for message in ("bad \ud800 value", "\udfff" * 5_000, "é" * 3_000 + "\ud800"):
        reason = responses.bounded_reason(message)
        assert sent_bytes(reason) <= responses.MAX_REASON_BYTES
        assert reason.startswith(message[:3].encode(errors="backslashreplace").decode())


@pytest.mark.parametrize("character", ['"', "\\", "\n", "\x01", "é", "😀", "a"])
def test_a_reason_is_bounded_as_the_response_carries_it_escaped(character):
    """A quote takes two bytes in the response's JSON, a control character up to six (an outside review's case:
    tag values full of quotes made a FAILED response of 4,130 bytes). The reason keeps the longest start that fits."""
    message = "bad: " + character * 3_000
    reason = responses.bounded_reason(message)
    assert sent_bytes(reason) <= responses.MAX_REASON_BYTES
    kept = reason.removesuffix(responses._TRUNCATED)
    assert message.startswith(kept) and len(kept) < len(message)
    assert sent_bytes(message[: len(kept) + 1] + responses._TRUNCATED) > responses.MAX_REASON_BYTES


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ValueError("bad \ud800 value"), "bad \\ud800 value"),
        (ValueError(huge_integer()), "ValueError, unreadable"),
    ],
    ids=["lone-surrogate", "unreadable"],
)
def test_the_handler_answers_what_it_cannot_send_as_it_is_with_a_sendable_reason(monkeypatch, caplog, error, reason):
    def fail(_event: Any) -> dict[str, Any]:
        raise error

    monkeypatch.setattr(customization_job, "on_event", fail)
    with caplog.at_level(logging.ERROR), pytest.raises(responses.HandlerFailed) as raised:
        index.on_event(CloudFormationEvents().create())
    assert str(raised.value) == reason
    assert raised.value.__cause__ is error
    assert f"on_event failed: {reason}" in caplog.text


def test_the_handler_refuses_odd_properties_before_calling_bedrock(bedrock, events):
    properties = fine_tuning_properties(
        customizationType=["FINE_TUNING"], roleArn="\ud800", jobTags=deeply_nested(DEEP)
    )
    event = events.create()  # which copies its properties: these are too deep to copy
    event["ResourceProperties"] = properties | {"\udc00": huge_integer(), 7: "x"}
    with pytest.raises(contract.InvalidProperties) as raised:
        index.on_event(event)
    assert len(raised.value.problems) == 5
    check_message(str(raised.value), raised.value.problems, contract.CUSTOMIZATION_JOB, event["ResourceProperties"])
    assert bedrock.calls == []


# --- hypothesis: valid properties of every resource type, mutated ------------------------------------------------

Path = tuple[Any, ...]

# What CloudFormation may send for a number (it sends every scalar as a string: DESIGN.md, fact 3).
NUMBER_STRINGS = [
    "1e999",
    "-1e999",
    "-0",
    "+0",
    "0x10",
    "1_000",
    "NaN",
    "Infinity",
    "1.5",
    " 7 ",
    DIGITS,
    "-" + DIGITS,
    "0" * 5000 + "1",
    "1" * 20_000 + "x",
]
ODD_STRINGS = [
    *NUMBER_STRINGS,
    "",
    " ",
    "\ud800",
    "a\x00b",
    "\n",
    "x" * 100_000,
    "a" + "-" * 40 + "_",
    "true",
    "FINE_TUNING",
    "arn:aws:iam::123456789012:role/\udfff",
]
ODD_KEYS = st.one_of(
    st.sampled_from(["\ud800", "", "a.b", "x" * 10_000, "unknownMember", "clientRequestToken", "ServiceToken"]),
    st.integers(),
    st.none(),
    st.just((1, 2)),
    st.just(math.nan),
    st.builds(huge_integer),  # not st.just: hypothesis would show it
    st.text(max_size=8),
)
# How deep into the properties mutated() reaches: paths() lists no path longer than this, so a mutation changes
# nodes at most this deep (it adds to the node at a path, or changes the parent of one).
MUTATED_DEPTH = 8
_DEEP_TAILS: dict[tuple[int, type], Any] = {}


def deep_value(depth: int, kind: type) -> Any:
    """deeply_nested(depth, kind) for the examples, for speed only: its first MUTATED_DEPTH + 1 levels are new, the
    levels below them are built once and shared, as no mutation reaches them (wherever the value is put, it is
    at least as deep as in itself). Building 10,000 levels for each example took half of the test's time."""
    fresh = min(depth, MUTATED_DEPTH + 1)
    key = (depth - fresh, kind)
    if key not in _DEEP_TAILS:
        _DEEP_TAILS[key] = deeply_nested(depth - fresh, kind)
    value = _DEEP_TAILS[key]
    for _ in range(fresh):
        value = [value] if kind is list else {"k": value}
    return value


ODD_VALUES = st.recursive(
    st.one_of(
        st.sampled_from(ODD_STRINGS),
        st.text(max_size=20),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.builds(huge_integer),
        st.builds(huge_integer).map(lambda n: -n),
        st.sampled_from([10**400, -(10**400), 2**64, 1e300, -0.0]),
        st.integers(1, 4).map(lambda n: deep_value(DEEP // n, list)),
        st.integers(1, 4).map(lambda n: deep_value(DEEP // n, dict)),
    ),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(ODD_KEYS, children, max_size=4)),
    max_leaves=8,
)


def paths(value: Any, path: Path = ()) -> list[Path]:
    """Every place in the properties: each member and item, at any depth (not inside a deep mutation's value)."""
    found = [path]
    if len(path) < MUTATED_DEPTH:
        if isinstance(value, dict):
            for key, item in value.items():
                found.extend(paths(item, (*path, key)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                found.extend(paths(item, (*path, index)))
    return found


def node_at(properties: dict[str, Any], path: Path) -> Any:
    node: Any = properties
    for part in path:
        node = node[part]
    return node


def parent_of(properties: dict[str, Any], path: Path) -> Any:
    return node_at(properties, path[:-1])


@st.composite
def mutated(draw: st.DrawFn, resource_type: str) -> Any:
    properties = draw(st.sampled_from(VALID[resource_type]))()
    for _ in range(draw(st.integers(1, 3))):
        everywhere = paths(properties)
        scalars = [path for path in everywhere if path and not isinstance(node_at(properties, path), (dict, list))]
        path = draw(st.sampled_from(scalars) | st.sampled_from(everywhere) if scalars else st.sampled_from(everywhere))
        action = draw(st.sampled_from(["replace", "replace with a string", "insert a character", "delete", "add"]))
        if not path:
            if action == "replace":
                return draw(ODD_VALUES)
            action = "add"
        if action == "add":
            target = node_at(properties, path)
            if isinstance(target, dict):
                target[draw(ODD_KEYS)] = draw(ODD_VALUES)
            elif isinstance(target, list):
                target.append(draw(ODD_VALUES))
            continue
        parent = parent_of(properties, path)
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(ODD_VALUES)
        elif action == "insert a character" and isinstance(parent[path[-1]], str):
            value = parent[path[-1]]
            at = draw(st.integers(0, len(value)))
            parent[path[-1]] = value[:at] + draw(st.sampled_from("\ud800\udfff\x00\n\u00e9\U0001f600 ")) + value[at:]
        else:  # what CloudFormation sends for a scalar, of any member type
            parent[path[-1]] = draw(st.sampled_from(NUMBER_STRINGS) | st.sampled_from(ODD_STRINGS))
    return properties


@pytest.mark.parametrize("resource_type", sorted(contract.CONTRACTS))
@settings(
    derandomize=True,
    deadline=None,
    max_examples=300,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_any_properties_give_a_request_or_invalid_properties(resource_type, data):
    properties = data.draw(mutated(resource_type), label="properties")
    try:
        request = contract.create_request(resource_type, properties)
    except contract.InvalidProperties as error:
        check_message(str(error), error.problems, resource_type, properties)
    else:  # a request that can be sent (botocore encodes it in UTF-8) and fingerprinted as the handler does
        json.dumps(request, ensure_ascii=False).encode()
        contract.configuration_fingerprint(resource_type, request)


# --- documents and blobs, against botocore's own validation -----------------------------------------------------


def _rag_evaluation(source: dict[str, Any] | None = None, filter_value: Any = "drama") -> dict[str, Any]:
    """A knowledge base evaluation as the API reference shapes it: a retrieval with a metadata filter (its value a
    document: any JSON value), or, given source, a retrieve-and-generate over that external source."""
    knowledge_base: dict[str, Any] = {
        "retrieveConfig": {
            "knowledgeBaseId": "ABCDEFGHIJ",
            "knowledgeBaseRetrievalConfiguration": {
                "vectorSearchConfiguration": {"filter": {"equals": {"key": "genre", "value": filter_value}}}
            },
        }
    }
    if source is not None:
        model = f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
        knowledge_base = {
            "retrieveAndGenerateConfig": {
                "type": "EXTERNAL_SOURCES",
                "externalSourcesConfiguration": {"modelArn": model, "sources": [source]},
            }
        }
    judge = {"bedrockEvaluatorModels": [{"modelIdentifier": "anthropic.claude-3-haiku-20240307-v1:0"}]}
    dataset = {"name": "ds", "datasetLocation": {"s3Uri": "s3://bucket/ds.jsonl"}}
    return {
        "jobName": "rag-eval",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/evaluations",
        "applicationType": "RagEvaluation",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {"taskType": "General", "dataset": dataset, "metricNames": ["Builtin.Correctness"]}
                ],
                "evaluatorModelConfig": judge,
            }
        },
        "inferenceConfig": {"ragConfigs": [{"knowledgeBaseConfig": knowledge_base}]},
        "outputDataConfig": {"s3Uri": "s3://bucket/out/"},
    }


def _botocore_problems(operation: str, request: dict[str, Any]) -> str:
    model = contract.service_model().operation_model(operation)
    return str(ParamValidator().validate(request, model.input_shape).generate_report())


@pytest.mark.parametrize("value", ["drama", 5, 2.5, True, ["drama", "comedy"], {"nested": [1, {"deep": None}]}])
def test_a_document_member_takes_any_json_value_as_botocore_does(value):
    properties = _rag_evaluation(filter_value=value)
    assert _botocore_problems("CreateEvaluationJob", properties) == ""
    contract.create_request(contract.MODEL_EVALUATION, properties)


def test_a_blob_member_is_a_string_of_its_bytes_bounds():
    """A template gives a blob as a string, which botocore sends as its UTF-8 bytes; ByteContentBlob has min 1."""
    source = {"sourceType": "BYTE_CONTENT", "byteContent": {"identifier": "doc", "contentType": "text/plain"}}
    content = source["byteContent"]
    for good in ("Paris is the capital of France.", "é"):
        properties = _rag_evaluation({**source, "byteContent": {**content, "data": good}})
        assert _botocore_problems("CreateEvaluationJob", properties) == ""
        contract.create_request(contract.MODEL_EVALUATION, properties)
    for bad in (5, {"a": 1}, ["x"]):
        properties = _rag_evaluation({**source, "byteContent": {**content, "data": bad}})
        assert "Invalid type for parameter" in _botocore_problems("CreateEvaluationJob", properties)
        with pytest.raises(contract.InvalidProperties, match=r"byteContent\.data: expected a string, got"):
            contract.create_request(contract.MODEL_EVALUATION, properties)
    empty = _rag_evaluation({**source, "byteContent": {**content, "data": ""}})
    assert contract.shape("ByteContentBlob").metadata["min"] == 1
    with pytest.raises(contract.InvalidProperties, match=r"byteContent\.data: '' has 0 bytes; it must have at least 1"):
        contract.create_request(contract.MODEL_EVALUATION, empty)
