"""``python -m forensics``: the command line (see :mod:`forensics.cli`)."""

from forensics.cli import main

raise SystemExit(main())
