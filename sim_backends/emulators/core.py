"""A small line-protocol server: one device behaviour served on a pseudo-terminal or a localhost socket.

The real drivers open ``server.url`` (``/dev/pts/N`` or ``socket://127.0.0.1:PORT``) exactly as they
would open a COM port. Faults can be switched on at any time to prove that the drivers fail cleanly:
``SILENT`` (the device stops answering), ``GARBAGE`` (replies are noise) and ``CLOSED`` (the port goes
away under the driver). ``garble_next(n)`` corrupts only the next ``n`` replies (line noise flipping
the letters and digits, the line structure intact), to prove a single corrupted reply is retried.
"""

from __future__ import annotations

import enum
import os
import select
import socket
import threading
import tty
from typing import Literal, Protocol

Transport = Literal["pty", "tcp"]

GARBAGE = b"\xfe#?!\x15garbage\x07"
NOISE = 0xFE  # what a flipped byte turns into: not ASCII, so no driver can mistake it for a value


def garble(reply: bytes) -> bytes:
    """The reply with every letter and digit replaced by a non-ASCII byte (terminators, prompts kept)."""
    return bytes(NOISE if chr(b).isalnum() else b for b in reply)


class Fault(enum.Enum):
    NONE = "none"
    SILENT = "silent"  # reads and swallows commands, never replies
    GARBAGE = "garbage"  # answers every command with noise (plus the device's line end)
    CLOSED = "closed"  # the port closes: the pty master or the socket is shut


class LineDevice(Protocol):
    """A device behaviour: splits input on ``input_terminator`` and answers each line with bytes."""

    input_terminator: bytes
    output_terminator: bytes

    def handle(self, line: str) -> bytes: ...


class LineSplitter:
    """Bytes in, complete lines out (terminator removed, stray CR/LF stripped)."""

    def __init__(self, terminator: bytes):
        self.terminator = terminator
        self.buffer = b""

    def feed(self, data: bytes) -> list[str]:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(self.terminator)
        return [line.strip(b"\r\n").decode("ascii", errors="replace") for line in lines]


class EmulatorServer:
    """Serve one :class:`LineDevice` on a pty or a 127.0.0.1 socket from a daemon thread."""

    def __init__(self, device: LineDevice, transport: Transport = "pty"):
        if transport not in ("pty", "tcp"):
            raise ValueError(f"transport must be 'pty' or 'tcp', not {transport!r}")
        self.device = device
        self.transport = transport
        self.fault = Fault.NONE
        self.received: list[str] = []  # every command line, for tests
        self._garble_left = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self.url = ""

    # ------------------------------------------------------------------ life cycle
    def start(self) -> EmulatorServer:
        if self.transport == "pty":
            self._master, self._slave = os.openpty()
            tty.setraw(self._slave)  # no echo, no CR/LF translation by the line discipline
            self.url = os.ttyname(self._slave)
            target = self._serve_pty
        else:
            self._listener = socket.create_server(("127.0.0.1", 0))
            self._listener.settimeout(0.05)
            self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
            target = self._serve_tcp
        self._thread = threading.Thread(target=target, name=f"emulator-{type(self.device).__name__}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the pty / sockets; safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._close_port()
        for fd_name in ("_slave",):
            fd = getattr(self, fd_name)
            if fd is not None:
                _close_fd(fd)
                setattr(self, fd_name, None)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def set_fault(self, fault: Fault) -> None:
        self.fault = fault
        if fault is Fault.CLOSED:
            self._close_port()

    def garble_next(self, replies: int) -> None:
        """Corrupt the next ``replies`` non-empty replies (the commands are still carried out)."""
        with self._lock:
            self._garble_left = int(replies)

    # ------------------------------------------------------------------ serving
    def _reply_for(self, line: str) -> bytes:
        self.received.append(line)
        if self.fault is Fault.SILENT:
            return b""
        if self.fault is Fault.GARBAGE:
            return GARBAGE + self.device.output_terminator
        reply = self.device.handle(line)
        if reply and self._garble_left > 0:
            with self._lock:
                self._garble_left -= 1
            return garble(reply)
        return reply

    def _serve_pty(self) -> None:
        splitter = LineSplitter(self.device.input_terminator)
        while not self._stop.is_set():
            master = self._master
            if master is None:
                return
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except OSError:  # no reader on the slave side yet, or the master was closed
                self._stop.wait(0.01)
                continue
            for line in splitter.feed(data):
                reply = self._reply_for(line)
                if reply and self._master is not None:
                    try:
                        os.write(self._master, reply)
                    except OSError:
                        pass

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                client, _ = listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with self._lock:
                self._client = client
            self._serve_client(client)

    def _serve_client(self, client: socket.socket) -> None:
        splitter = LineSplitter(self.device.input_terminator)
        client.settimeout(0.05)
        while not self._stop.is_set():
            try:
                data = client.recv(4096)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            if not data:  # the driver closed its end
                _close_socket(client)
                return
            for line in splitter.feed(data):
                reply = self._reply_for(line)
                if reply:
                    try:
                        client.sendall(reply)
                    except OSError:
                        return

    def _close_port(self) -> None:
        with self._lock:
            if self._master is not None:
                _close_fd(self._master)
                self._master = None
            for sock_name in ("_client", "_listener"):
                sock = getattr(self, sock_name)
                if sock is not None:
                    _close_socket(sock)
                    setattr(self, sock_name, None)


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
