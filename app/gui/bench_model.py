"""The GUI's one adapter to the core: bench, runner, readbacks, latest frame and maps (Qt-free).

Every touch of the engine and the devices by the GUI goes through :class:`BenchModel`, so the panels
never do device I/O. Frames come from ``runner.latest_frame()``, preview maps from ``runner.latest_maps()``,
device state from ``bench.readbacks()`` (the core's ReadbackPoller keeps it fresh) and the capability
records fetched once at open; the core refuses moves during a run (BenchBusy, shown as a message) and
aborts a run when the laser is switched off from outside it. Threads it runs, none of them the GUI thread:

* ``qiup-gui-commands``: opens and closes the bench, runs commands in order (jog, set, start a run);
* ``qiup-gui-preview``: adds the GUI-only numbers (per-step means, drift) to the core's maps at <= 7 Hz
  (:mod:`app.gui.preview_publisher`);
* ``qiup-gui-laser-off``: one per emergency laser-off, so it never waits behind a queued command;
* ``qiup-gui-estimate``: plans the sequence panel's parameters for the duration estimate (newest request only).

The GUI reads everything by polling (``readbacks()``, ``latest_frame``, ``latest_maps``, ``run_status()``,
``messages_after()``) on a QTimer; nothing here calls back into Qt.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.gui import slm_commands
from app.gui.estimator import Answer, LatestRequestWorker
from app.gui.frame_rate import FrameRateMeter
from app.gui.messages import Message, MessageLog
from app.gui.preview import PreviewAccumulator, PreviewMaps
from app.gui.preview_publisher import PreviewPublisher
from app.gui.readbacks import Readbacks, from_core, slm_mask_preview
from app.gui.run_state import CoreFrames, RunStatus
from app.signals import LatestValue
from app.storage.creation import new_timestamped_run_path, release_unused_name
from drivers.ownership import BenchBusy

log = logging.getLogger(__name__)


GUI_PREVIEW_INTERVAL_S = 0.12  # preview maps at most ~8 Hz
GUI_PREVIEW_DUTY = 0.12  # the preview thread may compute 12 % of the wall time (the ingest has its own core)


# ------------------------------------------------------------------------------------ the model
class BenchModel:
    """One bench and one runner behind worker threads; every public method returns at once."""

    def __init__(self, config_path: Path, runs_dir: Path = Path("runs")):
        self.config_path, self.runs_dir = Path(config_path), Path(runs_dir)
        self.latest_frame = CoreFrames(lambda: self.runner)
        self.latest_maps: LatestValue[PreviewMaps] = LatestValue()  # the core's maps plus the GUI-only numbers
        self._capabilities: dict = {}  # device.capabilities() of every role, fetched once at open
        self._slm_mask: tuple[int, np.ndarray] | None = None  # (mask_id, decimated mask) for the SLM panel
        self._slm_mask_wanted = -1
        self.bench = None
        self.runner = None
        self.bench_name = "(opening)"
        self.open_error: str | None = None
        self.object_pixel_um: float | None = None  # object-plane size of one (binned) camera pixel
        self.roi: tuple[slice, slice] | None = None  # set by the live view; used for the drift meter
        self._status = RunStatus("idle")
        self._accumulator: PreviewAccumulator | None = None
        self._messages = MessageLog()
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._closed = threading.Event()
        self._stack = contextlib.ExitStack()
        self._emergency_threads: list[threading.Thread] = []
        publisher = PreviewPublisher(lambda: (self.runner, self._accumulator, self.roi), self.latest_maps, self._stop)
        self._threads = [threading.Thread(target=self._command_loop, name="qiup-gui-commands", daemon=True),
                         threading.Thread(target=publisher.run, name="qiup-gui-preview", daemon=True)]
        self.frame_rate = FrameRateMeter()  # fed by every frame of a run (runner thread)
        self._estimator = LatestRequestWorker(self._estimate, "qiup-gui-estimate")

    # ------------------------------------------------------------------------------ life cycle
    def open(self) -> None:
        """Load the config and connect the bench on the command thread."""
        for t in self._threads:
            t.start()
        self._estimator.start()
        self.submit("open the bench", self._open)

    @property
    def is_open(self) -> bool:
        return self._opened.is_set() and not self._closed.is_set()

    def wait_open(self, timeout_s: float = 30.0) -> bool:
        self._opened.wait(timeout_s)
        return self.bench is not None

    def _open(self) -> None:
        from app.bench_factory import open_bench
        from app.config import load_config
        from app.engine import Runner

        try:
            loaded = load_config(self.config_path)
            self.bench = self._stack.enter_context(open_bench(loaded))  # starts the core's ReadbackPoller
            self._capabilities = self.bench.capabilities()
            self.bench_name = loaded.settings.name
            # maps for a display: >= 5 Hz wanted (issue 11), so a shorter interval and a larger preview duty
            self.runner = Runner(self.bench, preview_interval_s=GUI_PREVIEW_INTERVAL_S, preview_duty=GUI_PREVIEW_DUTY)
            self._connect_events(self.runner.events)
            world = self.bench.world
            if world is not None and hasattr(world, "geometry"):
                self.object_pixel_um = float(world.geometry.object_pixel_um) * self.bench.camera.binning()
        except Exception as exc:  # noqa: BLE001 - shown in the window; the GUI stays usable
            self.open_error = str(exc)
            self.bench_name = "(not connected)"
            self._message("error", f"opening the bench from {self.config_path} failed: {exc}")
        finally:
            self._opened.set()

    def close(self, timeout_s: float = 30.0) -> bool:
        """Abort any run, laser off, close every device, stop the threads; True when all that finished."""
        if self._closed.is_set():
            return True
        done = threading.Event()
        if self._threads[0].is_alive():
            self.submit("close the bench", lambda: self._shutdown(done))
            done.wait(timeout_s)
        else:
            self._shutdown(done)
        self._stop.set()
        for t in self._threads + self._emergency_threads:
            if t.is_alive() and t is not threading.current_thread():
                t.join(timeout_s)
        return done.is_set()

    def _shutdown(self, done: threading.Event) -> None:
        try:
            runner = self.runner
            if runner is not None and runner.busy:
                runner.abort("the GUI was closed")
                runner.wait(20.0)
            self._stop.set()  # the preview and estimate threads end before the devices close
            self._estimator.stop()
            for t in self._threads[1:]:
                if t.is_alive():
                    t.join(5.0)
            if self.bench is not None:
                with contextlib.suppress(Exception):
                    self.bench.laser.set_emission(False)
            self._stack.close()  # open_bench's exit: laser off first, every device closed
        finally:
            self._closed.set()
            self._stop.set()
            done.set()

    # ------------------------------------------------------------------------------ commands
    def submit(self, what: str, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the command thread; a failure becomes an error message naming ``what``."""
        self._commands.put((what, fn))

    def _command_loop(self) -> None:
        while not self._closed.is_set():
            try:
                what, fn = self._commands.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - every failure is shown, the GUI goes on
                self._message("error", f"{what}: {exc}")

    def _device_command(self, action: str, fn: Callable[[], object]) -> None:
        def run():
            if self.bench is None:
                raise RuntimeError("the bench is not connected")
            fn()
            self._message("info", action)
        self.submit(action, run)

    def set_emission(self, on: bool) -> None:
        """Emission on (after the GUI's confirmation) through the command thread; off is the emergency path."""
        if not on:
            self.emergency_laser_off("laser off from the GUI")
            return
        self._device_command("laser emission on", lambda: self.bench.laser.set_emission(True))

    def set_power_w(self, power_w: float) -> None:
        self._device_command(f"laser setpoint {power_w * 1e3:.3g} mW", lambda: self.bench.laser.set_power_w(power_w))

    def move_stage(self, role: str, position: float, *, relative: bool = False) -> None:
        def move():
            stage = self.bench.devices()[role]
            target = stage.position() + position if relative else position
            stage.move_to(target)
        verb = f"jog {role} by {position:+g}" if relative else f"move {role} to {position:g}"
        self._device_command(verb, move)

    def stop_stage(self, role: str) -> None:
        """``Stage.stop()`` (the panel enables it from ``capabilities().has_stop``); the core may refuse it during a run."""
        self._device_command(f"stop {role}", lambda: self.bench.devices()[role].stop())

    def set_exposure_s(self, exposure_s: float) -> None:
        self._device_command(f"camera exposure {exposure_s * 1e3:.4g} ms", lambda: self.bench.camera.set_exposure_s(exposure_s))

    def set_binning(self, binning: int) -> None:
        self._device_command(f"camera binning {binning}", lambda: self.bench.camera.set_binning(binning))

    def set_trigger(self, mode: str) -> None:
        self._device_command(f"camera trigger {mode}", lambda: self.bench.camera.set_trigger_mode(mode))

    def set_camera_roi(self, x: int, y: int, width: int, height: int) -> None:
        from drivers.interfaces import Roi

        self._device_command(f"camera ROI {width}x{height} at ({x}, {y})",
                             lambda: self.bench.camera.set_roi(Roi(x, y, width, height)))

    def show_flat_slm(self) -> None:
        def show():
            slm = self.bench.slm
            slm.show(np.zeros(slm.shape), label="flat")
        self._device_command("SLM flat mask", show)

    def show_slm_correction_file(self, path: Path) -> None:
        """Load a correction file and show its composed mask (``compose_mask``), labelled with name and hash."""
        def show():
            warning = slm_commands.show_correction_file(self.bench, Path(path))
            if warning:
                self._message("warning", warning)
        self._device_command(f"SLM correction {Path(path).name}", show)

    def show_slm_zernike(self, coefficients_rad_rms: dict[int, float]) -> None:
        """Show Noll modes (rad RMS of SLM phase over the configured pupil, decision 0046) on the SLM."""
        self._device_command("SLM Zernike correction", lambda: slm_commands.show_zernike(self.bench, coefficients_rad_rms))

    def load_slm_lut(self, path: Path) -> None:
        """Read a LUT file (``drivers.slm_lut.load_lut``) and make it the SLM's LUT; the mask is shown again."""
        self._device_command(f"SLM LUT {Path(path).name}", lambda: slm_commands.load_lut_file(self.bench, Path(path)))

    # ------------------------------------------------------------------------------ duration estimate
    def request_estimate(self, sequence: str, params: dict) -> object:
        """Plan ``params`` off the GUI thread; returns the request's key (compare with ``estimate().key``)."""
        key = (sequence, repr(sorted(params.items())), self.readbacks_generation())
        self._estimator.request(key, sequence, dict(params))
        return key

    def estimate(self) -> Answer | None:
        """The newest answer: ``value`` a DurationEstimate (or a text for runs without an end), or ``error``."""
        return self._estimator.result()

    def readbacks_generation(self) -> int:
        """Changes when something the estimate depends on changed (exposure, ROI, binning, run state)."""
        bench = self.bench
        cam = bench.camera.cached_state if bench is not None else None
        return hash((None if cam is None else (cam.exposure_s, cam.roi, cam.binning), self._status.state))

    def _estimate(self, sequence: str, params: dict):
        from app.engine.duration import estimate_for_bench

        if self.runner is None or self.bench is None:
            raise RuntimeError("the bench is not connected")
        return estimate_for_bench(self.runner, self._capabilities, sequence, params)

    # ------------------------------------------------------------------------------ emergency stop
    def emergency_laser_off(self, reason: str = "laser off from the GUI") -> None:
        """Emission off now, from its own thread (never behind queued commands); aborts a run."""
        t = threading.Thread(target=self._laser_off_now, args=(reason,), name="qiup-gui-laser-off", daemon=True)
        self._emergency_threads = [x for x in self._emergency_threads if x.is_alive()] + [t]
        t.start()

    def _laser_off_now(self, reason: str) -> None:
        bench = self.bench
        if bench is None:
            return
        try:
            bench.laser.set_emission(False)  # from outside a run the core also aborts the run (emergency stop)
            self._message("warning", f"{reason}: emission off")
        except Exception as exc:  # noqa: BLE001
            self._message("error", f"LASER OFF FAILED ({exc}): switch the laser off at the device")

    # ------------------------------------------------------------------------------ runs
    def start_run(self, sequence: str, params: dict, *, watcher=None) -> None:
        """Validate and plan (command thread), create the run file and start; errors become messages.
        ``watcher.attach(runner, plan)`` is called before the run starts (so it misses no frame), and
        ``watcher.detach()`` if the start fails (the alignment panel's scan listens this way)."""
        def start():
            if self.runner is None:
                raise RuntimeError("the bench is not connected")
            if self.runner.busy:
                raise BenchBusy(f"a run is already active: {self._status.label}")
            validated, plan = self.runner.plan(sequence, params)
            path = None
            if sequence != "live":
                self.runs_dir.mkdir(parents=True, exist_ok=True)
                path = new_timestamped_run_path(self.runs_dir, sequence)  # reserved: no other process takes it
            try:
                self._accumulator = None if sequence == "live" else PreviewAccumulator(plan)
                self.latest_maps.clear()
                self.frame_rate.clear()
                self._status = RunStatus("running", sequence, path, frames_total=plan.total_frames())
                if watcher is not None:
                    watcher.attach(self.runner, plan)
                self.runner.start(sequence, validated, path=path)
            except Exception:
                self._status = RunStatus("idle")
                release_unused_name(path)
                if watcher is not None:
                    watcher.detach()
                raise
            self._message("info", f"started {self._status.label}")
        self.submit(f"start {sequence}", start)

    def pause(self) -> None:
        if self.runner is not None:
            self.runner.pause()

    def resume(self) -> None:
        if self.runner is not None:
            self.runner.resume()

    def abort(self) -> None:
        if self.runner is not None:
            self.runner.abort("aborted from the GUI")

    def run_status(self) -> RunStatus:
        return self._status

    def run_results(self) -> dict[str, np.ndarray]:
        result = self.runner.result if self.runner is not None else None
        return dict(result.results) if result is not None else {}

    # ------------------------------------------------------------------------------ runner events
    def _connect_events(self, events) -> None:
        # Frames are pulled from runner.latest_frame(); frame_acquired only feeds the GUI's own accumulator.
        events.frame_acquired.connect(self._on_frame)
        events.progress.connect(self._on_progress)
        events.state_changed.connect(self._on_state)
        events.warning.connect(lambda text: self._message("warning", text))
        events.error.connect(lambda text: self._message("error", f"run failed: {text}"))

    def _on_frame(self, data: np.ndarray, info) -> None:
        self.frame_rate.add(info.frame_id, info.timestamp_s)
        acc = self._accumulator
        if acc is not None:
            acc.add(data, info)

    def _on_progress(self, p) -> None:
        self._status = replace(self._status, frames_done=p.frames_done, frames_total=p.frames_total,
                               elapsed_s=p.elapsed_s, eta_s=p.eta_s, stage=p.stage)

    def _on_state(self, new, _old) -> None:
        value = getattr(new, "value", str(new))
        status = replace(self._status, state=value)
        if value in ("done", "failed") and self.runner is not None:
            release_unused_name(status.path)  # a run that ended before making its file leaves no stray name
            result = self.runner.result
            if result is not None:
                status = replace(status, result_status=result.status, error=result.error)
                self._message("info" if result.status == "complete" else "warning",
                              f"{status.label} ended {result.status}" + (f": {result.error}" if result.error else ""))
        self._status = status

    # ------------------------------------------------------------------------------ messages
    def _message(self, level: str, text: str) -> None:
        self._messages.add(level, text)
        (log.warning if level != "info" else log.info)("%s", text)

    def messages_after(self, seq: int) -> list[Message]:
        return self._messages.after(seq)

    # ------------------------------------------------------------------------------ readbacks
    def readbacks(self) -> Readbacks:
        """The panels' records from the core's cached readbacks (no device call; safe on the GUI thread)."""
        bench = self.bench
        if bench is None or self._closed.is_set():
            return Readbacks()
        cached = bench.readbacks()
        slm = cached.get("slm")
        if slm is not None and slm.connected and slm.mask_id != self._slm_mask_wanted:
            self._slm_mask_wanted = slm.mask_id  # a new mask was shown: fetch its preview on the command thread
            self.submit("read the SLM mask", self._read_slm_mask)
        mask = self._slm_mask[1] if self._slm_mask is not None else None
        return from_core(cached, self._capabilities, mask)

    def _read_slm_mask(self) -> None:
        slm = self.bench.slm if self.bench is not None else None
        if slm is not None:
            self._slm_mask = (slm.cached_state.mask_id, slm_mask_preview(slm))
