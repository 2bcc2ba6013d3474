"""What it takes to upload a local folder with aws-cdk-lib's BucketDeployment: its function downloads the folder's
zip and extracts it in Lambda's ephemeral storage, at most 10,240 MiB (Lambda's quotas), before copying the files
to S3, so a folder needs about twice its size there. CDK-free: the models file's validation uses it too."""

from __future__ import annotations

import math
import os

from .weights import format_size

MIB = 1 << 20
# Lambda's largest ephemeral storage (its "Lambda quotas" page), and room for the function's own files.
MAX_EPHEMERAL_STORAGE_MIB = 10_240
STORAGE_MARGIN_MIB = 512


def folder_bytes(folder: str | os.PathLike[str], _counted: set[str] | None = None) -> int:
    """The size of what the CDK stages of folder: its files, and what symbolic links whose target is outside it lead
    to, which it copies (SymlinkFollowMode.EXTERNAL: a Hugging Face cache's snapshot links into its blobs); a link
    whose target is within the folder stays a link. Each folder counts once (links may lead into each other)."""
    root = os.path.abspath(folder)
    counted = set() if _counted is None else _counted
    counted.add(os.path.realpath(root))
    total = 0
    for directory, subfolders, files in os.walk(root):
        for name in [*files, *subfolders]:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                total += os.path.getsize(path) if name in files else 0
                continue
            # As aws-cdk-lib's copyDirectory tells: the link's own target, resolved against its folder.
            if os.path.commonpath([root, os.path.normpath(os.path.join(directory, os.readlink(path)))]) == root:
                continue
            if os.path.isfile(path):
                total += os.path.getsize(path)
            elif os.path.isdir(path) and os.path.realpath(path) not in counted:
                total += folder_bytes(os.path.realpath(path), counted)
    return total


def upload_storage_mib(size: int) -> int:
    """The ephemeral storage an upload of size bytes needs: the zip and its extracted files, and the margin."""
    return 2 * math.ceil(size / MIB) + STORAGE_MARGIN_MIB


def upload_problem(folder: str | os.PathLike[str]) -> str | None:
    """Why the folder is too large to upload, or None."""
    size = folder_bytes(folder)
    if upload_storage_mib(size) <= MAX_EPHEMERAL_STORAGE_MIB:
        return None
    largest = (MAX_EPHEMERAL_STORAGE_MIB - STORAGE_MARGIN_MIB) // 2 * MIB
    return (
        f"{os.fspath(folder)} holds {format_size(size)}, more than the {format_size(largest)} that aws-cdk-lib's "
        "BucketDeployment can upload (its function extracts the folder's zip in Lambda's 10,240 MiB of ephemeral "
        "storage); upload it with `aws s3 sync` and give its s3:// URI"
    )
