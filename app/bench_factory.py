"""Re-export of :mod:`app.bench` (the factory moved there); existing imports keep working."""

from app.bench.bench import Bench, make_safe  # noqa: F401
from app.bench.factory import (  # noqa: F401
    BUILDERS,
    ROLES,
    BuildContext,
    build_device,
    open_bench,
    resolve_port,
)
from app.bench.lock import BenchInUse  # noqa: F401
