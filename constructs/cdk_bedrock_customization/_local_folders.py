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


# What an upload leaves out: hidden files and folders, at any depth (aws-cdk-lib's glob, matched on each name), such as
# the .cache/ that `hf download --local-dir` writes with the time of the download, which would change the upload's
# digest, and so import the same weights again, on every download. Custom Model Import reads none of them.
UPLOAD_EXCLUDES = (".*",)


def folder_bytes(folder: str | os.PathLike[str], _ancestors: tuple[str, ...] = ()) -> int:
    """The size of what an upload of folder holds: its files but hidden ones (UPLOAD_EXCLUDES), each link counted as
    what it leads to, as the asset's zip holds a copy for each (cdk-assets zips following links); a link back into a
    folder it is within counts nothing (a loop)."""
    real = os.path.realpath(folder)
    if real in _ancestors:
        return 0
    total = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():  # follows links
                total += folder_bytes(entry.path, (*_ancestors, real))
            elif entry.is_file():
                total += entry.stat().st_size
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
