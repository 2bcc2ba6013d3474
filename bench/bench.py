#!/usr/bin/env python3
"""Benchmarks of cdk-bedrock-customization, each figure measured in this run.

1. Synth time of a stack of many CustomModels (sharing one imported service role and one bucket)
   against a bare baseline: one ``custom_resources.Provider`` and as many plain CustomResources.
   Like for like, the models are polled, as the baseline's resources are. The default path (every
   default: event-driven completion, a service role per model) has its own target, as a platform team's
   stack of many models would use it; beside it, for reference, its floor: the same five resources per model
   as bare L1 resources, with no library code.
2. CloudFormation resources each additional model adds to the template, with a target for the default path.
3. Import time of the Lambda handler module against ``import boto3`` alone.
4. Each provider kind: the resources of its shared infrastructure (a stack with the provider alone), and the
   synth time of the polled models on it, measured in the same interleaved runs as 1.
5. Synth-time validation of a local dataset: seconds to validate a generated 100,000-record
   ``bedrock-conversation-2024`` file, and peak traced memory for 10,000 against 100,000 records
   (validation streams the file, so the peak should not grow with it).
6. Pattern checks of the contract: for each pattern of the Bedrock service model, the slowest of adversarial
   strings as long as its members' maximum length (the contract checks lengths first), matched by a fresh,
   cold matcher (median of runs); the figure is the slowest pattern's.
7. For information: the calls from Python into the jsii kernel (each a round trip to Node) that each additional
   model costs, for the baseline, the polled models with a shared role and the default path.

Run with ``make bench`` (or ``.venv/bin/python bench/bench.py [--runs N]``). It exits 0 when a
target is missed (it reports it) and non-zero on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

# Node 20 is past jsii's support date: without this, loading aws-cdk-lib prints a large banner.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from bedrock_custom_resource import contract, patterns
from cdk_bedrock_customization import (
    Completion,
    CopiedCustomModel,
    CustomizationProvider,
    CustomModel,
    ImportedModel,
    ProviderKind,
    S3Data,
)
from cdk_bedrock_customization.datasets import validate_dataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.adversarial_texts import adversarial_texts

REPO = Path(__file__).resolve().parent.parent
LAMBDA_DIR = REPO / "lambda"
STACK_NAME = "Bench"
MODELS = 50
BASE_MODEL = "amazon.nova-micro-v1:0:128k"
SHARED_ROLE_ARN = "arn:aws:iam::111122223333:role/BedrockCustomizationBench"
SYNTH_TARGET = 1.3
DEFAULT_SYNTH_TARGET = 3.0
DEFAULT_RESOURCES_PER_MODEL_TARGET = 5.0
# A custom model of another Region, the source of the copies counted (its last part varies per copy).
COPIED_SOURCE_PREFIX = "arn:aws:bedrock:us-west-2:123456789012:custom-model/amazon.nova-micro-v1:0:128k/"
SINGLE_FUNCTION_RESOURCES_TARGET = 5
RESOURCES_PER_MODEL_TARGET = 1.0
HANDLER_MODULE = "bedrock_custom_resource.index"
DATASET_RECORDS = 100_000
DATASET_SMALL_RECORDS = 10_000
DATASET_SECONDS_TARGET = 1.0  # DESIGN.md, "The datasets issue, speed"
DATASET_MEMORY_RATIO_TARGET = 2.0
DATASET_RECORD = {
    "schemaVersion": "bedrock-conversation-2024",
    "system": [{"text": "You are a friendly support assistant for an online shop."}],
    "messages": [
        {"role": "user", "content": [{"text": "How do I reset the password of my account?"}]},
        {"role": "assistant", "content": [{"text": "Open Settings, choose Security, then Reset password."}]},
        {"role": "user", "content": [{"text": "And if I no longer have the email address?"}]},
        {"role": "assistant", "content": [{"text": "Contact support with your order number to verify it."}]},
    ],
}
PATTERN_MS_TARGET = 50.0
PATTERN_RUNS = 3
# For members with no maximum length.
PATTERN_DEFAULT_LENGTH = 2048
BASELINE_HANDLER = """\
def on_event(event, context):
    return {"PhysicalResourceId": event.get("PhysicalResourceId", "job")}


def is_complete(event, context):
    return {"IsComplete": True}
"""

StackBuilder = Callable[[cdk.App], cdk.Stack]


def model_stack(
    app: cdk.App,
    models: int = MODELS,
    *,
    shared_role: bool = True,
    event_driven: bool = False,
    kind: ProviderKind = ProviderKind.FRAMEWORK,
) -> cdk.Stack:
    """A stack of ``models`` CustomModels reading one bucket, on a provider of this kind; with ``shared_role``,
    all of them use one imported, immutable service role, else each creates (and is granted) its own. They are
    polled unless ``event_driven``."""
    stack = cdk.Stack(app, STACK_NAME)
    CustomizationProvider.of(stack, kind=kind)
    bucket = s3.Bucket(stack, "Data")
    role = iam.Role.from_role_arn(stack, "ServiceRole", SHARED_ROLE_ARN, mutable=False) if shared_role else None
    for index in range(models):
        CustomModel(
            stack,
            f"Model{index}",
            base_model=BASE_MODEL,
            training_data=S3Data.from_bucket(bucket, f"model{index}/train.jsonl"),
            output_data=S3Data.from_bucket(bucket, f"model{index}/output/"),
            hyper_parameters={"epochCount": 2},
            role=role,
            completion=None if event_driven else Completion.polling(),  # None: the default, event-driven
        )
    return stack


def model_job_stack(app: cdk.App, models: int, *, copies: bool) -> cdk.Stack:
    """A stack of ``models`` default open-weight imports (each with its own role), or default copies from another
    Region."""
    stack = cdk.Stack(app, STACK_NAME)
    bucket = s3.Bucket(stack, "Data")
    for index in range(models):
        if copies:
            CopiedCustomModel(stack, f"Copy{index}", source_model=f"{COPIED_SOURCE_PREFIX}{index:012d}")
        else:
            ImportedModel(stack, f"Import{index}", model_data=S3Data.from_bucket(bucket, f"weights{index}/"))
    return stack


def model_job_resources(copies: bool) -> tuple[list[int], float]:
    """Resource counts with 1, 2 and 3 default imports (or copies), and the resources each additional one adds."""
    counts = [resource_count(synth_template(partial(model_job_stack, models=n, copies=copies))) for n in (1, 2, 3)]
    return counts, (counts[2] - counts[0]) / 2


def provider_stack(app: cdk.App, kind: ProviderKind) -> cdk.Stack:
    """The shared infrastructure alone: a stack with the provider of this kind and nothing else."""
    stack = cdk.Stack(app, STACK_NAME)
    CustomizationProvider.of(stack, kind=kind)
    return stack


def baseline_stack(app: cdk.App, resources: int = MODELS) -> cdk.Stack:
    """The bare baseline: one Provider with inline on_event and is_complete handlers, and ``resources``
    plain CustomResources with properties like a CustomModel's."""
    stack = cdk.Stack(app, STACK_NAME)
    bucket = s3.Bucket(stack, "Data")
    role = iam.Role.from_role_arn(stack, "ServiceRole", SHARED_ROLE_ARN, mutable=False)
    on_event, is_complete = (
        lambda_.Function(
            stack,
            name,
            runtime=lambda_.Runtime.PYTHON_3_13,
            code=lambda_.Code.from_inline(BASELINE_HANDLER),
            handler=f"index.{entry}",
        )
        for name, entry in (("OnEvent", "on_event"), ("IsComplete", "is_complete"))
    )
    provider = cr.Provider(
        stack,
        "Provider",
        on_event_handler=on_event,
        is_complete_handler=is_complete,
        query_interval=cdk.Duration.minutes(1),
        total_timeout=cdk.Duration.hours(1),
    )
    for index in range(resources):
        cdk.CustomResource(
            stack,
            f"Job{index}",
            service_token=provider.service_token,
            resource_type="Custom::BenchCustomizationJob",
            properties={
                "baseModelIdentifier": BASE_MODEL,
                "customizationType": "FINE_TUNING",
                "roleArn": role.role_arn,
                "trainingDataConfig": {"s3Uri": bucket.s3_url_for_object(f"model{index}/train.jsonl")},
                "outputDataConfig": {"s3Uri": bucket.s3_url_for_object(f"model{index}/output/")},
                "hyperParameters": {"epochCount": "2"},
            },
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
    return stack


def floor_stack(app: cdk.App, resources: int = MODELS) -> cdk.Stack:
    """What the default path's synth cannot beat: the baseline's provider and, per model, the same five
    resources as a default model (a role with its grants inline, the job, the wait condition and its handle,
    the completed-job reader) as bare L1 resources built from Python values, with no library code."""
    stack = baseline_stack(app, resources=0)
    provider = cast(cr.Provider, stack.node.find_child("Provider"))
    token = provider.service_token
    bucket = cast(s3.Bucket, stack.node.find_child("Data"))
    bucket_arn, bucket_name = bucket.bucket_arn, bucket.bucket_name
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    for index in range(resources):
        prefix = f"model{index}"
        grants = [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/{prefix}/train.jsonl"},
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"{bucket_arn}/{prefix}/output/*",
            },
        ]
        role = iam.CfnRole(
            stack,
            f"Role{index}",
            assume_role_policy_document=trust,
            policies=[{"policyName": "Grants", "policyDocument": {"Version": "2012-10-17", "Statement": grants}}],
        )
        job = cdk.CfnResource(
            stack,
            f"Job{index}",
            type="Custom::BenchCustomizationJob",
            properties={
                "ServiceToken": token,
                "baseModelIdentifier": BASE_MODEL,
                "customizationType": "FINE_TUNING",
                "roleArn": role.attr_arn,
                "trainingDataConfig": {"s3Uri": f"s3://{bucket_name}/{prefix}/train.jsonl"},
                "outputDataConfig": {"s3Uri": f"s3://{bucket_name}/{prefix}/output/"},
                "hyperParameters": {"epochCount": "2"},
            },
        )
        handle = cdk.CfnWaitConditionHandle(stack, f"Handle{index}")
        cdk.CfnWaitCondition(stack, f"Wait{index}", handle=handle.ref, timeout="43200", count=1)
        cdk.CfnResource(
            stack,
            f"Result{index}",
            type="Custom::BenchCompletedJob",
            properties={"ServiceToken": token, "jobIdentifier": job.ref},
        )
    return stack


# What a resource of a template holds besides its type and properties, written as overrides.
_RESOURCE_ATTRIBUTES = ("DependsOn", "Metadata", "DeletionPolicy", "UpdateReplacePolicy", "Condition")


def template_floor_stack(app: cdk.App, template: dict[str, Any]) -> cdk.Stack:
    """What synthesizing this template costs with no library code: each of its resources made as a bare L1 resource
    from its Python values (under its own logical id), in a stack of nothing else. Given the default path's template,
    it is the floor of that path with everything the library renders (the least-privilege grants, the ordering, the
    wait metadata), where ``floor_stack`` renders less."""
    stack = cdk.Stack(app, STACK_NAME)
    for logical_id, resource in template["Resources"].items():
        made = cdk.CfnResource(stack, logical_id, type=resource["Type"], properties=resource.get("Properties"))
        made.override_logical_id(logical_id)
        for attribute in _RESOURCE_ATTRIBUTES:
            if attribute in resource:
                made.add_override(attribute, resource[attribute])
    return stack


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Hide the jsii kernel's chatter ("Bundling asset ..."); show it if something fails."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            yield
    except BaseException:
        sys.stderr.write(captured.getvalue())
        raise


def synth(build: StackBuilder) -> tuple[float, dict[str, Any]]:
    """Seconds to create a fresh App, build the stack and synthesize it; and the stack's template."""
    with tempfile.TemporaryDirectory(prefix="cdk-bench-") as outdir, _quiet_stderr():
        start = time.perf_counter()
        app = cdk.App(outdir=outdir)
        stack = build(app)
        assembly = app.synth()
        elapsed = time.perf_counter() - start
        template: dict[str, Any] = assembly.get_stack_by_name(stack.stack_name).template
    return elapsed, template


def resource_count(template: dict[str, Any]) -> int:
    return len(template["Resources"])


def synth_template(build: StackBuilder) -> dict[str, Any]:
    return synth(build)[1]


@dataclass
class SynthTimes:
    baseline: float
    shared_role: float
    own_roles: float
    event_driven: float
    single_function: float
    default: float
    floor: float
    template_floor: float
    templates: dict[str, dict[str, Any]]


def time_synths(runs: int, models: int = MODELS) -> SynthTimes:
    """Median synth seconds of the baseline and both model variants, runs interleaved so that drift
    (the JavaScript engine warming up, the machine's load) affects all alike; one untimed warm-up each."""
    builders: dict[str, StackBuilder] = {
        "baseline": partial(baseline_stack, resources=models),
        "shared_role": partial(model_stack, models=models, shared_role=True),
        "own_roles": partial(model_stack, models=models, shared_role=False),
        "event_driven": partial(model_stack, models=models, event_driven=True),
        "single_function": partial(model_stack, models=models, kind=ProviderKind.SINGLE_FUNCTION),
        "default": partial(model_stack, models=models, shared_role=False, event_driven=True),
        "floor": partial(floor_stack, resources=models),
    }
    samples: dict[str, list[float]] = {name: [] for name in builders}
    templates: dict[str, dict[str, Any]] = {}
    for name, build in builders.items():
        templates[name] = synth_template(build)
    builders["template_floor"] = partial(template_floor_stack, template=templates["default"])
    samples["template_floor"] = []
    for _ in range(runs):
        for name, build in builders.items():
            elapsed, _template = synth(build)
            samples[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return SynthTimes(
        medians["baseline"],
        medians["shared_role"],
        medians["own_roles"],
        medians["event_driven"],
        medians["single_function"],
        medians["default"],
        medians["floor"],
        medians["template_floor"],
        templates,
    )


def resources_per_model(
    models: int, *, shared_role: bool, event_driven: bool = False, many: dict[str, Any] | None = None
) -> tuple[list[int], float]:
    """Resource counts with 1, 2 and ``models`` models, and (count(models) - count(1)) / (models - 1)."""
    variant = partial(model_stack, shared_role=shared_role, event_driven=event_driven)
    counts = [resource_count(synth_template(partial(variant, models=n))) for n in (1, 2)]
    if many is None:
        many = synth_template(partial(variant, models=models))
    counts.append(resource_count(many))
    return counts, (counts[2] - counts[0]) / (models - 1)


def kernel_calls(build: StackBuilder) -> int:
    """The messages Python sends the jsii kernel (each a round trip to its Node process) to build and synthesize the
    stack, counted at jsii's process provider: its internals, not an API (jsii is pinned in constraints.txt)."""
    from jsii._kernel.providers import process

    send = process._NodeProcess.send
    calls = 0

    def counting(self: Any, request: Any, response_type: Any) -> Any:
        nonlocal calls
        calls += 1
        return send(self, request, response_type)

    process._NodeProcess.send = counting  # type: ignore[method-assign]
    try:
        synth(build)
    finally:
        process._NodeProcess.send = send  # type: ignore[method-assign]
    return calls


def kernel_calls_per_model(variant: Callable[..., cdk.Stack], models: int) -> float:
    """(calls with ``models`` models - calls with 1) / (models - 1): what each additional model costs."""
    one, many = (kernel_calls(partial(variant, models=n)) for n in (1, models))
    return (many - one) / (models - 1)


def _run_seconds(code: str) -> float:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONSTARTUP")}
    start = time.perf_counter()
    # cwd is the Lambda code root, so the handler package is found as Lambda finds it (on the path).
    subprocess.run([sys.executable, "-c", code], cwd=LAMBDA_DIR, env=env, check=True)
    return time.perf_counter() - start


@dataclass
class ImportTimes:
    startup: float
    boto3: float
    handler: float

    @property
    def ratio(self) -> float:
        return self.handler / self.boto3


def time_imports(runs: int) -> ImportTimes:
    """Median seconds of ``import boto3`` and of importing the handler module, each in a fresh
    interpreter, less the interpreter's own startup; runs interleaved, one warm-up each (bytecode caches)."""
    codes = {"startup": "pass", "boto3": "import boto3", "handler": f"import {HANDLER_MODULE}"}
    samples: dict[str, list[float]] = {name: [] for name in codes}
    for code in codes.values():
        _run_seconds(code)
    for _ in range(runs):
        for name, code in codes.items():
            samples[name].append(_run_seconds(code))
    startup = statistics.median(samples["startup"])
    return ImportTimes(
        startup=startup,
        boto3=statistics.median(samples["boto3"]) - startup,
        handler=statistics.median(samples["handler"]) - startup,
    )


@dataclass
class DatasetFigures:
    seconds: float
    file_bytes: int
    peak_small: int
    peak_large: int

    @property
    def memory_ratio(self) -> float:
        return self.peak_large / self.peak_small


def _validate_conversations(path: Path) -> int:
    """Validate a generated Nova fine-tuning file; its record-count quotas (20k, alone and with validation records)
    are lifted for the size."""
    summary = validate_dataset(
        path,
        customization_type="FINE_TUNING",
        base_model=BASE_MODEL,
        quotas={"max_training_records": None, "max_total_records": None},
    )
    return summary.records


def _traced_peak(path: Path) -> int:
    tracemalloc.start()
    try:
        _validate_conversations(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def time_dataset_validation(runs: int) -> DatasetFigures:
    """Median seconds to validate a generated DATASET_RECORDS-record conversation file (one warm-up run),
    and the peak traced memory while validating DATASET_SMALL_RECORDS and DATASET_RECORDS records."""
    line = json.dumps(DATASET_RECORD).encode() + b"\n"
    with tempfile.TemporaryDirectory(prefix="dataset-bench-") as tmp:
        small, large = Path(tmp, "small.jsonl"), Path(tmp, "large.jsonl")
        small.write_bytes(line * DATASET_SMALL_RECORDS)
        large.write_bytes(line * DATASET_RECORDS)
        _validate_conversations(large)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            _validate_conversations(large)
            samples.append(time.perf_counter() - start)
        return DatasetFigures(
            seconds=statistics.median(samples),
            file_bytes=large.stat().st_size,
            peak_small=_traced_peak(small),
            peak_large=_traced_peak(large),
        )


def _pattern_lengths() -> dict[str, int]:
    """Each pattern of the service model that re can read, with the longest maximum length of its members."""
    model = contract.service_model()
    lengths: dict[str, int] = {}
    for name in model.shape_names:
        metadata = model.shape_for(name).metadata
        if "pattern" in metadata:
            length = metadata.get("max", PATTERN_DEFAULT_LENGTH)
            lengths[metadata["pattern"]] = max(lengths.get(metadata["pattern"], 0), length)
    return {pattern: length for pattern, length in lengths.items() if _compiles(pattern)}


def _compiles(pattern: str) -> bool:
    try:
        patterns.compile(pattern)
    except re.error:  # Unicode properties (\p{L}): left to Bedrock, as re cannot read them either
        return False
    return True


def time_pattern_checks(runs: int = PATTERN_RUNS) -> tuple[float, str, int]:
    """Milliseconds of the slowest adversarial string of the slowest pattern, that pattern, and how many were timed."""
    slowest: dict[str, float] = {}
    for pattern, length in _pattern_lengths().items():
        for text in adversarial_texts(length):
            samples = []
            for _ in range(runs):
                matcher = patterns.Pattern(pattern, ecma=True)  # as the contract matches them
                start = time.perf_counter()
                matcher.fullmatch(text)
                samples.append(time.perf_counter() - start)
            slowest[pattern] = max(slowest.get(pattern, 0.0), statistics.median(samples))
    pattern = max(slowest, key=lambda name: slowest[name])
    return slowest[pattern] * 1000, pattern, len(slowest)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="synth runs per variant (median taken); default 7")
    parser.add_argument("--import-runs", type=int, default=15, help="interpreter runs per import; default 15")
    parser.add_argument("--dataset-runs", type=int, default=3, help="dataset validation runs (median); default 3")
    parser.add_argument("--models", type=int, default=MODELS, help=f"models per stack; default {MODELS}")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.import_runs < 1 or args.dataset_runs < 1 or args.models < 2:
        parser.error("--runs, --import-runs and --dataset-runs must be at least 1, --models at least 2")
    models: int = args.models

    synths = time_synths(args.runs, models)
    synth_ratio = synths.shared_role / synths.baseline
    own_ratio = synths.own_roles / synths.baseline
    shared_counts, shared_per_model = resources_per_model(
        models, shared_role=True, many=synths.templates["shared_role"]
    )
    own_counts, own_per_model = resources_per_model(models, shared_role=False, many=synths.templates["own_roles"])
    event_ratio = synths.event_driven / synths.baseline
    event_counts, event_per_model = resources_per_model(
        models, shared_role=True, event_driven=True, many=synths.templates["event_driven"]
    )
    single_ratio = synths.single_function / synths.baseline
    default_ratio = synths.default / synths.baseline
    default_counts, default_per_model = resources_per_model(
        models, shared_role=False, event_driven=True, many=synths.templates["default"]
    )
    import_counts, import_per_model = model_job_resources(copies=False)
    copy_counts, copy_per_model = model_job_resources(copies=True)
    default_synth_passed = default_ratio <= DEFAULT_SYNTH_TARGET
    default_resources_passed = default_per_model <= DEFAULT_RESOURCES_PER_MODEL_TARGET
    shared_infrastructure = {
        kind: resource_count(synth_template(partial(provider_stack, kind=kind))) for kind in ProviderKind
    }
    single_resources = shared_infrastructure[ProviderKind.SINGLE_FUNCTION]
    single_passed = single_resources <= SINGLE_FUNCTION_RESOURCES_TARGET
    imports = time_imports(args.import_runs)
    dataset = time_dataset_validation(args.dataset_runs)
    dataset_passed = dataset.seconds < DATASET_SECONDS_TARGET
    memory_passed = dataset.memory_ratio <= DATASET_MEMORY_RATIO_TARGET
    calls_per_model = {
        "baseline": kernel_calls_per_model(lambda app, models: baseline_stack(app, resources=models), models),
        "shared_role": kernel_calls_per_model(partial(model_stack, shared_role=True), models),
        "default": kernel_calls_per_model(partial(model_stack, shared_role=False, event_driven=True), models),
    }
    pattern_ms, slowest_pattern, pattern_count = time_pattern_checks()
    pattern_passed = pattern_ms <= PATTERN_MS_TARGET

    rows = [
        (f"synth, baseline: Provider + {models} CustomResources", f"{synths.baseline:.3f} s", ""),
        (f"synth, {models} default CustomModels (event-driven, own roles)", f"{synths.default:.3f} s", ""),
        (
            "  ratio to baseline",
            f"{default_ratio:.2f}x",
            f"<= {DEFAULT_SYNTH_TARGET:g}x {_verdict(default_synth_passed)}",
        ),
        (f"synth, floor: baseline + {models} x the same 5 bare L1 resources", f"{synths.floor:.3f} s", ""),
        ("  ratio to baseline", f"{synths.floor / synths.baseline:.2f}x", "(info: no library code)"),
        (
            f"synth, template floor: the {models} default models' template as bare L1s",
            f"{synths.template_floor:.3f} s",
            "",
        ),
        (
            "  ratio to baseline",
            f"{synths.template_floor / synths.baseline:.2f}x",
            "(info: the default path's own template, no library code)",
        ),
        (f"resources with 1/2/{models} default models", "/".join(map(str, default_counts)), ""),
        (
            "  resources per additional model",
            f"{default_per_model:.2f}",
            f"<= {DEFAULT_RESOURCES_PER_MODEL_TARGET:g} {_verdict(default_resources_passed)}",
        ),
        ("resources with 1/2/3 default ImportedModels", "/".join(map(str, import_counts)), ""),
        (
            "  resources per additional import",
            f"{import_per_model:.2f}",
            "(info: job, its role, wait handle and condition, result)",
        ),
        ("resources with 1/2/3 default CopiedCustomModels", "/".join(map(str, copy_counts)), ""),
        (
            "  resources per additional copy",
            f"{copy_per_model:.2f}",
            "(info: job, wait handle and condition, result)",
        ),
        (f"synth, {models} polled CustomModels, shared role", f"{synths.shared_role:.3f} s", ""),
        ("  ratio to baseline", f"{synth_ratio:.2f}x", f"<= {SYNTH_TARGET}x {_verdict(synth_ratio <= SYNTH_TARGET)}"),
        (
            "jsii kernel calls per additional model: baseline/polled shared role/default",
            "/".join(f"{calls:.1f}" for calls in calls_per_model.values()),
            "(info: each a round trip to Node)",
        ),
        (f"synth, {models} polled CustomModels, own roles", f"{synths.own_roles:.3f} s", ""),
        ("  ratio to baseline", f"{own_ratio:.2f}x", "(info)"),
        (
            f"resources with 1/2/{models} models, shared role",
            "/".join(map(str, shared_counts)),
            "",
        ),
        (
            "  resources per additional model",
            f"{shared_per_model:.2f}",
            f"<= {RESOURCES_PER_MODEL_TARGET:g} {_verdict(shared_per_model <= RESOURCES_PER_MODEL_TARGET)}",
        ),
        (f"resources with 1/2/{models} models, own roles", "/".join(map(str, own_counts)), ""),
        ("  resources per additional model", f"{own_per_model:.2f}", "(info)"),
        (f"synth, {models} event-driven CustomModels, shared role", f"{synths.event_driven:.3f} s", ""),
        ("  ratio to baseline", f"{event_ratio:.2f}x", "(info)"),
        (f"resources with 1/2/{models} event-driven models", "/".join(map(str, event_counts)), ""),
        (
            "  resources per additional model",
            f"{event_per_model:.2f}",
            "(info: job, wait handle and condition, result)",
        ),
        (
            "shared infrastructure resources, framework provider",
            str(shared_infrastructure[ProviderKind.FRAMEWORK]),
            "(info)",
        ),
        (
            "shared infrastructure resources, single-function provider",
            str(single_resources),
            f"<= {SINGLE_FUNCTION_RESOURCES_TARGET} {_verdict(single_passed)}",
        ),
        (f"synth, {models} polled CustomModels, single-function provider", f"{synths.single_function:.3f} s", ""),
        ("  ratio to baseline", f"{single_ratio:.2f}x", "(info; the framework provider's is above)"),
        ("interpreter startup (python -c pass)", f"{imports.startup * 1000:.0f} ms", ""),
        ("import boto3, less startup", f"{imports.boto3 * 1000:.0f} ms", ""),
        (f"import {HANDLER_MODULE}, less startup", f"{imports.handler * 1000:.0f} ms", ""),
        ("  ratio to boto3", f"{imports.ratio:.2f}x", "(info)"),
        (
            f"validate {DATASET_RECORDS:,}-record conversation dataset ({dataset.file_bytes / 2**20:.0f} MiB)",
            f"{dataset.seconds:.3f} s",
            f"< {DATASET_SECONDS_TARGET:g} s {_verdict(dataset_passed)}",
        ),
        (f"  peak traced memory, {DATASET_SMALL_RECORDS:,} records", f"{dataset.peak_small / 1024:.1f} KiB", ""),
        (f"  peak traced memory, {DATASET_RECORDS:,} records", f"{dataset.peak_large / 1024:.1f} KiB", ""),
        (
            "  ratio",
            f"{dataset.memory_ratio:.2f}x",
            f"<= {DATASET_MEMORY_RATIO_TARGET:g}x {_verdict(memory_passed)}",
        ),
        (
            "pattern checks: slowest adversarial string per service-model pattern",
            f"{pattern_ms:.1f} ms",
            f"<= {PATTERN_MS_TARGET:g} ms {_verdict(pattern_passed)}",
        ),
        (f"  slowest of the {pattern_count} patterns", _shorten(slowest_pattern), "(info)"),
    ]
    width = max(len(row[0]) for row in rows)
    print(
        f"cdk-bedrock-customization bench: median of {args.runs} synth runs, {args.import_runs} import runs, "
        f"{args.dataset_runs} dataset validation runs"
    )
    for label, value, target in rows:
        print(f"{label:<{width}}  {value:>10}  {target}".rstrip())
    print()
    print(f"synth_ratio_default={default_ratio:.2f} target<={DEFAULT_SYNTH_TARGET:g} {_verdict(default_synth_passed)}")
    print(f"synth_ratio_template_floor={synths.template_floor / synths.baseline:.2f} info")
    print(
        f"resources_per_model_default={default_per_model:.2f} target<={DEFAULT_RESOURCES_PER_MODEL_TARGET:g} "
        f"{_verdict(default_resources_passed)}"
    )
    print(f"synth_ratio={synth_ratio:.2f} target<={SYNTH_TARGET} {_verdict(synth_ratio <= SYNTH_TARGET)}")
    for name, calls in calls_per_model.items():
        print(f"kernel_calls_per_model_{name}={calls:.1f} info")
    print(f"synth_ratio_own_roles={own_ratio:.2f} info")
    print(
        f"resources_per_model={shared_per_model:.2f} target<={RESOURCES_PER_MODEL_TARGET:g} "
        f"{_verdict(shared_per_model <= RESOURCES_PER_MODEL_TARGET)}"
    )
    print(f"resources_per_model_own_roles={own_per_model:.2f} info")
    print(f"resources_per_import={import_per_model:.2f} info")
    print(f"resources_per_copy={copy_per_model:.2f} info")
    print(f"synth_ratio_event_driven={event_ratio:.2f} info")
    print(f"resources_per_model_event_driven={event_per_model:.2f} info")
    print(f"shared_resources_framework={shared_infrastructure[ProviderKind.FRAMEWORK]} info")
    print(
        f"shared_resources_single_function={single_resources} target<={SINGLE_FUNCTION_RESOURCES_TARGET} "
        f"{_verdict(single_passed)}"
    )
    print(f"synth_ratio_single_function={single_ratio:.2f} info")
    print(f"import_ratio={imports.ratio:.2f} info")
    print(
        f"dataset_validation_seconds={dataset.seconds:.3f} target<{DATASET_SECONDS_TARGET:g} {_verdict(dataset_passed)}"
    )
    print(f"dataset_peak_kib_{DATASET_SMALL_RECORDS}={dataset.peak_small / 1024:.1f} info")
    print(f"dataset_peak_kib_{DATASET_RECORDS}={dataset.peak_large / 1024:.1f} info")
    print(
        f"dataset_memory_ratio={dataset.memory_ratio:.2f} target<={DATASET_MEMORY_RATIO_TARGET:g} "
        f"{_verdict(memory_passed)}"
    )
    print(f"pattern_check_ms={pattern_ms:.1f} target<={PATTERN_MS_TARGET:g} {_verdict(pattern_passed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
