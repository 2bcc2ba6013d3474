"""AWS CDK constructs that make Amazon Bedrock model customization declarative.

Exports load on first use, so that the models-file validator and its command do not start the CDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Commitment": ".serving",
    "Completion": ".completion",
    "CompletionMode": ".completion",
    "CopiedCustomModel": ".copied_model",
    "CustomModel": ".custom_model",
    "CustomModelBase": ".serving",
    "CustomModelDeployment": ".serving",
    "CustomModelDeploymentBase": ".serving",
    "Customization": ".inputs",
    "CustomizationProvider": ".provider",
    "CustomizationProviderStack": ".provider_stack",
    "EvaluationDataset": ".evaluation",
    "ImportedCustomModel": ".imported_model",
    "ImportedModel": ".model_import",
    "ImportedModelBase": ".model_import",
    "InvocableModel": ".invocable",
    "InvocationLogs": ".inputs",
    "JobCompletionNotifier": ".completion",
    "ModelEvaluation": ".evaluation",
    "ModelSource": ".imported_model",
    "ModelsFromFile": ".from_file",
    "ProviderKind": ".provider",
    "ProvisionedThroughput": ".serving",
    "ProvisionedThroughputBase": ".serving",
    "RequestMetadataFilter": ".inputs",
    "S3Data": ".inputs",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .completion import Completion as Completion
    from .completion import CompletionMode as CompletionMode
    from .completion import JobCompletionNotifier as JobCompletionNotifier
    from .copied_model import CopiedCustomModel as CopiedCustomModel
    from .custom_model import CustomModel as CustomModel
    from .evaluation import EvaluationDataset as EvaluationDataset
    from .evaluation import ModelEvaluation as ModelEvaluation
    from .from_file import ModelsFromFile as ModelsFromFile
    from .imported_model import ImportedCustomModel as ImportedCustomModel
    from .imported_model import ModelSource as ModelSource
    from .inputs import (
        Customization as Customization,
    )
    from .inputs import (
        InvocationLogs as InvocationLogs,
    )
    from .inputs import (
        RequestMetadataFilter as RequestMetadataFilter,
    )
    from .inputs import (
        S3Data as S3Data,
    )
    from .invocable import InvocableModel as InvocableModel
    from .model_import import ImportedModel as ImportedModel
    from .model_import import ImportedModelBase as ImportedModelBase
    from .provider import CustomizationProvider as CustomizationProvider
    from .provider import ProviderKind as ProviderKind
    from .provider_stack import CustomizationProviderStack as CustomizationProviderStack
    from .serving import (
        Commitment as Commitment,
    )
    from .serving import (
        CustomModelBase as CustomModelBase,
    )
    from .serving import (
        CustomModelDeployment as CustomModelDeployment,
    )
    from .serving import (
        CustomModelDeploymentBase as CustomModelDeploymentBase,
    )
    from .serving import (
        ProvisionedThroughput as ProvisionedThroughput,
    )
    from .serving import (
        ProvisionedThroughputBase as ProvisionedThroughputBase,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
