"""AWS CDK constructs that make Amazon Bedrock model customization declarative."""

from .custom_model import CustomModel
from .imported_model import ImportedCustomModel, ModelSource
from .inputs import Customization, InvocationLogs, RequestMetadataFilter, S3Data
from .provider import CustomizationProvider
from .serving import Commitment, CustomModelBase, CustomModelDeployment, ProvisionedThroughput

__all__ = [
    "Commitment",
    "CustomModel",
    "CustomModelBase",
    "CustomModelDeployment",
    "Customization",
    "CustomizationProvider",
    "ImportedCustomModel",
    "InvocationLogs",
    "ModelSource",
    "ProvisionedThroughput",
    "RequestMetadataFilter",
    "S3Data",
]
