"""The GUI's message log: what commands and runs said, numbered so each panel reads only what is new."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    seq: int
    time_s: float
    level: str  # info | warning | error
    text: str


class MessageLog:
    """The last ``keep`` messages; ``add`` from any thread, ``after(seq)`` the newer ones (the GUI polls)."""

    def __init__(self, keep: int = 200):
        self._messages: deque[Message] = deque(maxlen=keep)
        self._seq = 0
        self._lock = threading.Lock()

    def add(self, level: str, text: str) -> Message:
        with self._lock:
            self._seq += 1
            message = Message(self._seq, time.time(), level, text)
            self._messages.append(message)
        return message

    def after(self, seq: int) -> list[Message]:
        with self._lock:
            return [m for m in self._messages if m.seq > seq]
