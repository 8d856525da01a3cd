"""The runner: one sequence at a time in a worker thread, with pause/resume/abort, events and latest values.

Modelled on pymmcore-plus's MDA runner (Qt-free; the sequence is plain data). ``start`` validates and
plans from cached bench facts (:func:`~app.engine.sequences.bench_facts`) on the caller's thread and
does no device I/O there; the worker creates the run file, owns the bench for the run (decision 0040),
and switches laser emission off on every way out (done, abort, emergency stop, device error, any
exception). ``state_changed`` is emitted only by the worker. ``run`` turns an interrupt of the calling
thread (Ctrl-C, SIGTERM) into an abort and waits for that to happen.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from app.bench.scale import object_pixel_size_um
from app.engine.acquire import Acquisition, LiveOutputs, ResumeState
from app.engine.analysis import Analysis
from app.engine.calibration import calibration_file_path, write_calibration_file
from app.engine.control import Aborted, Control
from app.engine.events import PreviewMaps, RunnerEvents, RunState, SubscriberFailures
from app.engine.file_sink import FileSink, NoFile
from app.engine.params import ParameterError, validate_params
from app.engine.plan import Plan, check_memory, plan_from_json, plan_to_json
from app.engine.preview import PREVIEW_DUTY, Previewer
from app.engine.procedures import PROCEDURES, procedure_module
from app.engine.procedures.context import ProcedureContext
from app.engine.results import ResultStore, RunResult
from app.engine.sequences import bench_facts, build_plan
from app.engine.suspenders import Suspenders
from app.signals import Latest, LatestValue
from app.storage.reader import check_resumable
from app.storage.runfile import RunWriteError, RunWriter

log = logging.getLogger(__name__)

__all__ = ["LASER_NOT_CONFIRMED", "RunResult", "Runner"]


class Runner:
    """Runs sequences on one connected bench; subscribe to ``runner.events`` before starting.

    ``latest_frame()`` / ``latest_maps()`` give the newest frame and preview maps (with a sequence
    number) for displays that poll; ``preview_interval_s`` bounds how often preview maps are made
    (None: no preview maps) and ``preview_duty`` the fraction of wall time the preview thread may compute
    (a display that wants faster maps raises it; the ingest never waits for a preview).
    """

    def __init__(self, bench, *, max_pause_s: float | None = None, preview_interval_s: float | None = 0.2,
                 preview_duty: float = PREVIEW_DUTY):
        self.bench = bench
        self.events = RunnerEvents()  # subscribe here
        self._failures = SubscriberFailures(self.events)  # first failure of each subscriber -> run file log
        self.max_pause_s = max_pause_s
        self.preview_interval_s = preview_interval_s
        self.preview_duty = float(preview_duty)
        self._frame_slot: LatestValue = LatestValue()
        self._maps_slot: LatestValue = LatestValue()
        self._state = RunState.IDLE
        self._thread: threading.Thread | None = None
        self._control: Control | None = None
        self._exception: BaseException | None = None
        self._finished = threading.Event()
        self._finished.set()
        self.result: RunResult | None = None

    # ------------------------------------------------------------------------------ state and live data
    @property
    def state(self) -> RunState:
        return self._state

    def _set_state(self, new: RunState) -> None:
        """Worker thread only (decision 0040): subscribers see one ordered stream of states."""
        old, self._state = self._state, new
        if old != new:
            self.events.state_changed.emit(new, old)

    def latest_frame(self) -> Latest | None:
        """``Latest(seq, (frame, FrameInfo))`` of the newest frame (read-only array), or None."""
        return self._frame_slot.get()

    def latest_maps(self) -> Latest[PreviewMaps] | None:
        """``Latest(seq, PreviewMaps)``: the newest preview of the running stage (or live maps), or None."""
        return self._maps_slot.get()

    # ------------------------------------------------------------------------------ planning
    def plan(self, sequence: str, params: BaseModel | dict | None = None, *,
             results_in_memory: bool = False) -> tuple[BaseModel, Plan]:
        """Validate parameters and plan against the bench's cached facts; ParameterError before anything moves.

        ``results_in_memory``: the run has no file, so stacked results count against the memory limit.
        """
        if not isinstance(params, BaseModel):
            params = validate_params(sequence, dict(params or {}))
        plan = build_plan(sequence, params, bench_facts(self.bench))
        check_memory(plan, results_in_memory=results_in_memory)
        return params, plan

    # ------------------------------------------------------------------------------ control
    def start(self, sequence: str, params: BaseModel | dict | None = None, *, path: str | Path | None = None) -> None:
        """Validate and plan, claim the bench and start the worker (which creates the run file); returns at once."""
        self._require_idle()
        params, plan = self.plan(sequence, params, results_in_memory=path is None)
        path = None if path is None else Path(path)

        def open_sink():
            if path is None:
                return NoFile()
            loaded = self.bench.config
            return FileSink(RunWriter.create(path, plan=plan, plan_json=plan_to_json(plan), config_text=loaded.text,
                                             config_path=str(loaded.path), identities=self.bench.identities(),
                                             parameters=params.model_dump(),
                                             save_raw_frames=getattr(params, "save_raw_frames", False),
                                             raw_compression=getattr(params, "raw_compression", "lzf"),
                                             object_pixel_size_um=object_pixel_size_um(self.bench)))

        label = f"run '{sequence}' -> {path if path is not None else '(no file)'}"
        self._launch(sequence, params, plan, open_sink, ResumeState(), label)

    def start_resume(self, path: str | Path) -> None:
        """Continue an interrupted run file from its last completed block."""
        self._require_idle()
        snap = check_resumable(path, plan_from_json)  # RunFileError: complete, live writer, inconsistent
        if snap.sequence in PROCEDURES:
            raise ParameterError(f"{path}: a {snap.sequence} run is a closed loop and cannot be resumed; start it again")
        plan = plan_from_json(snap.plan_json)
        params = validate_params(snap.sequence, snap.parameters)
        shape = bench_facts(self.bench).frame_shape
        if tuple(shape) != tuple(plan.frame_shape):
            raise ParameterError(f"{path}: the camera delivers {shape} frames, the run was taken with {plan.frame_shape}")
        offsets, sums, saturated = {}, {}, {}
        for label, stage in snap.stages.items():
            finite = stage.piezo_offset[np.isfinite(stage.piezo_offset)]
            if finite.size:
                offsets[label] = float(finite[-1])
            if stage.counts.any():
                sums[label], saturated[label] = stage.read()
        state = ResumeState(block=snap.blocks_done, sums=sums, counts=snap.counts, piezo_offsets=offsets,
                            last_frame_id=snap.last_frame_id(), saturated=saturated)

        def open_sink():
            writer = RunWriter.adopt(Path(path))  # drops frames past the last commit
            writer.log("info", f"resumed at block {snap.blocks_done} of {len(plan.blocks)}")
            return FileSink(writer)

        self._launch(snap.sequence, params, plan, open_sink, state, f"run '{snap.sequence}' -> {path} (resumed)")

    def pause(self) -> None:
        if self._control:
            self._control.request_pause()

    def resume(self) -> None:
        if self._control:
            self._control.request_resume()

    def abort(self, reason: str = "aborted by request") -> None:
        """Ask the worker to end the run (it reports ``aborting``, then ``done``); a no-op once ended."""
        if self._control and not self._finished.is_set():
            self._control.request_abort(reason)

    stop = abort  # for the live sequence, stopping is its normal end

    def _emergency_stop(self, reason: str) -> None:
        """Laser emission switched off from outside the run (decision 0040): the run ends aborted."""
        self.abort(f"emergency stop: {reason}")

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """Block until the run has ended (or ``timeout``); the result, or None while still running."""
        self._finished.wait(timeout)
        return self.result

    @property
    def exception(self) -> BaseException | None:
        """What ended the last run as failed (None if it did not fail)."""
        return self._exception

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
    def _launch(self, sequence, params, plan, open_sink, state: ResumeState, label: str) -> None:
        claim = self.bench.ownership.claim(label, on_emergency_stop=self._emergency_stop)  # BenchBusy if taken
        claim.threads.discard(threading.get_ident())  # the caller (e.g. a GUI thread) acts as an outsider
        _lock_label(self.bench, label)  # a second qiup process names this run when it refuses
        try:
            self._control = Control(self._set_state, self.max_pause_s)
            self._exception, self.result = None, None
            self._frame_slot.clear()
            self._maps_slot.clear()
            self._finished.clear()
            self._thread = threading.Thread(target=self._work, args=(sequence, params, plan, open_sink, state, claim),
                                            name=f"qiup-runner-{sequence}", daemon=False)
            self._thread.start()
        except BaseException:
            claim.release()
            self._finished.set()
            raise

    def _work(self, sequence, params, plan: Plan, open_sink, state: ResumeState, claim) -> None:
        claim.admit()
        sink = NoFile()
        results = None  # made once the file exists (stacked results then live on disk, never in RAM)
        previewer = None
        status, error = "failed", None
        self._failures.reset()
        self._set_state(RunState.RUNNING)
        try:
            sink = open_sink()
            results = ResultStore(plan, has_file=sink.path is not None)
            if sequence == "live":
                from app.engine.live import run_live

                run_live(self.bench, plan, params, self.events, self._control, results.memory,
                         calibration=bench_facts(self.bench).calibration, latest_frame=self._frame_slot,
                         latest_maps=self._maps_slot)
            elif sequence in PROCEDURES:
                ctx = ProcedureContext(self.bench, params, plan, sink, self.events, self._control, results,
                                       bench_facts(self.bench).calibration, self._frame_slot)
                procedure_module(sequence).run(ctx)
            else:
                previewer = None if self.preview_interval_s is None else Previewer(self._maps_slot, duty=self.preview_duty)
                outputs = LiveOutputs(self._frame_slot, previewer, self.preview_interval_s)
                self._acquire(params, plan, sink, state, results, outputs)
                if sequence == "fringe-calibration":
                    self._write_calibration(params, results.memory, sink)
            status = "complete"
        except Aborted as exc:
            self._set_state(RunState.ABORTING)
            status = "complete" if sequence == "live" else "aborted"
            error = None if sequence == "live" else str(exc)
        except BaseException as exc:  # noqa: BLE001 - every failure ends the run the same safe way
            error = str(exc) or type(exc).__name__
            self._exception = exc
            self.events.error.emit(error)
            log.info("run failed: %s", error)
        finally:
            laser_off = _laser_off(self.bench)
            if not laser_off:
                log.critical(LASER_NOT_CONFIRMED)
            try:
                self.bench.camera.stop()
            except Exception as exc:  # noqa: BLE001
                log.error("camera stop failed: %s", exc)
            if previewer is not None:
                previewer.close()  # the last snapshot (a stage's final sums) is published first
            error = self._close_file(sink, status, error, laser_off)
            self.result = RunResult(sequence, status, sink.path, {} if results is None else results.memory, error, plan,
                                    laser_off_confirmed=laser_off,
                                    on_disk=frozenset() if results is None else frozenset(results.on_disk))
            claim.release()
            _lock_label(self.bench, "no run (idle)")
            try:
                self._set_state(RunState.FAILED if status == "failed" else RunState.DONE)
            finally:
                self._finished.set()

    def _close_file(self, sink, status: str, error: str | None, laser_off: bool) -> str | None:
        """Subscriber failures, laser state and the error into the log, then the final status."""
        if sink.path is None:
            return error
        try:
            with contextlib.suppress(RunWriteError):  # a broken writer still records its status and reason
                for failure in self._failures.messages:
                    sink.log("warning", failure)
                if not laser_off:
                    sink.log("error", LASER_NOT_CONFIRMED)
                if error:
                    sink.log("error", error)
            sink.writer.finish(status, reason=error if status == "failed" else None)
        except Exception as exc:  # noqa: BLE001 - the file keeps what was flushed before
            log.error("closing the run file failed: %s", exc)
            error = error or f"closing the run file failed: {exc}"
        return error

    def _acquire(self, params, plan, sink, state, results, outputs) -> None:
        bench = self.bench
        facts = bench_facts(bench)
        suspenders = Suspenders(bench.config.settings.suspenders, 2 ** bench.camera.bit_depth() - 1)
        camera_cfg = bench.config.settings.camera
        analysis = Analysis(plan, min_reference_visibility=getattr(params, "min_reference_visibility", 0.05),
                            gain_e_per_adu=getattr(camera_cfg, "gain_e_per_adu", None),
                            read_noise_e=getattr(camera_cfg, "read_noise_e", None))
        Acquisition(bench, plan, sink, self.events, self._control, suspenders, analysis, results, state,
                    calibration=facts.calibration, save_raw=bool(getattr(params, "save_raw_frames", False)),
                    outputs=outputs).run()

    def _write_calibration(self, params, results, sink) -> None:
        path = calibration_file_path(self.bench.config)
        period = float(results["piezo_per_2pi"])
        message = f"fringe calibration: {period:.4g} {bench_facts(self.bench).piezo_unit} per 2 pi"
        if path is not None and params.write_calibration:
            write_calibration_file(path, piezo_travel_per_2pi=period, source=str(sink.path or "script"))
            message += f", written to {path}"
        sink.log("info", message)
        self.events.warning.emit(message)


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


def _lock_label(bench, text: str) -> None:
    """Tell the bench lock what holds the bench (benches built by hand have no lock)."""
    set_label = getattr(bench, "set_lock_label", None)
    if set_label is not None:
        try:
            set_label(text)
        except OSError as exc:  # the label is informative; a run never fails for it
            log.warning("bench lock label not updated: %s", exc)
