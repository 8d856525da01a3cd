"""The runner: one sequence at a time in a worker thread, with pause/resume/abort and events.

Modelled on pymmcore-plus's MDA runner (Qt-free; the sequence is plain data). Parameters are validated
and planned against the bench's limits in the caller's thread, before any device moves. The worker
switches laser emission off on every way out (done, abort, device error, any exception); ``run``
turns an interrupt of the calling thread (Ctrl-C, SIGTERM) into an abort and waits for that to happen.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from app.engine.acquire import Acquisition, ResumeState
from app.engine.analysis import Analysis
from app.engine.calibration import calibration_file_path, effective_calibration, write_calibration_file
from app.engine.control import Aborted, Control
from app.engine.events import GuardedEvents, RunnerEvents, RunState
from app.engine.params import ParameterError, validate_params
from app.engine.plan import Plan, plan_from_json, plan_to_json
from app.engine.sequences import BenchFacts, build_plan
from app.engine.suspenders import Suspenders
from app.storage.reader import check_resumable
from app.storage.runfile import RunWriteError, RunWriter

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """How a run ended and what it produced (``result["amplitude"]``)."""

    sequence: str
    status: str  # complete | aborted | failed
    path: Path | None
    results: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None
    plan: Plan | None = None
    laser_off_confirmed: bool = True  # False: the laser did not confirm emission off at the end

    def __getitem__(self, name: str) -> np.ndarray:
        return self.results[name]


class Runner:
    """Runs sequences on one connected bench; subscribe to ``runner.events`` before starting."""

    def __init__(self, bench, *, max_pause_s: float | None = None):
        self.bench = bench
        self.events = RunnerEvents()  # subscribe here
        self._emit = GuardedEvents(self.events)  # the runner emits through this
        self.max_pause_s = max_pause_s
        self._state = RunState.IDLE
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._control: Control | None = None
        self._exception: BaseException | None = None
        self._finished = threading.Event()
        self._finished.set()
        self.result: RunResult | None = None

    # ------------------------------------------------------------------------------ state
    @property
    def state(self) -> RunState:
        return self._state

    def _set_state(self, new: RunState) -> None:
        with self._state_lock:
            old, self._state = self._state, new
        if old != new:
            self._emit.state_changed.emit(new, old)

    # ------------------------------------------------------------------------------ planning
    def plan(self, sequence: str, params: BaseModel | dict | None = None) -> tuple[BaseModel, Plan]:
        """Validate parameters and plan against the bench; ParameterError before anything moves."""
        if not isinstance(params, BaseModel):
            params = validate_params(sequence, dict(params or {}))
        facts = BenchFacts.from_bench(self.bench, effective_calibration(self.bench.config))
        return params, build_plan(sequence, params, facts)

    # ------------------------------------------------------------------------------ control
    def start(self, sequence: str, params: BaseModel | dict | None = None, *, path: str | Path | None = None) -> None:
        """Validate, create the run file (if ``path``) and start the worker; returns at once."""
        self._require_idle()
        params, plan = self.plan(sequence, params)
        writer = None
        if path is not None:
            loaded = self.bench.config
            writer = RunWriter.create(Path(path), plan=plan, plan_json=plan_to_json(plan), config_text=loaded.text,
                                      config_path=str(loaded.path), identities=self.bench.identities(),
                                      parameters=params.model_dump(),
                                      save_raw_frames=getattr(params, "save_raw_frames", False),
                                      raw_compression=getattr(params, "raw_compression", "lzf"))
        self._launch(sequence, params, plan, writer, ResumeState())

    def start_resume(self, path: str | Path) -> None:
        """Continue an interrupted run file from its last completed block."""
        self._require_idle()
        snap = check_resumable(path, plan_from_json)  # RunFileError: complete, live writer, inconsistent
        plan = plan_from_json(snap.plan_json)
        params = validate_params(snap.sequence, snap.parameters)
        if tuple(self.bench.camera.frame_shape()) != tuple(plan.frame_shape):
            raise ParameterError(f"{path}: the camera delivers {self.bench.camera.frame_shape()} frames, "
                                 f"the run was taken with {plan.frame_shape}")
        offsets, sums, saturated = {}, {}, {}
        for label, stage in snap.stages.items():
            finite = stage.piezo_offset[np.isfinite(stage.piezo_offset)]
            if finite.size:
                offsets[label] = float(finite[-1])
            if stage.counts.any():
                sums[label], saturated[label] = stage.read()
        state = ResumeState(block=snap.blocks_done, sums=sums, counts=snap.counts, piezo_offsets=offsets,
                            last_frame_id=snap.last_frame_id(), saturated=saturated)
        writer = RunWriter.adopt(Path(path))  # drops frames past the last commit
        writer.log("info", f"resumed at block {snap.blocks_done} of {len(plan.blocks)}")
        self._launch(snap.sequence, params, plan, writer, state)

    def pause(self) -> None:
        if self._control:
            self._control.request_pause()

    def resume(self) -> None:
        if self._control:
            self._control.request_resume()

    def abort(self, reason: str = "aborted by request") -> None:
        if self._control and not self._finished.is_set():
            self._set_state(RunState.ABORTING)
            self._control.request_abort(reason)

    stop = abort  # for the live sequence, stopping is its normal end

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """Block until the run has ended (or ``timeout``); the result, or None while still running."""
        self._finished.wait(timeout)
        return self.result

    @property
    def busy(self) -> bool:
        return not self._finished.is_set()

    def run(self, sequence: str, params: BaseModel | dict | None = None, *, path: str | Path | None = None,
            raise_on_error: bool = True) -> RunResult:
        """Start and wait; an interrupt of this thread aborts the run (laser off) and is re-raised."""
        self.start(sequence, params, path=path)
        return self._join(raise_on_error)

    def resume_run(self, path: str | Path, *, raise_on_error: bool = True) -> RunResult:
        self.start_resume(path)
        return self._join(raise_on_error)

    def _join(self, raise_on_error: bool) -> RunResult:
        # Waits on our own Event: an interrupted Thread.join() can leave is_alive() wrongly False (CPython).
        try:
            while not self._finished.wait(0.05):
                pass
        except BaseException:
            self.abort("interrupted")
            while not self._finished.is_set():
                try:
                    self._finished.wait(0.05)
                except BaseException:  # a second Ctrl-C must not leave the worker (and laser) behind
                    continue
            raise
        if raise_on_error and self._exception is not None:
            raise self._exception
        return self.result

    def _require_idle(self) -> None:
        if not self._finished.is_set():
            raise RuntimeError("a sequence is already running on this runner")

    # ------------------------------------------------------------------------------ worker
    def _launch(self, sequence, params, plan, writer, state: ResumeState) -> None:
        self._control = Control(self._set_state, self.max_pause_s)
        self._exception, self.result = None, None
        self._finished.clear()
        self._set_state(RunState.IDLE)
        self._thread = threading.Thread(target=self._work, args=(sequence, params, plan, writer, state),
                                        name=f"qiup-runner-{sequence}", daemon=False)
        self._thread.start()

    def _work(self, sequence, params, plan: Plan, writer, state: ResumeState) -> None:
        results = {s.name: np.full(s.shape, 0 if s.dtype.startswith("uint") else np.nan, dtype=s.dtype)
                   for s in plan.results}
        status, error = "failed", None
        self._emit.failures.clear()
        self._set_state(RunState.RUNNING)
        try:
            if sequence == "live":
                from app.engine.live import run_live

                run_live(self.bench, plan, params, self._emit, self._control, results)
            else:
                self._acquire(params, plan, writer, state, results)
                if sequence == "fringe-calibration":
                    self._write_calibration(params, results, writer)
            status = "complete"
        except Aborted as exc:
            status = "complete" if sequence == "live" else "aborted"
            error = None if sequence == "live" else str(exc)
        except BaseException as exc:  # noqa: BLE001 - every failure ends the run the same safe way
            error = str(exc) or type(exc).__name__
            self._exception = exc
            self._emit.error.emit(error)
            log.info("run failed: %s", error)
        finally:
            laser_off = _laser_off(self.bench)
            if not laser_off:
                log.critical(LASER_NOT_CONFIRMED)
            try:
                self.bench.camera.stop()
            except Exception as exc:  # noqa: BLE001
                log.error("camera stop failed: %s", exc)
            if writer is not None:
                try:
                    with contextlib.suppress(RunWriteError):  # a broken writer still records its status
                        for failure in self._emit.failures.values():
                            writer.log("warning", failure)
                        if not laser_off:
                            writer.log("error", LASER_NOT_CONFIRMED)
                        if error:
                            writer.log("error", error)
                    writer.finish(status, reason=error if status == "failed" else None)
                except Exception as exc:  # noqa: BLE001 - the file keeps what was flushed before
                    log.error("closing the run file failed: %s", exc)
                    error = error or f"closing the run file failed: {exc}"
            self.result = RunResult(sequence, status, writer.path if writer else None, results, error, plan,
                                    laser_off_confirmed=laser_off)
            try:
                self._set_state(RunState.FAILED if status == "failed" else RunState.DONE)
            finally:
                self._finished.set()

    def _acquire(self, params, plan, writer, state, results) -> None:
        bench = self.bench
        suspenders = Suspenders(bench.config.settings.suspenders, 2 ** bench.camera.bit_depth() - 1)
        camera_cfg = bench.config.settings.camera
        analysis = Analysis(plan, min_reference_visibility=getattr(params, "min_reference_visibility", 0.05),
                            gain_e_per_adu=getattr(camera_cfg, "gain_e_per_adu", None),
                            read_noise_e=getattr(camera_cfg, "read_noise_e", None))
        Acquisition(bench, plan, writer, self._emit, self._control, suspenders, analysis, results, state,
                    calibration=effective_calibration(bench.config),
                    save_raw=bool(getattr(params, "save_raw_frames", False))).run()

    def _write_calibration(self, params, results, writer) -> None:
        path = calibration_file_path(self.bench.config)
        period = float(results["piezo_per_2pi"])
        message = f"fringe calibration: {period:.4g} {self.bench.phase_piezo.unit} per 2 pi"
        if path is not None and params.write_calibration:
            write_calibration_file(path, piezo_volts_per_2pi=period, source=str(writer.path if writer else "script"))
            message += f", written to {path}"
        if writer is not None:
            writer.log("info", message)
        self._emit.warning.emit(message)


LASER_NOT_CONFIRMED = "LASER EMISSION NOT CONFIRMED OFF: switch the laser off at the device"


def _laser_off(bench) -> bool:
    """Emission off and confirmed by query; if the laser does not answer, close it (the contract's
    last resort). Returns False when nobody can vouch that emission is off."""
    try:
        bench.laser.set_emission(False)
        return not bench.laser.emission_on()
    except Exception as exc:  # noqa: BLE001
        log.error("laser emission off failed (%s); closing the laser", exc)
        try:
            bench.laser.close()
        except Exception as exc2:  # noqa: BLE001
            log.error("laser close failed: %s", exc2)
        return False
