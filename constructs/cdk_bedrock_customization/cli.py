"""cdk-bedrock-customization: validate models files or model folders offline, print the JSON Schema, or rehearse.

    cdk-bedrock-customization validate models.yaml [more.yaml ...] [--stage NAME]
    cdk-bedrock-customization validate-weights DIR [DIR ...]
    cdk-bedrock-customization schema
    cdk-bedrock-customization rehearse [--app "python app.py"] [options: rehearse --help]

validate checks each file as written and with each of its stages' overrides (or only --stage), and prints
every problem as one line, file:line:column: path.to.field: message, and nothing else. It exits 1 on any
problem, 2 on bad usage. No AWS account and no CDK app are needed.

validate-weights checks each folder of open-weight model files as Custom Model Import (CreateModelImportJob)
takes it from S3 (config.json, tokenizer files, .safetensors headers: weights.py lists the rules and their
sources), and prints every problem as one line, DIR/file: message (DIR: message for the folder as a whole), and
nothing else; when no folder has one, DIR: OK (architecture, N parameters, size) for each. It exits 1 on any
problem, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .models_file import ModelsFile, Problem, json_schema
from .weights import WeightsError, WeightsSummary, format_size, validate_weights


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["rehearse"]:  # its own options, parsed by the rehearsal
        return rehearse(arguments[1:])
    parser = argparse.ArgumentParser(prog="cdk-bedrock-customization", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("rehearse", help="rehearse a CDK app's create, update and delete locally, without AWS")
    validate = commands.add_parser("validate", help="validate models files offline")
    validate.add_argument("files", nargs="+")
    validate.add_argument("--stage", help="validate only with this stage's overrides")
    commands.add_parser("schema", help="print the models file's JSON Schema")
    weights = commands.add_parser("validate-weights", help="check model folders for Custom Model Import offline")
    weights.add_argument("folders", nargs="+", metavar="DIR")
    args = parser.parse_args(arguments)
    if args.command == "schema":
        print(json.dumps(json_schema(), indent=2, sort_keys=True))
        return 0
    if args.command == "validate-weights":
        return validate_weights_command(args.folders)
    problems = [problem for path in args.files for problem in problems_of(path, args.stage)]
    for problem in problems:
        _print(str(problem))
    if problems:
        return 1
    for path in args.files:
        _print(f"{path}: OK")
    return 0


def rehearse(arguments: list[str]) -> int:
    """The local rehearsal, which needs the emulated AWS of the ``rehearse`` extra (moto)."""
    try:
        from .rehearsal.__main__ import main as rehearsal_main
    except ModuleNotFoundError as missing:
        print(
            f"cdk-bedrock-customization rehearse needs {missing.name}: "
            "pip install 'cdk-bedrock-customization[rehearse]'",
            file=sys.stderr,
        )
        return 2
    return rehearsal_main(arguments)


def validate_weights_command(folders: list[str]) -> int:
    """Every problem of every folder, one line each, and exit 1; or an OK line for each folder, and exit 0."""
    summaries: list[WeightsSummary] = []
    problems: list[str] = []
    for folder in folders:
        try:
            summaries.append(validate_weights(folder))
        except WeightsError as error:
            problems += error.problems
    for problem in problems:
        _print(problem)
    if problems:
        return 1
    for summary in summaries:
        size = format_size(summary.weight_bytes)
        _print(f"{summary.folder}: OK ({summary.architecture}, {summary.parameters:,} parameters, {size})")
    return 0


def problems_of(path: str, stage: str | None) -> list[Problem]:
    """Every problem of the file, as written and with each stage (or only with stage), each once."""
    return ModelsFile.check(path, None if stage is None else [stage])[1]


def _print(line: str) -> None:
    """Print a line whatever the terminal's encoding can show (the rest escaped): no error, no extra line."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(line.encode(encoding, "backslashreplace").decode(encoding, "replace"))


if __name__ == "__main__":
    sys.exit(main())
