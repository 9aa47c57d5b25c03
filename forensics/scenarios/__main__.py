"""``python -m forensics.scenarios``: see :mod:`forensics.scenarios.cli`."""

from __future__ import annotations

import sys

from forensics.scenarios.cli import main

sys.exit(main())
