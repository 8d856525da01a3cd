"""Serial links with hard deadlines: open a port (COM, /dev/tty*, /dev/pts/N or socket://host:port)
and read replies that either arrive complete within the timeout or raise :class:`DeviceTimeout`.

pymeasure's ``SerialAdapter`` returns whatever arrived when pyserial times out; for a bench that must
never hang or act on half a reply we raise instead, and translate every link failure into a
:class:`DeviceError` naming the device.
"""

from __future__ import annotations

import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager

import serial
from pymeasure.adapters import SerialAdapter

from drivers.interfaces import DeviceError, DeviceNotConnected, DeviceTimeout


def open_port(url: str, *, baudrate: int, timeout_s: float, device: str) -> serial.SerialBase:
    """Open ``url`` 8N1 without flow control; ``socket://`` and ``/dev/pts/N`` work like a COM port."""
    try:
        return serial.serial_for_url(
            url, baudrate=baudrate, bytesize=8, parity="N", stopbits=1, timeout=timeout_s, write_timeout=timeout_s
        )
    except (serial.SerialException, OSError, ValueError, termios.error) as exc:
        raise DeviceNotConnected(f"cannot open port {url!r} ({exc})", device=device) from None


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

    # ------------------------------------------------------------------ deadline
    def restart_deadline(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    def _remaining_s(self, waiting_for: str) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise DeviceTimeout(f"no complete reply within {self.timeout_s:g} s ({waiting_for})", device=self.device)
        return remaining

    # ------------------------------------------------------------------ pymeasure hooks
    def _write(self, command: str, **kwargs) -> None:
        self.restart_deadline()
        with link_errors(self.device, f"sending {command!r}"):
            # A reply that arrived after an earlier timeout must not be read as this command's answer.
            self.connection.reset_input_buffer()
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
                return data[: -len(term)].decode("ascii", errors="strict")
            self._remaining_s(f"waiting for {terminator!r}, got {data[-40:]!r}")

    def flush_read_buffer(self) -> None:
        with link_errors(self.device, "flushing the input buffer"):
            self.connection.reset_input_buffer()

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
        raise DeviceError(f"{action}: unexpected reply ({exc})", device=device) from None


def parse_float(text: str, *, device: str, what: str) -> float:
    """A number from a reply, or a DeviceError quoting the garbage."""
    try:
        return float(text)
    except (TypeError, ValueError):
        raise DeviceError(f"{what}: expected a number, got {text!r}", device=device) from None


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
            self._adapter.flush_read_buffer()
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
