"""Fn::Sub's references in a template's text, as its documentation writes them: ${Name} (a parameter, a resource,
a pseudo parameter or one of its own variables), ${Resource.Attribute}, and ${!Literal}, which it writes as
${Literal}. CloudFormation reads a name with spaces around it as the name (cfn-lint#236), and ${ !Literal} as a
literal (cdklabs/decdk#358)."""

from __future__ import annotations

import re

# A literal (its "!", and its text, which may hold "$", as a shell's ${!HOME:-$USER} does), or a name, which holds no
# "$". Neither holds "{" or "}": each match then stops at the next "${", and a text of many unclosed "${" is read in
# linear time ("[^}]*" went on to the text's end from each: quadratic).
REFERENCE = re.compile(r"\$\{(?:\s*(!)([^{}]*)|([^${}]*))\}")


def read(found: re.Match[str]) -> tuple[bool, str]:
    """A REFERENCE match as (whether it is a literal, its text as written after the "!", or its name without the
    spaces around it)."""
    if found[1]:
        return True, found[2]
    return False, found[3].strip()


def referenced_names(text: str) -> set[str]:
    """The names that text's references read, each as far as its first "." (a resource's, for an attribute);
    literals left out."""
    references = (read(found) for found in REFERENCE.finditer(text))
    return {name.split(".", 1)[0] for literal, name in references if not literal and name}
