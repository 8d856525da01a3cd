"""Device errors: every failure is a DeviceError whose message names the device and what happened."""

from __future__ import annotations


class DeviceError(Exception):
    """A device failed or refused; the message says which device and what happened."""

    def __init__(self, message: str, *, device: str | None = None):
        self.device = device
        super().__init__(f"{device}: {message}" if device else message)


class DeviceTimeout(DeviceError):
    """The device did not answer within its timeout."""


class DeviceNotConnected(DeviceError):
    """The device was used before ``connect()`` or after ``close()``."""


class LimitError(DeviceError):
    """A setpoint lies outside the device's allowed range (nothing was sent)."""


class InterlockError(DeviceError):
    """The laser interlock is open (or tripped): emission is not possible."""


class PowerNotSettled(DeviceTimeout):
    """The laser answered, but its output power did not reach the setpoint in time."""


class FeatureNotSupported(DeviceError):
    """The device lacks a feature (e.g. a camera without an ExposureTime node)."""


class CorruptReply(DeviceError):
    """A reply arrived but is garbled (not ASCII, or not what the protocol says); retried once where
    re-sending is safe (``drivers.link.retry_once_on_corrupt``)."""
