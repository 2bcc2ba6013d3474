"""Each in-process Lambda invocation sees its own environment, and the process's stays untouched: other threads
(botocore, a synthesis, another invocation) read os.environ while invocations run."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal.clock import VirtualClock
from cdk_bedrock_customization.rehearsal.engine import LocalStack, Printer
from cdk_bedrock_customization.rehearsal.lambda_environment import invocation_environment
from cdk_bedrock_customization.rehearsal.template import Environment, Template

HANG = 60.0  # real seconds: only so that a broken isolation fails instead of hanging
VARIABLE = "DEPLOY_LOCAL_PROBE"
ENV = Environment("111122223333", "us-east-1", "EnvironmentUnderTest", "arn:aws:cloudformation:stack/x/1")
# What probe() saw of os.environ from inside, and what another thread saw of it meanwhile.
SEEN: dict[str, Any] = {}


def probe(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """A Lambda handler (Handler: tests.deploy_local.test_lambda_environment.probe)."""
    outside: dict[str, Any] = {}
    reader = threading.Thread(target=lambda: outside.update(os.environ.copy()))
    reader.start()
    reader.join(HANG)
    SEEN.update(inside=os.environ.get(VARIABLE), getenv=os.getenv("AWS_LAMBDA_FUNCTION_NAME"), outside=outside)
    os.environ["WRITTEN_BY_THE_HANDLER"] = "stays in the invocation"
    return {"variable": os.environ[VARIABLE]}


def test_two_invocations_at_once_each_see_their_own_environment() -> None:
    both_inside = threading.Barrier(2, timeout=HANG)
    seen: dict[str, tuple[str | None, str | None, bool, bool]] = {}

    def invocation(value: str) -> None:
        with invocation_environment({VARIABLE: value, "ONLY_IN_" + value.upper(): "1"}):
            both_inside.wait()  # the other invocation is inside its own block now
            os.environ["WRITTEN"] = value
            both_inside.wait()  # and has written too
            # Asserted by the test's own thread: an assertion here would only be a thread's warning.
            seen[value] = (
                os.environ.get(VARIABLE),
                os.getenv("WRITTEN"),
                "ONLY_IN_" + value.upper() in os.environ,
                set(os.environ) >= {VARIABLE, "WRITTEN", "PATH"},  # the process's variables, then the function's
            )

    threads = [threading.Thread(target=invocation, args=(value,)) for value in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG)
    assert seen == {"a": ("a", "a", True, True), "b": ("b", "b", True, True)}
    assert VARIABLE not in os.environ and "WRITTEN" not in os.environ  # the process's environment is untouched


def test_an_in_process_function_sees_its_variables_and_the_process_does_not(tmp_path: Path) -> None:
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": "probe",
            "Runtime": "python3.12",
            "Handler": "tests.deploy_local.test_lambda_environment.probe",
            "Code": {"S3Key": "probe.zip"},
            "Environment": {"Variables": {VARIABLE: "from the template", "AWS_LAMBDA_FUNCTION_NAME": "probe"}},
        },
    }
    clock = VirtualClock()
    stack = LocalStack(ENV, clock, Printer(clock, lambda _line: None), threading.RLock())
    try:
        assert stack.deploy(Template({"Resources": {"Probe": function}}), tmp_path).succeeded
        result = stack.invoke("arn:aws:lambda:us-east-1:111122223333:function:probe", {})
    finally:
        stack.close()
    assert (result.function_error, result.payload) == (None, {"variable": "from the template"})
    assert (SEEN["inside"], SEEN["getenv"]) == ("from the template", "probe")
    assert VARIABLE not in SEEN["outside"]  # another thread, during the invocation, saw the process's environment
    assert "WRITTEN_BY_THE_HANDLER" not in os.environ


PROBE = "DEPLOY_LOCAL_ENVIRONMENT_PROBE"


def test_a_functions_own_variable_wins_over_the_processs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Lambda guide: a function sees the variables configured on it, not the deploying shell's of that name."""
    monkeypatch.setenv(PROBE, "the deploying shell's")
    with invocation_environment({PROBE: "the function's"}):
        assert (os.environ[PROBE], os.getenv(PROBE)) == ("the function's", "the function's")
    assert os.environ[PROBE] == "the deploying shell's"


def test_iterating_inside_an_invocation_lists_the_functions_variables() -> None:
    with invocation_environment({PROBE: "1"}):
        assert PROBE in set(os.environ)
        assert os.environ.copy().get(PROBE) == dict(os.environ.items())[PROBE] == "1"
    assert PROBE not in os.environ.copy()


def test_a_delete_inside_an_invocation_stays_in_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each execution environment is its own: what an invocation removes is not removed for the process."""
    monkeypatch.setenv(PROBE, "kept")
    with invocation_environment({}):
        del os.environ[PROBE]
        assert PROBE not in os.environ
    assert os.environ.get(PROBE) == "kept"
