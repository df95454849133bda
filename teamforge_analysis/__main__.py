"""``python -m teamforge_analysis``: the same as the ``teamforge-analysis`` command."""

from .cli import main

raise SystemExit(main())
