"""AWS CDK constructs that make Amazon Bedrock model customization declarative."""

from .custom_model import CustomModel
from .inputs import Customization, InvocationLogs, RequestMetadataFilter, S3Data
from .provider import CustomizationProvider

__all__ = [
    "CustomModel",
    "Customization",
    "CustomizationProvider",
    "InvocationLogs",
    "RequestMetadataFilter",
    "S3Data",
]
