"""``python -m carriers.sandbox --world DIR``: the same as ``oasis sandbox``."""

from carriers.sandbox.cli import main

raise SystemExit(main())
