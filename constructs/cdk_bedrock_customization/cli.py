"""cdk-bedrock-customization: validate models files offline, or print their JSON Schema.

    cdk-bedrock-customization validate models.yaml [more.yaml ...] [--stage NAME]
    cdk-bedrock-customization schema

validate checks each file as written and with each of its stages' overrides (or only --stage), and prints
every problem as file:line:column: path.to.field: message. It exits 1 on any problem, 2 on bad usage.
No AWS account and no CDK app are needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .models_file import ModelsFile, ModelsFileError, Problem, json_schema


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
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {len({p.file for p in problems})} file(s)", file=sys.stderr)
        return 1
    for path in args.files:
        print(f"{path}: OK")
    return 0


def problems_of(path: str, stage: str | None) -> list[Problem]:
    """Every problem of the file, as written and with each stage (each problem once)."""
    try:
        models_file = ModelsFile.read(path)
    except ModelsFileError as error:
        return error.problems
    problems = models_file.schema_problems()
    if problems:
        return problems
    found: dict[str, Problem] = {}
    for name in [stage] if stage else [None, *models_file.stages()]:
        try:
            variant = models_file.for_stage(name)
        except ModelsFileError as error:
            return error.problems
        for problem in variant.semantic_problems():
            message = problem.message if name is None else f"{problem.message} (stage {name})"
            found.setdefault(
                str(problem.line) + problem.path + problem.message, Problem(**{**vars(problem), "message": message})
            )
    return list(found.values())


if __name__ == "__main__":
    sys.exit(main())
