"""cdk-bedrock-customization: validate models files offline, print their JSON Schema, or rehearse an app.

    cdk-bedrock-customization validate models.yaml [more.yaml ...] [--stage NAME]
    cdk-bedrock-customization schema
    cdk-bedrock-customization rehearse [--app "python app.py"] [options: rehearse --help]

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
    args = parser.parse_args(arguments)
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


def problems_of(path: str, stage: str | None) -> list[Problem]:
    """Every problem of the file, as written and with each stage (or only with stage), each once."""
    return ModelsFile.check(path, None if stage is None else [stage])[1]


def _print(line: str) -> None:
    """Print a line whatever the terminal's encoding can show (the rest escaped): no error, no extra line."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(line.encode(encoding, "backslashreplace").decode(encoding, "replace"))


if __name__ == "__main__":
    sys.exit(main())
