"""The run file's on-disk rules shared by the writer and the reader (docs/data-format.md, decision 0030).

Commit points: each step of each stage has two slots (A/B) for its sums, saturation mask and count,
each slot with a CRC-32. A *commit record* (written alternately into ``/commit/record_0`` and
``/commit/record_1``, itself CRC-protected) says which slot of every step is current, with
``blocks_done`` and ``frames_done``. A block becomes durable when its record is flushed; until then
the previous record and the slots it names are untouched.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

FORMAT_VERSION = 3
STATUSES = ("running", "complete", "aborted", "failed")
STATUS_DTYPE = "S16"
FAILURE_DTYPE = "S512"  # /failure: the reason a run failed, pre-allocated (written when the disk is full)
PROVENANCE_DTYPE = np.dtype([
    ("stage", "i4"), ("step", "i4"), ("cycle", "i4"), ("frame_id", "i8"), ("timestamp_s", "f8"),
    ("delay_um", "f8"), ("piezo_position", "f8"), ("laser_power_w", "f8"), ("exposure_s", "f8"),
])
PROVENANCE_UNITS = {"timestamp_s": "s (camera clock)", "delay_um": "um (delay stage readback)",
                    "piezo_position": "phase piezo unit (readback)", "laser_power_w": "W (measured)",
                    "exposure_s": "s"}
LOG_DTYPE = np.dtype([("time_s", "f8"), ("level", "S8"), ("message", "S240")])
# the unit of each result map (results files and run files alike)
RESULT_UNITS = {
    "visibility": "1", "amplitude": "1", "phase": "rad", "phase_unwrapped": "rad", "sigma_phase": "rad",
    "sigma_visibility": "1", "sigma_amplitude": "1", "mean": "ADU", "dark": "ADU", "reference_visibility": "1",
}
FRAME_MAX_ADU = 65535  # frames are at most 16-bit: a step's sum never exceeds count x this

RECORD_NAMES = ("commit/record_0", "commit/record_1")
_RECORD_MAGIC = b"QIUPREC1"
_RECORD_HEAD = struct.Struct("<8sqqqI")  # magic, sequence number, blocks_done, frames_done, number of slots


PIXEL_SIZE_ROOT_ATTR = "object_pixel_size_um"  # root attribute: one image pixel on the object, um (NaN: unknown)
PIXEL_SIZE_ATTR = "pixel_size_um"  # the same on every 2-D/3-D result dataset


def pixel_size_attr(pixel_size_um: float | None) -> float:
    """The attribute value stored for a pixel size: the size in um, or NaN when unknown."""
    if pixel_size_um is None:
        return float("nan")
    value = float(pixel_size_um)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"object pixel size must be a positive number of um, got {pixel_size_um!r}")
    return value


def pixel_size_from_attr(value) -> float | None:
    """A stored pixel-size attribute back as um, or None (absent, NaN, not positive)."""
    try:
        value = float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return None
    return value if np.isfinite(value) and value > 0 else None


def sums_dtype(frames_per_step: int) -> str:
    """uint32 while the sum of F 16-bit frames cannot overflow it, else uint64."""
    return "uint32" if frames_per_step * FRAME_MAX_ADU <= np.iinfo(np.uint32).max else "uint64"


def record_size(n_steps_total: int) -> int:
    return _RECORD_HEAD.size + n_steps_total + 4


@dataclass(frozen=True)
class CommitRecord:
    """One commit point: sequence number, progress, and the current slot (0/1) of every step."""

    seq: int
    blocks_done: int
    frames_done: int
    slots: np.ndarray  # uint8 (total steps of all stages, in stage order)

    def encode(self) -> np.ndarray:
        body = _RECORD_HEAD.pack(_RECORD_MAGIC, self.seq, self.blocks_done, self.frames_done, len(self.slots))
        body += np.asarray(self.slots, np.uint8).tobytes()
        return np.frombuffer(body + struct.pack("<I", zlib.crc32(body)), np.uint8)

    @classmethod
    def decode(cls, raw: np.ndarray) -> "CommitRecord | None":
        """The record, or None when it was never written or is torn (bad magic or checksum)."""
        data = np.asarray(raw, np.uint8).tobytes()
        if len(data) < _RECORD_HEAD.size + 4:
            return None
        magic, seq, blocks, frames, n = _RECORD_HEAD.unpack_from(data)
        end = _RECORD_HEAD.size + n
        if magic != _RECORD_MAGIC or end + 4 != len(data):
            return None
        if struct.unpack_from("<I", data, end)[0] != zlib.crc32(data[:end]):
            return None
        return cls(seq, blocks, frames, np.frombuffer(data[_RECORD_HEAD.size:end], np.uint8).copy())


def newest_valid_record(raws) -> tuple[CommitRecord | None, int]:
    """The valid record with the highest sequence number and how many records were torn."""
    records = [CommitRecord.decode(r) for r in raws]
    valid = [r for r in records if r is not None]
    return (max(valid, key=lambda r: r.seq) if valid else None), len(records) - len(valid)


def slot_checksum(count: int, sums: np.ndarray, saturated: np.ndarray) -> int:
    """CRC-32 of one slot: its frame count, exact sums and saturation mask (as stored)."""
    crc = zlib.crc32(struct.pack("<q", int(count)))
    crc = zlib.crc32(np.ascontiguousarray(sums).view(np.uint8), crc)
    return zlib.crc32(np.ascontiguousarray(saturated, np.uint8).view(np.uint8), crc)
