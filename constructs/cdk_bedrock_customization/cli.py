"""cdk-bedrock-customization: validate models files offline, or print their JSON Schema.

    cdk-bedrock-customization validate models.yaml [more.yaml ...] [--stage NAME]
    cdk-bedrock-customization schema

validate checks each file as written and with each of its stages' overrides (or only --stage), and prints
every problem as one line, file:line:column: path.to.field: message, and nothing else. It exits 1 on any
problem, 2 on bad usage. No AWS account and no CDK app are needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .models_file import ModelsFile, Problem, json_schema


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cdk-bedrock-customization", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="validate models files offline")
    validate.add_argument("files", nargs="+")
    validate.add_argument("--stage", help="validate only with this stage's overrides")
    commands.add_parser("schema", help="print the models file's JSON Schema")
    args = parser.parse_args(argv)
    if args.command == "schema":
        print(json.dumps(json_schema(), indent=2, sort_keys=True))
        return 0
    problems = [problem for path in args.files for problem in problems_of(path, args.stage)]
    for problem in problems:
        _print(str(problem))
    if problems:
        return 1
    for path in args.files:
        _print(f"{path}: OK")
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
