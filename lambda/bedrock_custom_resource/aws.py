"""Bedrock clients that read the service model shipped with this package.

The boto3 in Lambda's Python runtime lags behind PyPI and may not know newer members such as
rftConfig; pointing botocore's data path at botocore_data/ makes any runtime speak the same model
the contract validates against.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from .contract import SERVICE_DATA_PATH

# Standard mode retries throttling and transient errors with exponential backoff and jitter.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, user_agent_extra="cdk-bedrock-customization")


def bedrock_client() -> Any:
    core = botocore.session.get_session()
    core.set_config_variable("data_path", str(SERVICE_DATA_PATH))
    return boto3.session.Session(botocore_session=core).client("bedrock", config=RETRY_CONFIG)


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(error)


def cloudformation_client() -> Any:
    return boto3.session.Session().client("cloudformation", config=RETRY_CONFIG)


def s3_client() -> Any:
    return boto3.session.Session().client("s3", config=RETRY_CONFIG)
