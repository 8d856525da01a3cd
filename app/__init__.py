"""qiup's scripting API: open a bench, run sequences, subscribe to events, read results.

    from app import open_bench, Runner, read_run

    with open_bench("configs/simulation.toml") as bench:
        runner = Runner(bench)
        runner.events.progress.connect(lambda p: print(f"{100 * p.fraction:.0f} %"))
        result = runner.run("phase-stepping", {"frames_per_step": 4}, path="runs/demo.h5")
    print(result.status, result["amplitude"].shape, read_run("runs/demo.h5").status)

Names are imported lazily, so ``import app`` stays cheap (the CLI and tests import submodules).
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "open_bench": "app.api",
    "read_run": "app.api",
    "RunData": "app.api",
    "load_config": "app.config",
    "ConfigError": "app.config",
    "Runner": "app.engine",
    "RunResult": "app.engine",
    "RunState": "app.engine",
    "Progress": "app.engine",
    "FrameInfo": "app.engine",
    "StepInfo": "app.engine",
    "SEQUENCES": "app.engine",
    "ParameterError": "app.engine",
    "DeviceError": "drivers.interfaces",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'app' has no attribute {name!r}")
