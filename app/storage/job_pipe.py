"""Objects over a pipe with their arrays sent as raw bytes (pickle protocol 5, buffers out of band).

A frame is ``<head length, buffer count>`` (two little-endian uint64), the pickled head, then each
buffer as ``<length>`` and its bytes. Arrays are written straight from their memory and read
straight into the memory of the arrays that unpickling then wraps (no copy of a map on either side),
and a frame read as it is can be forwarded to another process unchanged (``write_frame``). Only the
standard library: the figure process and the command both load this.
"""

from __future__ import annotations

import pickle
import struct

_COUNTS = struct.Struct("<QQ")
_LENGTH = struct.Struct("<Q")

Frame = tuple[bytes, list[bytearray]]


def send(stream, obj) -> None:
    """Pickle ``obj`` into one frame on ``stream`` (a binary file) and flush."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    write_frame(stream, (head, [b.raw() for b in buffers]))


def write_frame(stream, frame: tuple[bytes, list]) -> None:
    """Write a frame (its head and buffers, e.g. as ``read_frame`` returned them) and flush."""
    head, buffers = frame
    stream.write(_COUNTS.pack(len(head), len(buffers)))
    stream.write(head)
    for buffer in buffers:
        view = memoryview(buffer).cast("B")
        stream.write(_LENGTH.pack(view.nbytes))
        stream.write(view)
    stream.flush()


def read_frame(stream) -> Frame | None:
    """The next frame, or None at the end of the input (EOFError if it ends inside a frame)."""
    first = stream.read(_COUNTS.size)
    if not first:
        return None
    head_len, count = _COUNTS.unpack(_exactly(stream, _COUNTS.size, first))
    head = _exactly(stream, head_len, b"")
    buffers = []
    for _ in range(count):
        (n,) = _LENGTH.unpack(_exactly(stream, _LENGTH.size, b""))
        buffer = bytearray(n)
        view, filled = memoryview(buffer), 0
        while filled < n:
            got = stream.readinto(view[filled:])
            if not got:
                raise EOFError("the input ended inside a frame")
            filled += got
        buffers.append(buffer)
    return head, buffers


def load(frame: Frame):
    """The object of a frame; its arrays use the frame's buffers as their memory."""
    head, buffers = frame
    return pickle.loads(head, buffers=buffers)


def receive(stream):
    """``load(read_frame(stream))``; EOFError at the end of the input."""
    frame = read_frame(stream)
    if frame is None:
        raise EOFError("no reply")
    return load(frame)


def _exactly(stream, n: int, start: bytes) -> bytes:
    data = start
    while len(data) < n:
        more = stream.read(n - len(data))
        if not more:
            raise EOFError("the input ended inside a frame")
        data += more
    return data
