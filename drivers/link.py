"""Serial links with hard deadlines: open a port (COM, /dev/tty*, /dev/pts/N or socket://host:port)
and read replies that either arrive complete within the timeout or raise :class:`DeviceTimeout`.

pymeasure's ``SerialAdapter`` returns whatever arrived when pyserial times out; for a bench that must
never hang or act on half a reply we raise instead, and translate every link failure into a
:class:`DeviceError` naming the device.

Ports are opened exclusively (a second process, or a second driver, cannot open a port in use).
Input is flushed only where a stale reply can exist: after a timeout (its late reply may still
arrive) and after a corrupted reply. With one lock per device (``drivers.contracts``) no other
thread's reply can be in the buffer, so nothing is flushed before a normal command.
"""

from __future__ import annotations

import logging
import termios
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import serial
from pymeasure.adapters import SerialAdapter

from drivers.errors import CorruptReply, DeviceError, DeviceNotConnected, DeviceTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")

DRAIN_QUIET_S = 0.03  # after a corrupted reply: read until the line has been quiet this long


def open_port(url: str, *, baudrate: int, timeout_s: float, device: str) -> serial.SerialBase:
    """Open ``url`` 8N1 without flow control, exclusively (POSIX ``flock``; Windows COM ports are
    exclusive anyway); ``socket://`` and ``/dev/pts/N`` work like a COM port."""
    try:
        return serial.serial_for_url(
            url, baudrate=baudrate, bytesize=8, parity="N", stopbits=1, timeout=timeout_s, write_timeout=timeout_s,
            exclusive=True,
        )
    except (serial.SerialException, OSError, ValueError, termios.error) as exc:
        if "Could not exclusively lock" in str(exc):
            raise DeviceNotConnected(f"port {url!r} is in use by another program or driver", device=device) from None
        raise DeviceNotConnected(f"cannot open port {url!r} ({exc})", device=device) from None


def retry_once_on_corrupt(action: Callable[[], T], *, recover: Callable[[], None], device: str, what: str) -> T:
    """Run ``action``; after a :class:`CorruptReply` call ``recover()`` (drain the line) and run it once
    more; a second corrupted reply fails the call. Only for transactions that are safe to repeat:
    queries, and commands that set an absolute value (re-sending the same setpoint changes nothing)."""
    try:
        return action()
    except CorruptReply as first:
        log.warning("%s: %s: corrupted reply, retrying once (%s)", device, what, first)
        recover()
        try:
            return action()
        except CorruptReply as second:
            raise CorruptReply(f"{what}: corrupted reply twice in a row ({second})", device=device) from None


class DeadlineSerialAdapter(SerialAdapter):
    """A pymeasure adapter whose reads end at a per-command deadline (set when the command is written).

    A reply that does not end with the terminator within ``timeout_s`` of the command raises
    :class:`DeviceTimeout`; a dead or closed port raises :class:`DeviceError`.
    """

    def __init__(
        self,
        connection: serial.SerialBase,
        *,
        device: str,
        timeout_s: float,
        read_termination: str,
        write_termination: str,
    ):
        super().__init__(connection, read_termination=read_termination, write_termination=write_termination)
        self.device = device
        self.timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s
        self._stale_input = False  # set by a timeout: a late reply may still arrive and must not be read

    # ------------------------------------------------------------------ deadline
    def restart_deadline(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    def _remaining_s(self, waiting_for: str) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._stale_input = True
            raise DeviceTimeout(f"no complete reply within {self.timeout_s:g} s ({waiting_for})", device=self.device)
        return remaining

    # ------------------------------------------------------------------ pymeasure hooks
    def _write(self, command: str, **kwargs) -> None:
        if self._stale_input:  # a reply that arrives after a timeout is not this command's answer:
            self.drain()  # discard it, including one still on its way
        self.restart_deadline()
        with link_errors(self.device, f"sending {command!r}"):
            super()._write(command, **kwargs)

    def _read(self, **kwargs) -> str:
        return self.read_until(self.read_termination)

    def read_until(self, terminator: str) -> str:
        """Read up to and excluding ``terminator``; DeviceTimeout if it does not arrive by the deadline."""
        term = terminator.encode()
        data = b""
        while True:
            self.connection.timeout = self._remaining_s(f"waiting for {terminator!r}")
            with link_errors(self.device, "reading the reply"):
                data += self.connection.read_until(term)
            if data.endswith(term):
                try:
                    return data[: -len(term)].decode("ascii", errors="strict")
                except UnicodeDecodeError:
                    raise CorruptReply(f"garbled reply {data[-40:]!r}", device=self.device) from None
            self._remaining_s(f"waiting for {terminator!r}, got {data[-40:]!r}")

    def flush_read_buffer(self) -> None:
        with link_errors(self.device, "flushing the input buffer"):
            self.connection.reset_input_buffer()
        self._stale_input = False

    def drain(self, quiet_s: float = DRAIN_QUIET_S) -> None:
        """Discard input until the line has been quiet for ``quiet_s`` (the rest of a garbled reply, or
        a late reply after a timeout), bounded by the link timeout."""
        end = time.monotonic() + self.timeout_s
        with link_errors(self.device, "draining stale input"):
            self.connection.reset_input_buffer()
            self.connection.timeout = quiet_s
            while time.monotonic() < end:
                if not self.connection.read(4096):
                    break
        self._stale_input = False

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 - closing a dead port must not raise
            pass


@contextmanager
def link_errors(device: str, action: str) -> Iterator[None]:
    """Turn pyserial/OS/parse failures inside the block into DeviceErrors that say what was going on."""
    try:
        yield
    except DeviceError:
        raise
    except serial.SerialTimeoutException:
        raise DeviceTimeout(f"{action}: the port did not accept data in time", device=device) from None
    except serial.PortNotOpenError:
        raise DeviceNotConnected(f"{action}: the port is closed", device=device) from None
    except (serial.SerialException, OSError, termios.error) as exc:
        raise DeviceError(f"{action}: the link failed ({exc})", device=device) from None
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise CorruptReply(f"{action}: unexpected reply ({exc})", device=device) from None


def parse_float(text: str, *, device: str, what: str) -> float:
    """A number from a reply, or a CorruptReply quoting the garbage."""
    try:
        return float(text)
    except (TypeError, ValueError):
        raise CorruptReply(f"{what}: expected a number, got {text!r}", device=device) from None


class SerialLinkMixin:
    """Life cycle of a driver that owns one :class:`DeadlineSerialAdapter` (the serial stages):
    ``connected``, opening with a handshake that closes the port again if it fails, releasing it."""

    name: str
    port: str
    baudrate: int
    timeout_s: float
    _adapter: DeadlineSerialAdapter | None = None

    @property
    def connected(self) -> bool:
        return self._adapter is not None

    def _open_link(self, handshake, *, termination: str) -> None:
        """Open the port, flush it and run ``handshake()``; on any failure release the port and re-raise."""
        if self.connected:
            return
        connection = open_port(self.port, baudrate=self.baudrate, timeout_s=self.timeout_s, device=self.name)
        self._adapter = DeadlineSerialAdapter(connection, device=self.name, timeout_s=self.timeout_s,
                                              read_termination=termination, write_termination=termination)
        try:
            self._adapter.flush_read_buffer()  # bytes left from before we opened the port
            handshake()
        except Exception:
            self._release_link()
            raise

    def _release_link(self) -> None:
        if self._adapter is not None:
            self._adapter.close()
            self._adapter = None

    def _require_adapter(self) -> DeadlineSerialAdapter:
        self.require_connected()
        return self._adapter

    def _retrying(self, action: Callable[[], T], what: str) -> T:
        """``action`` retried once after a corrupted reply (see ``retry_once_on_corrupt``)."""
        return retry_once_on_corrupt(action, recover=lambda: self._require_adapter().drain(),
                                     device=self.name, what=what)
