"""``python -m vit_tutorial.classroom``: see :mod:`vit_tutorial.classroom.cli`."""

from vit_tutorial.classroom.cli import main

raise SystemExit(main())
