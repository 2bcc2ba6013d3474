"""ministack and the Bedrock emulator as processes of the engine test, the real CDK CLI, and clients of both.

ministack (its own virtual environment: it pins its own botocore) serves HTTPS with a certificate made here: the
single-function provider answers CloudFormation with crhelper, which always PUTs over HTTPS, and ministack's
ResponseURL takes the gateway's scheme. Every process is started in a session of its own and stopped by its
process group id, whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import trustme
from botocore.config import Config

REGION = "us-east-1"
# ministack and moto both take a 12-digit access key as the account: the same account on both sides.
ACCOUNT = "000000000000"
START_DEADLINE = 60.0
STOP_GRACE = 5.0
CDK = os.environ.get("CDK", "npx --yes aws-cdk@2").split()
REPOSITORY = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without AWS or CDK settings (a profile, an endpoint), plus extra."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "CDK_"))}
    return {**env, **extra}


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM to the process's group, then SIGKILL to what is left of it once the leader has exited or after a
    grace (ministack outlives SIGTERM, and its Lambda workers are in its group). The leader is reaped last, so that
    its id, which is the group's, names no other process meanwhile."""
    if process.returncode is not None:
        return  # reaped: its id may be another process's now
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    end = time.monotonic() + STOP_GRACE
    while os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None and time.monotonic() < end:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def started(argv: Sequence[str], env: dict[str, str], log: Path, **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    with log.open("ab") as sink:
        process = subprocess.Popen(
            list(argv), env=env, stdout=popen.pop("stdout", sink), stderr=sink, start_new_session=True, **popen
        )
    try:
        yield process
    finally:
        stop(process)


def wait_for(
    what: str, ready: Callable[[], bool], deadline: float, process: subprocess.Popen[Any] | None = None
) -> None:
    """Poll ready() until it is true; fail at the deadline (seconds from now) or when process has exited."""
    end = time.monotonic() + deadline
    while not ready():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline:.0f} s")
        time.sleep(0.5)


@dataclass
class Engine:
    """What the test drives: ministack's endpoint, the emulator's, and where everything logs."""

    ministack_url: str
    bedrock_url: str
    ca_file: Path
    workdir: Path
    clis: list[subprocess.Popen[Any]] = field(default_factory=list)  # stopped with the engine

    def cli_environment(self) -> dict[str, str]:
        return clean_environment(
            AWS_ENDPOINT_URL=self.ministack_url,
            AWS_CA_BUNDLE=str(self.ca_file),
            AWS_ACCESS_KEY_ID=ACCOUNT,
            AWS_SECRET_ACCESS_KEY="test",
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
            JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        )

    def client(self, service: str) -> Any:
        """A boto3 client of ministack, or of the emulator for bedrock."""
        bedrock = service == "bedrock"
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.bedrock_url if bedrock else self.ministack_url,
            verify=True if bedrock else str(self.ca_file),
            aws_access_key_id=ACCOUNT,
            aws_secret_access_key="test",
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )

    def cdk(self, *args: str, log: str) -> subprocess.Popen[Any]:
        """The CDK CLI, started (wait() for it); its output goes to workdir/log."""
        with (self.workdir / log).open("ab") as sink:
            process = subprocess.Popen(
                [*CDK, *args, "--no-notices", "--ci"],
                cwd=self.workdir,
                env=self.cli_environment(),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.clis.append(process)
        return process


def _certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and the gateway's certificate (localhost, 127.0.0.1): CA file, certificate chain, key."""
    authority = trustme.CA()
    server = authority.issue_cert("localhost", "127.0.0.1")
    ca, chain, key = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    authority.cert_pem.write_to_path(str(ca))
    server.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    return ca, chain, key


def _first_line(process: subprocess.Popen[Any], deadline: float) -> str:
    """The first line the process prints, within deadline seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(deadline):
            raise AssertionError(f"{process.args}: printed nothing within {deadline:.0f} s")
    return process.stdout.readline().decode().strip()


@contextlib.contextmanager
def engine(ministack_python: Path, workdir: Path, job_seconds: float, failing_job: str) -> Iterator[Engine]:
    """ministack and the emulator, running until the block ends (see the module). SIGTERM ends the block too: the
    processes are in sessions of their own, which a signal to this one's group does not reach."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with _engine(ministack_python, workdir, job_seconds, failing_job) as running:
            yield running
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _engine(ministack_python: Path, workdir: Path, job_seconds: float, failing_job: str) -> Iterator[Engine]:
    ca, chain, key = _certificate(workdir)
    port = free_port()
    ministack_url = f"https://127.0.0.1:{port}"
    emulator_env = clean_environment(
        AWS_CA_BUNDLE=str(ca),
        AWS_ACCESS_KEY_ID=ACCOUNT,
        AWS_SECRET_ACCESS_KEY="test",
        MOTO_ACCOUNT_ID=ACCOUNT,  # Bedrock's ARNs in ministack's account
    )
    emulator_argv = [
        *(str(Path(sys.executable).parent / "cdk-bedrock-customization"), "emulate-bedrock", "--port", "0"),
        *("--job-seconds", str(job_seconds), "--events-endpoint", ministack_url, "--failing-job", failing_job),
    ]
    with started(emulator_argv, emulator_env, workdir / "emulator.log", stdout=subprocess.PIPE) as emulator:
        line = _first_line(emulator, START_DEADLINE)
        assert " listening on http://" in line, f"emulate-bedrock printed {line!r}"
        bedrock_url = line.rsplit(" ", 1)[-1]
        ministack_env = clean_environment(
            GATEWAY_PORT=str(port),
            USE_SSL="1",  # crhelper answers over HTTPS only
            MINISTACK_SSL_CERT=str(chain),
            MINISTACK_SSL_KEY=str(key),
            MINISTACK_REGION=REGION,
            TMPDIR=str(workdir),  # the functions' code
            AWS_ENDPOINT_URL_BEDROCK=bedrock_url,  # the functions reach the emulator, the rest ministack
            # The functions trust the gateway: Python's ssl and botocore, and Node.
            SSL_CERT_FILE=str(ca),
            AWS_CA_BUNDLE=str(ca),
            REQUESTS_CA_BUNDLE=str(ca),
            NODE_EXTRA_CA_CERTS=str(ca),
        )
        # hypercorn, as `ministack -d` runs it, but with TLS and without ministack's extra bind of port 443.
        ministack_argv = [str(ministack_python), "-m", "hypercorn", "ministack.app:app", "--bind", f"127.0.0.1:{port}"]
        ministack_argv += ["--certfile", str(chain), "--keyfile", str(key)]
        with started(ministack_argv, ministack_env, workdir / "ministack.log") as ministack:
            running = Engine(ministack_url, bedrock_url, ca, workdir)
            sts = running.client("sts")
            try:
                wait_for("ministack", lambda: _answers(sts), START_DEADLINE, ministack)
                yield running
            finally:
                for cli in running.clis:  # those still running when a step failed
                    stop(cli)


def _answers(sts: Any) -> bool:
    try:
        return bool(sts.get_caller_identity()["Account"])
    except Exception:
        return False
