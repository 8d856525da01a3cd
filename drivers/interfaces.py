"""Re-export of the device contracts (``drivers.contracts``) and their errors, for existing imports."""

from drivers.contracts import *  # noqa: F401,F403
from drivers.contracts import __all__ as _contracts_all
from drivers.errors import (  # noqa: F401  (re-exported: the contracts' errors)
    CorruptReply,
    DeviceError,
    DeviceNotConnected,
    DeviceTimeout,
    FeatureNotSupported,
    InterlockError,
    LimitError,
    PowerNotSettled,
)
from drivers.ownership import BenchBusy, BenchOwnership  # noqa: F401

__all__ = [*_contracts_all, "BenchBusy", "BenchOwnership", "CorruptReply", "DeviceError", "DeviceNotConnected",
           "DeviceTimeout", "FeatureNotSupported", "InterlockError", "LimitError", "PowerNotSettled"]
