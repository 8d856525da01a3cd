"""``python -m app`` is the ``qiup`` command."""

import sys

from app.cli import main

sys.exit(main())
