"""What `rehearse` reports and exits with, and that its options reach the rehearsal they configure. Its contract
(rehearse(): "0 when every step succeeded"; `make deploy-local` and CI see a failure only as a non-zero status): a
failed step exits 1 and its report says FAILED, the stacks are deleted all the same, and CloudFormation's
UPDATE_ROLLBACK_FAILED (a stack stuck until ContinueUpdateRollback) shows with its reason. The README's options
(--job-minutes, --fail-job, --job-quota, --template, --parameter, --template-job-minutes) reach the rehearsal,
beyond what argparse parses (test_rehearse_command)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cdk_bedrock_customization.rehearsal import __main__ as command
from cdk_bedrock_customization.rehearsal.engine import Outcome

from .rehearsal_support import REPO


class FakeCloud:
    """What rehearse() uses of LocalCloud; step outcomes by step index."""

    def __init__(self, create_ok: bool, update_ok: bool = True, template_ok: bool = True, partial: bool = False):
        self.ok = [create_ok, update_ok]
        self.template_ok, self.partial = template_ok, partial
        self.deleted = 0
        empty = lambda: []  # noqa: E731
        self.bedrock = SimpleNamespace(
            jobs=empty,
            models=empty,
            imported_models=empty,
            import_jobs=empty,
            import_job_models=empty,
            copy_jobs=empty,
            deployments=empty,
            evaluation_jobs=empty,
            throughputs=empty,
            peak_concurrent_jobs=0,
        )

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        return False

    def deploy(self, _assembly):
        ok = self.ok.pop(0)
        failed = Outcome("CREATE", False, "Job failed", status="ROLLBACK_COMPLETE")
        outcomes = {"A": Outcome("CREATE", True, status="CREATE_COMPLETE") if ok else failed}
        if self.partial:  # two stacks: one deployed, one rolled back
            outcomes = {"A": Outcome("CREATE", True, status="CREATE_COMPLETE"), "B": failed}
        return outcomes

    def deploy_template(self, _path, _name, _parameters):
        return Outcome(
            "CREATE",
            self.template_ok,
            "" if self.template_ok else "Job failed",
            status="CREATE_COMPLETE" if self.template_ok else "ROLLBACK_COMPLETE",
        )

    def delete(self, _names=None, _retain=None):
        self.deleted += 1
        return {"A": Outcome("DELETE", True, status="DELETE_COMPLETE")}


STEPS = [("create", Path("c")), ("update", Path("u"))]
TEMPLATES = [command.PlainTemplate(Path("t.yaml"), "t")]


@pytest.fixture(autouse=True)
def _stacks(monkeypatch):
    monkeypatch.setattr(command, "stacks_of", lambda _assembly: ["A"])


@pytest.mark.parametrize(
    "outcomes",
    [
        {"create_ok": False},
        {"create_ok": True, "update_ok": False},
        {"create_ok": True, "template_ok": False},
        {"create_ok": True, "partial": True},
    ],
    ids=["create fails", "update fails", "template fails", "one of two stacks fails"],
)
def test_a_failed_step_exits_1_reports_failed_and_deletes(outcomes, capsys):
    cloud = FakeCloud(**outcomes)  # made per test: its steps' outcomes are used up as it deploys
    assert command.rehearse(STEPS, cloud, TEMPLATES) == 1
    out = capsys.readouterr().out
    assert "FAILED: Job failed" in out
    assert cloud.deleted == 1


def test_every_step_succeeding_exits_0(capsys):
    cloud = FakeCloud(True)
    assert command.rehearse(STEPS, cloud, TEMPLATES) == 0
    assert "FAILED" not in capsys.readouterr().out and cloud.deleted == 1


def test_a_failed_rollback_is_reported_with_its_status_and_reason(capsys):
    """CloudFormation's UPDATE_ROLLBACK_FAILED (a stack stuck until ContinueUpdateRollback) must show in the
    report, with the reason the rollback failed."""
    cloud = FakeCloud(True)
    cloud.deploy = lambda _assembly: {
        "A": Outcome(
            "UPDATE", False, "Job failed", status="UPDATE_ROLLBACK_FAILED", rollback_reason="Model X: Update failed"
        )
    }
    assert command.rehearse(STEPS, cloud, ()) == 1
    assert "UPDATE_ROLLBACK_FAILED: Model X: Update failed" in capsys.readouterr().out


TEMPLATE = str(REPO / "examples" / "cloudformation" / "fine-tuning-job.yaml")


def test_each_option_reaches_the_rehearsal(monkeypatch):
    given: list[Any] = []
    monkeypatch.setattr(command, "synthesize", lambda _app, outdir, _context=None, **_printing: outdir)
    monkeypatch.setattr(command, "rehearse", lambda _steps, local, templates=(): given.append((local, templates)) or 0)
    code = command.main(
        [
            "--app",
            "true",
            "--job-minutes",
            "7",
            "--fail-job",
            "Router",
            "--fail-job",
            "Support",
            "--job-quota",
            "3",
            "--template",
            TEMPLATE,
            "--parameter",
            "DataBucketName=mine",
            "--template-job-minutes",
            "9",
        ]
    )
    assert code == 0
    ((local, templates),) = given
    timings = local.timings
    assert timings.job_minutes == 7.0
    assert timings.failing_jobs == ("Router", "Support")
    assert local.job_quota == 3
    assert [(t.path, t.stack_name, dict(t.parameters)) for t in templates] == [
        (Path(TEMPLATE), "fine-tuning-job", {"DataBucketName": "mine"})
    ]
    # A job of the template's stack (its name starts with the stack's) takes --template-job-minutes; others don't.
    assert timings.minutes_for("fine-tuning-job-abc") == 9.0
    assert timings.minutes_for("BedrockCustomizationExample-Router") == 7.0


def test_a_parameter_given_for_the_example_template_wins_over_its_default(monkeypatch):
    given: list[Any] = []
    monkeypatch.setattr(command, "synthesize", lambda _app, outdir, _context=None, **_printing: outdir)
    monkeypatch.setattr(command, "rehearse", lambda _steps, local, templates=(): given.append(templates) or 0)
    monkeypatch.setattr(command, "_is_example", lambda _app: True)
    assert command.main(["--parameter", "DataBucketName=mine"]) == 0
    assert [dict(t.parameters) for t in given[0]] == [{"DataBucketName": "mine"}]
