"""The bench as the application holds it: the factory that builds and locks it, the ``Bench`` record,
the readback poller and the per-config bench lock."""

from app.bench.bench import Bench
from app.bench.factory import BUILDERS, BuildContext, build_device, open_bench
from app.bench.lock import BenchInUse, BenchLock
from app.bench.poller import ReadbackPoller

__all__ = ["BUILDERS", "Bench", "BenchInUse", "BenchLock", "BuildContext", "ReadbackPoller", "build_device",
           "open_bench"]
