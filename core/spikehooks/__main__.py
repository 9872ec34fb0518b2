"""``python -m spikehooks``: the ``spikehooks`` console command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
