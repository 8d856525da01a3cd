"""Closed-loop sequences (decision 0049): a plan with no blocks plus a body that runs in the run's worker.

Each module has ``plan(params, facts) -> Plan`` (checked before anything moves) and ``run(ctx)``.
"""

PROCEDURES = ("pupil-registration", "lut-calibration", "adaptive-optics")


def procedure_module(name: str):
    """The module implementing procedure ``name`` (imported on demand)."""
    import importlib

    module = {"pupil-registration": "pupil", "lut-calibration": "lut", "adaptive-optics": "ao"}[name]
    return importlib.import_module(f"app.engine.procedures.{module}")
