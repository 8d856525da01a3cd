"""The one-axis stage contract: the phase piezo (open loop, volts) or a delay/sample stage (um)."""

from __future__ import annotations

import abc
import math

from drivers.contracts.base import Device
from drivers.contracts.readbacks import StageCapabilities, StageReadback
from drivers.contracts.values import StageUnit
from drivers.errors import DeviceTimeout, FeatureNotSupported, LimitError


class Stage(Device):
    """Move (in ``unit``), readback, limits, settle, stop, is_moving, home where the hardware has it."""

    readback_type = StageReadback
    unit: StageUnit = "um"
    closed_loop = True
    has_home = False
    settle_poll_s = 0.005  # between is-moving polls in wait_settled (no lock held while waiting)
    settle_timeout_s = 10.0  # how long move_to(wait=True) waits for the move to settle

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._target: float | None = None

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _move_to_hw(self, position: float) -> None:
        """Command the move (and check it was accepted); do not wait for it to settle."""

    @abc.abstractmethod
    def _position_hw(self) -> float: ...

    @abc.abstractmethod
    def _is_moving_hw(self) -> bool:
        """True until the last move has settled (on target)."""

    @abc.abstractmethod
    def _limits(self) -> tuple[float, float]:
        """(min, max) allowed position in ``unit`` from facts cached at connect (no I/O)."""

    def _stop_hw(self) -> None:
        """Stop a move where it is. Stages without it keep the default and report has_stop=False."""
        raise FeatureNotSupported("this stage cannot stop a move", device=self.name)

    def _home_hw(self) -> None:
        raise FeatureNotSupported("this stage has no homing", device=self.name)

    def _timing(self) -> tuple[float | None, float | None]:
        """(velocity in unit/s, settle time in s) as far as the driver knows them (no I/O); for estimates."""
        return None, None

    def _settle_eta_s(self) -> float | None:
        """Seconds until the last move is known to settle, if the driver knows (no I/O), else None."""
        return None

    @property
    def has_stop(self) -> bool:
        return type(self)._stop_hw is not Stage._stop_hw

    # ------------------------------------------------------------------ contract
    def move_to(self, position: float, *, wait: bool = True) -> None:
        """Move to ``position`` (in ``unit``); LimitError outside ``limits()``, nothing sent."""
        self.check_may_act(f"move to {position:g} {self.unit}")
        self.require_connected()
        self.check_in_limits(position)
        with self.transaction():
            self._move_to_hw(float(position))
            self._target = float(position)
            self._update_cache(target=float(position), moving=True)
        if wait:
            self.wait_settled(self.settle_timeout_s)

    def position(self) -> float:
        """Readback position in ``unit``."""
        with self.transaction():
            self.require_connected()
            return self._position_hw()

    def limits(self) -> tuple[float, float]:
        return self._limits()

    def is_moving(self) -> bool:
        with self.transaction():
            self.require_connected()
            return self._is_moving_hw()

    def wait_settled(self, timeout_s: float = 10.0) -> None:
        """Block until the last move has settled; DeviceTimeout otherwise. Polls in short transactions."""
        self.require_connected()
        deadline = self._clock_s() + timeout_s
        while True:
            if not self.is_moving():
                self._update_cache(moving=False)
                return
            remaining = deadline - self._clock_s()
            if remaining <= 0:
                raise DeviceTimeout(f"not on target within {timeout_s:g} s (at {self.position():.6g} {self.unit})",
                                    device=self.name)
            eta = self._settle_eta_s()
            step = self.settle_poll_s if eta is None else max(eta, 0.0)
            self._wait_s(min(step, remaining) if step > 0 else min(self.settle_poll_s, remaining))

    def stop(self) -> None:
        """Stop a move at once (ahead of queued calls). Open-loop stages, whose moves are immediate,
        have nothing to stop: a no-op, and ``capabilities().has_stop`` is False."""
        self.check_may_act("stop")
        self.require_connected()
        if not self.has_stop:
            return
        with self.transaction(priority=True):
            self._stop_hw()
            self._target = None
            self._update_cache(target=None)

    def home(self) -> None:
        """Reference the axis; only where the hardware has it."""
        self.check_may_act("homing")
        self.require_connected()
        with self.transaction():
            self._home_hw()

    def check_in_limits(self, position: float) -> None:
        """The one limit rule and message for every stage."""
        low, high = self.limits()
        try:
            value = float(position)
        except (TypeError, ValueError):
            raise LimitError(f"position {position!r} is not a number", device=self.name) from None
        if not (math.isfinite(value) and low <= value <= high):
            raise LimitError(
                f"position {position:g} {self.unit} is outside the limits [{low:g}, {high:g}] {self.unit}",
                device=self.name,
            )

    # ------------------------------------------------------------------ observable state
    def _read_state_hw(self) -> StageReadback:
        return StageReadback(position=self._position_hw(), unit=self.unit, target=self._target,
                             moving=self._is_moving_hw(), limits=tuple(self._limits()))

    def _capabilities_hw(self) -> StageCapabilities:
        velocity, settle = self._timing()
        return StageCapabilities(unit=self.unit, limits=tuple(self._limits()), closed_loop=self.closed_loop,
                                 has_stop=self.has_stop, has_home=self.has_home, velocity_per_s=velocity,
                                 settle_time_s=settle)
