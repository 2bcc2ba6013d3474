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


def folder_bytes(folder: str | os.PathLike[str]) -> int:
    """The size of the files under folder (symbolic links are not followed, as the CDK does not copy them)."""
    total = 0
    for directory, _subfolders, files in os.walk(folder):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
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
