"""Synthesize several CDK apps in one Python process, each with its own output folder and context, as the CDK CLI
gives them (CDK_OUTDIR, CDK_CONTEXT_JSON): the tests' assemblies pay the interpreter's and jsii's start once, rather
than once per app.

    python synth_apps.py '[["app.py", "/out/dir", {"context": "value"}], ...]'

jsii's Node.js process reads its environment once, when it starts: so each app's cdk.App is given the output
folder and the context as arguments (what aws-cdk-lib does with the CLI's variables), rather than through them.
"""

from __future__ import annotations

import json
import runpy
import sys
from typing import Any

import aws_cdk as cdk

_APP = cdk.App


def main(argv: list[str]) -> None:
    for script, outdir, context in json.loads(argv[1]):
        cdk.App = _app_factory(outdir, context)  # type: ignore[misc]
        try:
            runpy.run_path(script, run_name="__main__")
        finally:
            cdk.App = _APP  # type: ignore[misc]


def _app_factory(outdir: str, context: dict[str, Any]) -> Any:
    def make_app(*args: Any, **kwargs: Any) -> cdk.App:
        kwargs["outdir"] = kwargs.get("outdir") or outdir
        kwargs["context"] = {**context, **(kwargs.get("context") or {})}
        return _APP(*args, **kwargs)

    return make_app


if __name__ == "__main__":
    main(sys.argv)
