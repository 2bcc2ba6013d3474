"""The rehearsal's EventBridge delivers an event to the rules whose pattern EventBridge matches to it, content
filters included (a user's own rule on Bedrock's job state changes), and fails a rule whose pattern EventBridge
refuses, as CloudFormation fails it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal.clock import VirtualClock
from cdk_bedrock_customization.rehearsal.engine import LocalStack, Printer
from cdk_bedrock_customization.rehearsal.event_rules import EventRules, event_pattern
from cdk_bedrock_customization.rehearsal.template import Environment, Template
from hypothesis import given
from hypothesis import strategies as st
from moto.events.exceptions import InvalidEventPatternException

STACK = "RulesUnderTest"
ENV = Environment("111122223333", "us-east-1", STACK, f"arn:aws:cloudformation:us-east-1:111122223333:stack/{STACK}/1")
JOB = "arn:aws:bedrock:us-east-1:111122223333:model-customization-job/amazon.nova-micro-v1:0:128k/abc123"

# The patterns of the EventBridge user guide's "Content filtering in Amazon EventBridge event patterns":
# anything-but, prefix, and an event's array matched when it shares a value with the pattern's.
RULES = {
    "NotCompleted": {"source": ["aws.bedrock"], "detail": {"status": [{"anything-but": ["Completed"]}]}},
    "Nightly": {"detail": {"jobName": [{"prefix": "nightly-"}]}},
    "ThisJob": {"resources": [JOB]},
    "Completed": {"detail": {"status": ["Completed"]}},
}


@pytest.fixture
def stack(tmp_path) -> Iterator[LocalStack]:
    clock = VirtualClock()
    local = LocalStack(ENV, clock, Printer(clock, lambda _line: None), threading.RLock())
    resources = {
        name: {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": pattern,
                "Targets": [{"Arn": f"arn:aws:lambda:us-east-1:111122223333:function:{name}", "Id": "T"}],
            },
        }
        for name, pattern in RULES.items()
    }
    assert local.deploy(Template({"Resources": resources}), tmp_path).succeeded
    yield local
    local.close()


@contextlib.contextmanager
def one_rule(tmp_path: Any, **properties: Any) -> Iterator[tuple[LocalStack, Any]]:
    """A stack of one rule with these properties, targeting the function F: the stack and its create's outcome."""
    clock = VirtualClock()
    local = LocalStack(ENV, clock, Printer(clock, lambda _line: None), threading.RLock())
    target = {"Arn": "arn:aws:lambda:us-east-1:111122223333:function:F", "Id": "T"}
    rule = {"Type": "AWS::Events::Rule", "Properties": {"Targets": [target], **properties}}
    try:
        yield local, local.deploy(Template({"Resources": {"Rule": rule}}), tmp_path)
    finally:
        local.close()


def delivered(stack: LocalStack, event: Mapping[str, Any]) -> list[str]:
    """The functions the event reaches, by the stack's rules."""
    invoked: list[str] = []
    rules = EventRules(
        stack.resources,
        threading.RLock(),
        None,  # type: ignore[arg-type]  # no single function here
        stack.clock.event(),
        None,  # type: ignore[arg-type]
        lambda arn, _payload: invoked.append(arn.rsplit(":", 1)[-1]),
        stack.printer.line,
    )
    with stack.clock.actor():
        rules.publish(event)
        stack.clock.sleep(1)  # the deliveries are actors of their own: they run while this one sleeps
    return sorted(invoked)


def job_state_change(status: str, job_name: str) -> dict[str, Any]:
    """Bedrock's "Model Customization Job State Change" event (the user guide's example), with another job's ARN
    beside this job's in resources."""
    return {
        "version": "0",
        "detail-type": "Model Customization Job State Change",
        "source": "aws.bedrock",
        "resources": ["arn:aws:bedrock:us-east-1:111122223333:custom-model/other", JOB],
        "detail": {"jobArn": JOB, "jobName": job_name, "status": status},
    }


@pytest.mark.parametrize(
    ("status", "job_name", "reached"),
    [
        ("Failed", "nightly-7", ["Nightly", "NotCompleted", "ThisJob"]),
        ("Completed", "adhoc", ["Completed", "ThisJob"]),
    ],
)
def test_an_event_reaches_the_rules_eventbridge_matches_it_to(stack, status, job_name, reached):
    assert delivered(stack, job_state_change(status, job_name)) == reached


def test_an_event_of_another_source_reaches_only_the_rules_that_do_not_ask_for_one(stack):
    event = {"source": "aws.s3", "resources": [], "detail": {"status": "Failed", "jobName": "nightly-1"}}
    assert delivered(stack, event) == ["Nightly"]


def test_a_target_the_rehearsal_does_not_have_is_reported_and_the_stack_never_knows(tmp_path):
    """A topic, or a function of another account: EventBridge's delivery fails there, and the stack never knows."""
    clock = VirtualClock()
    local = LocalStack(ENV, clock, Printer(clock, lambda _line: None), threading.RLock())
    topic = "arn:aws:sns:us-east-1:111122223333:job-alerts"
    elsewhere = "arn:aws:lambda:us-east-1:444455556666:function:Alerts"
    targets = [{"Arn": topic, "Id": "Topic"}, {"Arn": elsewhere, "Id": "Elsewhere"}]
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {"EventPattern": {"source": ["aws.bedrock"]}, "Targets": targets},
    }
    try:
        assert local.deploy(Template({"Resources": {"Alerts": rule}}), tmp_path).succeeded
        with clock.actor():
            local.publish(job_state_change("Failed", "nightly-1"))
            clock.sleep(1)
        assert local.printer.lines[-2:] == [
            f"EventBridge delivers to {topic}: not rehearsed (no function of the rehearsal)",
            f"EventBridge delivers to {elsewhere}: not rehearsed (no function of the rehearsal)",
        ]
        assert local.status == "CREATE_COMPLETE"
    finally:
        local.close()


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ({"source": []}, "Empty arrays are not allowed"),
        ({"source": "aws.bedrock"}, "'source' must be an object or an array"),
        ('{"source": ["aws.bedrock"]', "Invalid JSON"),
        # event-ruler's JsonRuleCompiler (EventBridge's matching engine), each reason as it words it:
        ({"detail": {"status": [{"prefx": "Fail"}]}}, "Unrecognized match type prefx"),
        ({"detail": {"status": [{"prefix": 5}]}}, "prefix match pattern must be a string"),
        ({"detail": {"status": [{"suffix": ["x"]}]}}, "suffix match pattern must be a string"),
        ({"detail": {"status": [{"exists": "yes"}]}}, "exists match pattern must be either true or false."),
        ({"detail": {"n": [{"numeric": ["~", 1]}]}}, "Unrecognized numeric range operator: ~"),
        ({"detail": {"n": [{"numeric": [">", 0, "<=", "5"]}]}}, "Value of <= must be numeric"),
        ({"detail": {"n": [{"numeric": [">", 0, "=", 5]}]}}, "Bad numeric range operator: ="),
        ({"detail": {"n": [{"numeric": ["=", 1, "<", 5]}]}}, "Too many elements in numeric expression"),
        ({"detail": {"n": [{"numeric": "> 5"}]}}, "Value of numeric must be an array."),
        (
            {"detail": {"status": [{"anything-but": ["Failed", 1]}]}},
            "Inside anything but list, either all values are number or string, mixed type is not supported",
        ),
        ({"detail": {"status": [{"anything-but": {"contains": "x"}}]}}, "Unsupported anything-but pattern: contains"),
        ({"detail": {"status": [{"prefix": "F", "suffix": "d"}]}}, "Only one key allowed in match expression"),
        ({"$or": [{"a": ["x"]}, {"b": [{"wildcard": 1}]}]}, "wildcard match pattern must be a string"),
        ({"detail": {"n": [{"numeric": [">", 10, "<", 5]}]}}, "Bottom must be less than top"),
        ({"detail": {"n": [{"numeric": [">=", 5, "<=", 5]}]}}, "Bottom must be less than top"),
        ({"detail": {"status": [{"wildcard": "Fail**"}]}}, "Consecutive wildcard characters at pos 5"),
        ({"detail": {"status": [{"wildcard": "a\\b"}]}}, "Invalid escape character at pos 2"),
        ({"detail": {"status": [{"anything-but": {"wildcard": "x\\"}}]}}, "Invalid escape character at pos 2"),
        ({"detail": {"ip": [{"cidr": "10.0.0.0/99"}]}}, "IPv4 mask bits must be < 32"),
        ({"detail": {"ip": [{"cidr": "10.0.0.1/32"}]}}, "IPv4 mask bits must be < 32"),
        ({"detail": {"ip": [{"cidr": "2001:db8::1/128"}]}}, "IPv6 mask bits must be < 128"),
        ({"detail": {"ip": [{"cidr": "10.0.0.1"}]}}, "Malformed CIDR, one '/' required"),
        ({"detail": {"ip": [{"cidr": "10.0.0.0/255.0.0.0"}]}}, "Malformed CIDR, mask bits must be an integer"),
        ({"detail": {"ip": [{"cidr": "::ffff:10.0.0.0/104"}]}}, "Nonstandard IP address: ::ffff:10.0.0.0"),
        ({"detail": {"ip": [{"cidr": "300.0.0.0/8"}]}}, "Invalid IP address: 300.0.0.0"),
        (
            {"$or": [{"numeric": ["x"]}, {"b": ["x"]}]},
            "numeric is Ruler reserved fieldName which cannot be used inside $or.",
        ),
        (
            {"$or": [{"a": {"prefix": ["x"]}}, {"b": ["x"]}]},
            "prefix is Ruler reserved fieldName which cannot be used inside $or.",
        ),
        ({"detail": {"n": [{"numeric": ["=", "5"]}]}}, "Value of equals must be numeric"),
        ('{"detail": {"n": [NaN]}}', "Invalid JSON"),
        # event-ruler's ComparableNumber: a number a double holds exactly, as written
        ('{"n": [{"numeric": [">", 1e400]}]}', "Cannot compare number : 1E+400"),
        ('{"n": [{"numeric": ["=", 0.30000000000000001]}]}', "Cannot compare number : 0.30000000000000001"),
        ({"n": [{"numeric": [">", 12345678901234567890]}]}, "Cannot compare number : 12345678901234567890"),
        ({"n": [{"anything-but": 12345678901234567890}]}, "Cannot compare number : 12345678901234567890"),
        ({"n": [{"anything-but": [1, 9007199254740993]}]}, "Cannot compare number : 9007199254740993"),
        ({"ip": [{"cidr": "::ffff:102:304/96"}]}, "IPv4 mask bits must be < 32"),  # IPv4 in IPv6, as Java reads it
        ({"detail": {"status": [["Failed"]]}}, "Match value must be String, number, true, false, or null"),
        ({"source": ["aws.bedrock"], "detail": {}}, "Empty objects are not allowed"),
        ({"$or": [{"source": ["aws.bedrock"]}]}, "There must have at least 2 Objects in $or relationship."),
        ({"$or": [{"source": ["aws.bedrock"]}, "x"]}, "Only JSON object is allowed in array of $or relationship."),
        ({"$or": {"source": ["aws.bedrock"]}}, "It must be an Array followed with $or."),
        ('["aws.bedrock"]', "Filter is not an object"),
    ],
)
def test_a_rule_whose_pattern_eventbridge_refuses_fails_and_nothing_is_left(tmp_path, pattern, reason):
    with one_rule(tmp_path, EventPattern=pattern) as (local, outcome):
        assert not outcome.succeeded
        assert outcome.reason == (
            f'Rule: Resource handler returned message: "Event pattern is not valid. Reason: {reason}" '
            "(Service: EventBridge, Status Code: 400)"
        )
        assert local.resources.of_type("AWS::Events::Rule") == []


@pytest.mark.parametrize(
    ("properties", "reached"),
    [
        ({"State": "DISABLED"}, []),
        ({"EventBusName": "team-bus"}, []),
        ({"EventBusName": "arn:aws:events:us-east-1:111122223333:event-bus/team-bus"}, []),
        ({"EventBusName": "default"}, ["F"]),
        ({"EventBusName": "arn:aws:events:us-east-1:111122223333:event-bus/default"}, ["F"]),
        ({"State": "ENABLED"}, ["F"]),
    ],
    ids=["disabled", "custom-bus", "custom-bus-arn", "default-bus", "default-bus-arn", "enabled"],
)
def test_bedrocks_events_reach_only_enabled_rules_on_the_default_bus(tmp_path, properties, reached):
    """EventBridge matches no event to a DISABLED rule, and AWS services' events (Bedrock's job state changes) go to
    the account's default event bus only (AWS::Events::Rule's State and EventBusName)."""
    with one_rule(tmp_path, EventPattern={"source": ["aws.bedrock"]}, **properties) as (local, outcome):
        assert outcome.succeeded
        assert delivered(local, job_state_change("Completed", "adhoc")) == reached


@pytest.mark.parametrize(("state", "runs"), [("ENABLED", 3), ("DISABLED", 0)])
def test_a_disabled_rate_rule_is_not_played(tmp_path, state, runs):
    """A DISABLED rule's schedule does not fire (AWS::Events::Rule's State); an enabled rate(1 minute) fires each
    minute."""
    invoked: list[str] = []
    with one_rule(tmp_path, ScheduleExpression="rate(1 minute)", State=state) as (local, outcome):
        assert outcome.succeeded
        rules = EventRules(
            local.resources,
            threading.RLock(),
            None,  # type: ignore[arg-type]  # no single function here
            local.clock.event(),
            lambda arn, _payload: invoked.append(arn),  # type: ignore[arg-type,return-value]
            lambda _arn, _payload: None,
            local.printer.line,
        )
        with local.clock.actor():
            rules.start_schedules()
            local.clock.sleep(3 * 60 + 1)
            rules.stop_schedules()
    assert len(invoked) == runs


# Every example of the EventBridge user guide's "Comparison operators for use in event patterns" (event bus support).
DOCUMENTED_PATTERNS = [
    {"Location": ["New York"], "Day": ["Monday"]},
    {"state": [{"anything-but": "initializing"}]},
    {"x-limit": [{"anything-but": 123}]},
    {"state": [{"anything-but": ["stopped", "overloaded"]}]},
    {"x-limit": [{"anything-but": [100, 200, 300]}]},
    {"Region": [{"anything-but": {"prefix": "us-"}}]},
    {"FileName": [{"anything-but": {"suffix": ".png"}}]},
    {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
    {"state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]},
    {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
    {"Region": [{"prefix": "us-"}]},
    {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]},
    {"LastName": [""]},
    {"Name": ["Alice", "Bob"]},
    {"FileName": [{"suffix": ".png"}]},
    {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]},
    {"ProductName": [{"exists": True}]},
    {"ProductName": [{"exists": False}]},
    {"Name": [{"equals-ignore-case": "alice"}]},
    {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]},
    {"UserID": [None]},
    {"Price": [{"numeric": [">", 0, "<=", 5]}]},
    {"Price": [{"numeric": ["<", 10]}]},
    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
    {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
    {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]},
    {"source": ["aws.bedrock"], "detail": {"$or": [{"status": ["Failed"]}, {"jobName": [{"prefix": "nightly-"}]}]}},
    # event-ruler's other forms: its exact match, and an empty anything-but list ignoring case
    {"status": [{"exactly": "Failed"}]},
    {"FileName": [{"wildcard": "report\\**"}]},  # an escaped *, then a wildcard
    {"FileName": [{"anything-but": {"wildcard": "tmp\\**"}}]},
    {"ip": [{"cidr": "10.0.0.0/31"}]},
    {"ip": [{"cidr": "10.0.0.0/8/"}]},  # Java's split drops the trailing empty part
    {"ip": [{"cidr": "10.0.0.0/\u0668"}]},  # Integer.parseInt reads any Unicode digit (8)
    {"Price": [{"numeric": [">", 0.1, "<=", 5e9]}]},
    {"Name": ["\u4e2d" * 1400]},  # 1,415 characters: under 4096 however JSON escapes them
    {"state": [{"anything-but": {"equals-ignore-case": []}}]},
    {"ip": [{"cidr": "2001:db8::/32"}]},
    {"Price": [{"numeric": [">=", 0, "<", 0.5]}]},
]


@pytest.mark.parametrize("pattern", DOCUMENTED_PATTERNS)
def test_every_documented_filter_makes_a_rule(tmp_path, pattern):
    """The rehearsal refuses no pattern the user guide documents (a false refusal would fail a stack AWS deploys)."""
    with one_rule(tmp_path, EventPattern=pattern) as (local, outcome):
        assert outcome.succeeded, outcome.reason
        delivered(local, job_state_change("Completed", "adhoc"))  # matching does not fail either


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.sampled_from(["<", "<=", "=", ">", ">=", "10.0.0.0/24", "*"]),
)
_KEYS = st.sampled_from(
    ["prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "equals-ignore-case", "wildcard", "x", "<", ">"]
)
_OPERANDS = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=2))


@given(
    expressions=st.lists(st.one_of(_LEAVES, st.dictionaries(_KEYS, _OPERANDS, max_size=2)), min_size=1, max_size=3),
    status=st.one_of(st.text(max_size=5), st.integers(), st.none()),
)
def test_a_pattern_is_either_refused_at_create_or_matched_without_failing(expressions, status):
    """Whatever a rule's pattern holds, EventBridge refuses it when the rule is made, or matches events with it:
    the rehearsal never fails later, while delivering Bedrock's events (as it did on {"prefix": 5})."""
    pattern = {"detail": {"status": expressions}}
    try:
        matcher = event_pattern(pattern)
    except InvalidEventPatternException:
        return
    matcher.matches_event({"source": "aws.bedrock", "detail": {"status": status}})  # type: ignore[typeddict-item]


def test_an_exact_match_receives_only_its_value(tmp_path):
    """event-ruler's {"exactly": value} is the value itself (moto would take the unknown operator for any value)."""
    with one_rule(tmp_path, EventPattern={"detail": {"status": [{"exactly": "Failed"}]}}) as (local, outcome):
        assert outcome.succeeded
        assert delivered(local, job_state_change("Completed", "adhoc")) == []
        assert delivered(local, job_state_change("Failed", "adhoc")) == ["F"]


@pytest.mark.parametrize(("padding", "refused"), [(4096, False), (4097, True)])
def test_a_pattern_over_4096_characters_fails_the_rule(tmp_path, padding, refused):
    """botocore's events model: PutRule's EventPattern is at most 4096 characters (the object written compactly)."""
    frame = len('{"source":[""]}')
    with one_rule(tmp_path, EventPattern={"source": ["x" * (padding - frame)]}) as (_local, outcome):
        assert outcome.succeeded is not refused
        if refused:
            assert f"#/EventPattern: expected maxLength: 4096, actual: {padding}" in outcome.reason


def test_a_cidr_matches_as_event_ruler_reads_it(tmp_path):
    """event-ruler takes a CIDR's network whatever its host bits (10.0.0.1/8 is 10.0.0.0/8); moto's strict parse
    matched nothing."""
    with one_rule(tmp_path, EventPattern={"detail": {"ip": [{"cidr": "10.0.0.1/8"}]}}) as (local, outcome):
        assert outcome.succeeded
        assert delivered(local, {"source": "aws.ec2", "resources": [], "detail": {"ip": "10.1.2.3"}}) == ["F"]
        assert delivered(local, {"source": "aws.ec2", "resources": [], "detail": {"ip": "11.1.2.3"}}) == []
