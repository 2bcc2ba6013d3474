"""The cloud assemblies that the local deployment tests deploy, synthesized once."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal.__main__ import EXAMPLE_UPDATE
from moto import mock_aws

from tests.construct.test_weights import make_model

from .rehearsal_support import APP_UNDER_TEST, COMMITTED, REPO, SINGLE_FUNCTION

SYNTH_APPS = Path(__file__).with_name("synth_apps.py")
MODELS_FILE_APP = Path(__file__).with_name("models_file_app.py")


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every cloud assembly the tests deploy, synthesized once per test session: in two processes, each
    synthesizing half of them (synth_apps.py), so that jsii starts twice rather than once per app.

    Under pytest-xdist the workers share them: the first worker to need them synthesizes them into the session's
    temporary directory (the parent of every worker's own), holding a lock that the others wait on; the tests only
    read an assembly."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        root = tmp_path_factory.mktemp("assemblies")
        _synthesize(root)
        return {name: root / name for name in _variants()}
    shared = tmp_path_factory.getbasetemp().parent
    root = shared / "assemblies"
    with (shared / "assemblies.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = shared / "assemblies.done"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)  # what a worker that failed half way left
            root.mkdir()
            _synthesize(root)
            done.touch()
    return {name: root / name for name in _variants()}


def _variants() -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Each assembly's app and context, by name."""
    example = str(REPO / "app.py")
    under_test = str(APP_UNDER_TEST)
    variants: dict[str, tuple[str, Mapping[str, Any]]] = {
        "example": (example, {}),
        "example-updated": (example, EXAMPLE_UPDATE),
        # Its data is in a bucket it does not own: deployed again after a delete, its models read the same data.
        "two-destroyable": (
            under_test,
            {"models": 2, "removal": "retain_on_update_or_delete", "data_bucket": "rehearsal-training-data"},
        ),
        # Deployed again after two-destroyable's delete: they adopt its models, then fail ten minutes in.
        "two-destroyable-failing": (
            under_test,
            {
                "models": 2,
                "removal": "retain_on_update_or_delete",
                "data_bucket": "rehearsal-training-data",
                "failing_after": 600,
            },
        ),
        "two-destroy-failing": (
            under_test,
            {"models": 2, "removal": "destroy", "data_bucket": "rehearsal-training-data", "failing_after": 600},
        ),
        "polling": (under_test, {"completion": "polling", "removal": "destroy"}),
        "event-driven": (under_test, {"removal": "destroy"}),
        # The same model moved to a new construct id (a new logical id); then with its job's old logical id kept.
        "event-driven-renamed": (under_test, {"removal": "destroy", "model_id": "Renamed"}),
        "event-driven-renamed-kept": (
            under_test,
            {"removal": "destroy", "model_id": "Renamed", "keep_logical_ids_of": "Model"},
        ),
        # The same with a 6-hour timeout: a wait condition cannot be updated, so changing it makes another one.
        "event-driven-6-hours": (under_test, {"removal": "destroy", "timeout_hours": 6}),
        # Retrained, and failing 35 minutes in: after the new job (30 minutes) has completed and been read.
        "event-driven-retrained-failing-late": (
            under_test,
            {"removal": "destroy", "epochs": 2, "failing_after": 2100},
        ),
        # A deployment that fails two minutes in, while a polled job's create or update is in flight.
        "polling-failing": (under_test, {"completion": "polling", "removal": "destroy", "failing_after": 120}),
        "polling-retrained-failing": (
            under_test,
            {"completion": "polling", "removal": "destroy", "failing_after": 120, "epochs": 2},
        ),
        # Models retained, removed from the stack, and added back on the other provider kind.
        "polling-retain": (under_test, {"completion": "polling"}),
        "polling-retain-removed": (under_test, {"completion": "polling", "models": "0"}),  # "0": 0 would be the default
        # Every model removed, and with them the provider: the clean-up deletes them through its functions.
        "polling-removed": (
            under_test,
            {"completion": "polling", "removal": "destroy", "models": "0", "provider": "none"},
        ),
        "polling-retain-single-function": (under_test, {"completion": "polling", "provider": "single_function"}),
        # The same template on the other provider kind: every model's ServiceToken changes.
        "polling-single-function": (
            under_test,
            {"completion": "polling", "removal": "destroy", "provider": "single_function"},
        ),
        # For late requests (test_late_requests.py): a retrain that completes; one that also adds a model, and fails.
        "polling-retrained": (under_test, {"completion": "polling", "removal": "destroy", "epochs": 2}),
        "polling-two-retrained-failing": (
            under_test,
            {"completion": "polling", "removal": "destroy", "failing_after": 120, "epochs": 2, "models": 2},
        ),
        "polling-retain-on": (under_test, {"completion": "polling", "removal": "retain_on_update_or_delete"}),
        "polling-retain-on-failing": (
            under_test,
            {"completion": "polling", "removal": "retain_on_update_or_delete", "failing_after": 120},
        ),
        "polling-retain-on-retrained-failing": (
            under_test,
            {"completion": "polling", "removal": "retain_on_update_or_delete", "failing_after": 120, "epochs": 2},
        ),
        # The same template but for its parameter's default: a deploy-time change of a job.
        "epochs-parameter": (under_test, {"removal": "destroy", "epochs_parameter": True}),
        "epochs-parameter-changed": (under_test, {"removal": "destroy", "epochs_parameter": True, "epochs": 2}),
        "five": (under_test, {"models": 5, "removal": "destroy"}),
        # More resources than a page of ListStackResources or DescribeStackEvents holds.
        "twenty-five": (under_test, {"models": 25, "removal": "destroy"}),
        "provider-of-another-stack": (under_test, {"models": 3, "removal": "destroy", "separate_provider": True}),
        "single-function": (under_test, SINGLE_FUNCTION),
        "single-function-updated": (under_test, {**SINGLE_FUNCTION, "epochs": 2}),
        "single-function-moved": (under_test, {**SINGLE_FUNCTION, "model_id": "Renamed"}),
        "committed": (under_test, COMMITTED),
        "committed-more-units": (under_test, {**COMMITTED, "committed_units": 2}),
        "committed-retrained-more-units": (under_test, {**COMMITTED, "committed_units": 2, "epochs": 2}),
        # The create fails two hours in, once the committed throughput is bought: its rollback cannot delete it.
        "committed-failing": (under_test, {**COMMITTED, "failing_after": 7200}),
        # A throughput billed by the hour; then replaced (more units) by an update that fails two minutes in.
        "hourly": (under_test, {"completion": "polling", "removal": "destroy", "hourly_units": 1}),
        "hourly-more-units-failing": (
            under_test,
            {"completion": "polling", "removal": "destroy", "hourly_units": 2, "failing_after": 120},
        ),
        # An open-weight model's local folder, uploaded under its models file key; then the key renamed.
        "models-file-weights": (str(MODELS_FILE_APP), {}),
        "models-file-weights-renamed": (str(MODELS_FILE_APP), {"weights_key": "llama_v2"}),
    }
    return variants


def _synthesize(root: Path) -> None:
    make_model(root / "weights" / "llama")  # models_file_app.py's weights
    jobs = [[app, str(root / name), dict(context)] for name, (app, context) in _variants().items()]
    halves = [jobs[::2], jobs[1::2]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(_synthesize_all, halves))


def _synthesize_all(jobs: list[list[Any]]) -> None:
    env = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    command = [sys.executable, str(SYNTH_APPS), json.dumps(jobs)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"synthesizing {[job[1] for job in jobs]} failed:\n{completed.stderr[-4000:]}")


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto, with fake credentials: for the tests of what the rehearsal plays in AWS services itself."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield
