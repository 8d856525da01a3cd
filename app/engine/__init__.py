"""Acquisition: sequences as validated data, expanded into plans, run by a Qt-free threaded runner."""

from app.engine.events import FrameInfo, PreviewMaps, Progress, RunnerEvents, RunState, StepInfo
from app.engine.params import SEQUENCES, ParameterError, parse_params, validate_params
from app.engine.runner import Runner, RunResult

__all__ = ["SEQUENCES", "FrameInfo", "PreviewMaps", "ParameterError", "Progress", "RunResult", "RunState", "Runner",
           "RunnerEvents", "StepInfo", "parse_params", "validate_params"]
