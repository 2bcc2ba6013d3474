"""EventBridge for one stack, on the virtual clock: the stack's rules deliver the events that match their
pattern (Bedrock's job state changes) to their targets, and play their rate (the backstop's schedule) from
their creation on; the polling rules that the single-function provider (crhelper) makes in moto's EventBridge
are played at their rate until it removes them."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn, cast

from moto.events.exceptions import InvalidEventPatternException
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from .clock import Event, VirtualClock
from .framework_host import InvokeResult
from .single_function import SingleFunctionRuntime, rate_seconds
from .stack_resources import Deployed, ResourceFailed, StackResources
from .template import Environment

RULE = "AWS::Events::Rule"
Invoke = Callable[[str, Mapping[str, Any]], InvokeResult]


class EventRules:
    """The rules of one stack, and the polling rules of its single functions.

    guard: held around the single functions' runtime (see LambdaService); closed: set when the stack closes,
    which ends the polling rules' play; invoke and invoke_async: Lambda's invocations of a target; report: a
    line of the rehearsal's output."""

    def __init__(
        self,
        resources: StackResources,
        guard: threading.RLock,
        single_functions: SingleFunctionRuntime,
        closed: Event,
        invoke: Invoke,
        invoke_async: Callable[[str, Mapping[str, Any]], None],
        report: Callable[[str], None],
    ) -> None:
        self.resources = resources
        self.clock: VirtualClock = resources.clock
        self.guard = guard
        self.single_functions = single_functions
        self.closed = closed
        self.invoke = invoke
        self.invoke_async = invoke_async
        self.report = report
        self._played_rules: set[str] = set()  # polling rules in moto's EventBridge, each played by a thread
        # The schedules (rate rules) being played: (rule's logical id, target's index) -> what stops it.
        self._schedules: dict[tuple[str, int], Event] = {}
        self._schedules_lock = threading.Lock()  # resources are created at once: one schedule per target

    def publish(self, event: Mapping[str, Any]) -> None:
        """Deliver an event to the targets of the stack's rules whose pattern matches it."""
        for rule, target in self._rule_targets():
            pattern = rule.properties.get("EventPattern")
            if pattern and event_pattern(pattern).matches_event(cast(EventMessageType, dict(event))):
                payload = json.loads(target["Input"]) if "Input" in target else dict(event)
                self.clock.spawn(self._deliver, str(target["Arn"]), payload, name=f"event-{rule.logical_id}")

    def _deliver(self, target_arn: str, payload: Mapping[str, Any]) -> None:
        """A function of the cloud runs; a target the rehearsal does not have (another service's, or a function
        of no stack here) is reported: EventBridge retries it, then drops the event, and the stack never knows."""
        try:
            self.invoke_async(target_arn, payload)
        except ResourceFailed:
            self.report(f"EventBridge delivers to {target_arn}: not rehearsed (no function of the rehearsal)")

    def _rule_targets(self) -> list[tuple[Deployed, dict[str, Any]]]:
        """The targets of the enabled rules on the default event bus, where AWS services' events go."""
        rules = [rule for rule in self._enabled_rules() if _on_default_bus(rule.properties.get("EventBusName"))]
        return [(rule, target) for rule in rules for target in rule.properties.get("Targets", [])]

    def _enabled_rules(self) -> list[Deployed]:
        """The stack's rules but those whose State is DISABLED (AWS::Events::Rule's State; ENABLED by default)."""
        return [rule for rule in self.resources.of_type(RULE) if rule.properties.get("State") != "DISABLED"]

    # --- the stack's rate rules -------------------------------------------------------------------------

    def start_schedules(self) -> None:
        """Play every rate rule's targets that is not played yet, from now on."""
        rules = self._enabled_rules()
        with self._schedules_lock:
            for rule in rules:
                interval = rate_seconds(str(rule.properties.get("ScheduleExpression", "")))
                for index, target in enumerate(rule.properties.get("Targets", [])):
                    if interval is not None and (rule.logical_id, index) not in self._schedules:
                        stop = self._schedules[rule.logical_id, index] = self.clock.event()
                        self.clock.spawn(self._run_schedule, interval, target, stop, name=f"schedule-{rule.logical_id}")

    def stop_schedules(self) -> None:
        with self._schedules_lock:
            for stop in self._schedules.values():
                stop.set()
            self._schedules.clear()

    def _run_schedule(self, interval: float, target: Mapping[str, Any], stop: Event) -> None:
        while not self.clock.sleep(interval, until=stop):
            payload = json.loads(target["Input"]) if "Input" in target else {}
            with contextlib.suppress(ResourceFailed):  # the function may be gone while the stack is deleted
                self.invoke(str(target["Arn"]), payload)

    # --- the single functions' polling rules ------------------------------------------------------------

    def play_new_polling_rules(self, function_arn: str) -> None:
        """Start playing the polling rules that now target the function. Called with the guard held, as is
        the check that ends a rule's thread, so that a rule is never both found gone and made anew unplayed."""
        for rule in self.single_functions.polling_rules(function_arn):
            if rule not in self._played_rules:
                self._played_rules.add(rule)
                self.clock.spawn(self._play_polling_rule, rule, name=f"rule-{rule}")

    def _play_polling_rule(self, rule: str) -> None:
        """Invoke the rule's targets with their Input at its rate, until the rule is deleted."""
        with self.guard:
            schedule = self.single_functions.schedule(rule)
        while schedule is not None and not self.clock.sleep(schedule.interval_seconds, until=self.closed):
            with self.guard:
                schedule = self.single_functions.schedule(rule)
                if schedule is None:
                    break
            for target_arn, event in schedule.targets:
                self.invoke_async(target_arn, event)
        with self.guard:
            self._played_rules.discard(rule)


def _on_default_bus(bus: Any) -> bool:
    """Whether a rule's EventBusName (a name or an ARN; none: the default bus) is the account's default bus."""
    return bus is None or str(bus) == "default" or str(bus).endswith(":event-bus/default")


def event_pattern(pattern: str | Mapping[str, Any]) -> EventPattern:
    """A rule's EventPattern (an object, or its JSON text in a plain template), matched as moto's EventBridge
    matches it; raises InvalidEventPatternException where EventBridge refuses it."""
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    try:  # numbers as written, to refuse those a double cannot hold, as event-ruler does
        written = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_not_json)
    except ValueError:
        return EventPattern.load("{")  # refuses it, as EventBridge words it
    if not isinstance(written, dict):
        _refuse("Filter is not an object")
    _check_object(written, in_or=False)
    return EventPattern.load(json.dumps(_as_moto_matches(json.loads(text))))


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")  # Python reads NaN and Infinity; EventBridge's JSON parser does not


def _as_moto_matches(pattern: Any) -> Any:
    """The pattern written for moto's matcher as event-ruler reads it: {"exactly": value} as the value (moto would
    match anything), a CIDR as its network (moto's is strict about host bits and IPv4 in IPv6)."""
    if isinstance(pattern, dict):
        if set(pattern) == {"exactly"} and _is_string(pattern["exactly"]):
            return pattern["exactly"]
        if set(pattern) == {"cidr"} and _is_string(pattern["cidr"]):
            return {"cidr": str(_cidr_network(pattern["cidr"]))}
        return {name: _as_moto_matches(value) for name, value in pattern.items()}
    if isinstance(pattern, list):
        return [_as_moto_matches(value) for value in pattern]
    return pattern


# moto takes patterns EventBridge refuses when the rule is made. EventBridge's matching engine, its open-source
# event-ruler (JsonRuleCompiler), refuses these, with these reasons; the operators and their operands are the user
# guide's ("Comparison operators for use in event patterns").
_STRING_OPERATORS = ("exactly", "equals-ignore-case", "wildcard", "cidr")
_NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")
# Names event-ruler reserves inside $or (Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
_RESERVED_IN_OR = {
    *_STRING_OPERATORS,
    *_NUMERIC_OPERATORS,
    *("prefix", "suffix", "anything-but", "exists", "numeric", "regex", "not-wildcard", "not-equals-ignore-case"),
    *("date-after", "date-on-or-after", "date-before", "date-on-or-before", "in-date-range"),
    *("ip-address-in-range", "ip-address-not-in-range"),
}


def _check_object(pattern: Mapping[str, Any], *, in_or: bool) -> None:
    if not pattern:
        _refuse("Empty objects are not allowed")
    for name, value in pattern.items():
        if in_or and name in _RESERVED_IN_OR:
            _refuse(f"{name} is Ruler reserved fieldName which cannot be used inside $or.")
        if name == "$or":
            if not isinstance(value, list):
                _refuse("It must be an Array followed with $or.")
            if not all(isinstance(branch, dict) for branch in value):
                _refuse("Only JSON object is allowed in array of $or relationship.")
            if len(value) < 2:
                _refuse("There must have at least 2 Objects in $or relationship.")
            for branch in value:
                _check_object(branch, in_or=True)
        elif isinstance(value, dict):
            _check_object(value, in_or=in_or)
        elif isinstance(value, list):
            if not value:
                _refuse("Empty arrays are not allowed")
            for expression in value:
                if isinstance(expression, dict):
                    _check_match_expression(expression)
                elif isinstance(expression, list):
                    _refuse("Match value must be String, number, true, false, or null")
        else:
            _refuse(f"'{name}' must be an object or an array")


def _refuse(reason: str) -> NoReturn:
    raise InvalidEventPatternException(reason)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _check_comparable(number: Any) -> None:
    """event-ruler's ComparableNumber: a number a double holds exactly (as written), and finite."""
    as_double = float(number)
    if math.isinf(as_double) or Decimal(repr(as_double)) != Decimal(number):
        _refuse(f"Cannot compare number : {number}")


def _check_match_expression(expression: Mapping[str, Any]) -> None:
    if len(expression) != 1:
        _refuse("Only one key allowed in match expression" if expression else "Match expression name not found")
    ((operator, operand),) = expression.items()
    if operator in ("prefix", "suffix"):
        ignoring_case = isinstance(operand, dict) and list(operand) == ["equals-ignore-case"]
        if not _is_string(operand["equals-ignore-case"] if ignoring_case else operand):
            _refuse(f"{operator} match pattern must be a string")
    elif operator in _STRING_OPERATORS:
        if not _is_string(operand):
            _refuse(f"{operator} match pattern must be a string")
        if operator == "wildcard":
            _check_wildcard(operand)
        if operator == "cidr":
            _cidr_network(operand)
    elif operator == "exists":
        if not isinstance(operand, bool):
            _refuse("exists match pattern must be either true or false.")
    elif operator == "numeric":
        _check_numeric(operand)
    elif operator == "anything-but":
        _check_anything_but(operand)
    else:
        _refuse(f"Unrecognized match type {operator}")


def _check_numeric(operand: Any) -> None:
    """[op, number] or a range [>|>=, number, <|<=, number]."""
    if not isinstance(operand, list):
        _refuse("Value of numeric must be an array.")
    if not operand or operand[0] not in _NUMERIC_OPERATORS:
        _refuse(f"Unrecognized numeric range operator: {operand[0] if operand else ''}")
    for index in range(0, len(operand), 2):
        if index + 1 >= len(operand) or not _is_number(operand[index + 1]):
            _refuse(f"Value of {'equals' if operand[index] == '=' else operand[index]} must be numeric")
        _check_comparable(operand[index + 1])
    if len(operand) > 4 or (len(operand) > 2 and operand[0] not in (">", ">=")):
        _refuse("Too many elements in numeric expression")
    if len(operand) == 4 and operand[2] not in ("<", "<="):
        _refuse(f"Bad numeric range operator: {operand[2]}")
    if len(operand) == 4 and not operand[1] < operand[3]:
        _refuse("Bottom must be less than top")


def _check_wildcard(text: str) -> None:
    """event-ruler's WildcardParser, over the text's UTF-8 bytes: a backslash escapes * or a backslash only."""
    encoded, index = f'"{text}"'.encode(), 0  # as event-ruler parses it, in its quotes
    while index < len(encoded):
        if encoded[index : index + 2] == b"**":
            _refuse(f"Consecutive wildcard characters at pos {index}")
        if encoded[index : index + 1] == b"\\":
            if encoded[index + 1 : index + 2] not in (b"*", b"\\"):
                _refuse(f"Invalid escape character at pos {index}")
            index += 1
        index += 1


# event-ruler's forms of an address (Constants.IPv4_REGEX, IPv6_REGEX).
_IP_FORMS = (re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+"), re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*"))


def _cidr_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """event-ruler's CIDR.cidr: ADDRESS/BITS (Java's split: trailing slashes dropped; Integer.parseInt's digits), BITS
    below the address's length (an IPv4-mapped IPv6 address is IPv4's, as InetAddress reads it); the network it
    covers. A single address is a plain value, not a CIDR."""
    parts = text.split("/")
    while len(parts) > 1 and not parts[-1]:
        parts.pop()
    if len(parts) != 2:
        _refuse("Malformed CIDR, one '/' required")
    address, bits = parts
    if not re.fullmatch(r"[+-]?\d+", bits):
        _refuse("Malformed CIDR, mask bits must be an integer")
    if int(bits) < 0:
        _refuse("Malformed CIDR, mask bits must not be negative")
    if not any(form.fullmatch(address) for form in _IP_FORMS):
        _refuse(f"Nonstandard IP address: {address}")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        _refuse(f"Invalid IP address: {address}")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    length = ip.max_prefixlen
    if int(bits) >= length:
        _refuse(f"IPv{ip.version} mask bits must be < {length}")
    return ipaddress.ip_network(f"{ip}/{int(bits)}", strict=False)


def _check_anything_but(operand: Any) -> None:
    """A string or number, a list of strings or of numbers, or one of prefix, suffix, equals-ignore-case, wildcard."""
    if isinstance(operand, dict):
        if len(operand) != 1 or next(iter(operand)) not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            _refuse(f"Unsupported anything-but pattern: {', '.join(operand)}")
        ((operator, value),) = operand.items()
        texts = value if isinstance(value, list) else [value]
        empty_allowed = operator not in ("prefix", "suffix")  # event-ruler: "Null prefix/suffix not allowed"
        if not all(_is_string(text) and (text or empty_allowed) for text in texts):
            _refuse(f"anything-but {operator} match pattern must be a string (not empty) or a list of them")
        if operator == "wildcard":
            for text in texts:
                _check_wildcard(text)
    elif isinstance(operand, list):
        strings, numbers = (all(check(value) for value in operand) for check in (_is_string, _is_number))
        if not operand or not (strings or numbers):
            _refuse("Inside anything but list, either all values are number or string, mixed type is not supported")
        for value in operand if numbers else ():
            _check_comparable(value)
    elif _is_number(operand):
        _check_comparable(operand)
    elif not _is_string(operand):
        _refuse("Value of anything-but must be an array or single string/number value.")


def resource_status_change(
    env: Environment, logical_id: str, resource_type: str, at: datetime, status: str = "CREATE_IN_PROGRESS"
) -> dict[str, Any]:
    """CloudFormation's event for a resource of the stack whose status changes (the user guide's "Resource Status
    Change event detail")."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudFormation Resource Status Change",
        "source": "aws.cloudformation",
        "account": env.account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": env.region,
        "resources": [env.stack_id],
        "detail": {
            "stack-id": env.stack_id,
            "logical-resource-id": logical_id,
            "physical-resource-id": "",
            "status-details": {"status": status, "status-reason": ""},
            "resource-type": resource_type,
            "client-request-token": "",
        },
    }
