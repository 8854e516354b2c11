"""`python -m app.cli`: the same command as the `airdate` console script."""

from app.cli import main

raise SystemExit(main())
