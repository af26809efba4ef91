"""``python -m vit_tutorial.classroom``: see :mod:`vit_tutorial.classroom.cli`."""

import sys

try:
    from vit_tutorial.classroom.cli import main
except KeyboardInterrupt:  # Ctrl-C while the libraries load
    print("interrupted; nothing written", file=sys.stderr)
    raise SystemExit(130) from None  # 128 + SIGINT, as cli.INTERRUPTED

raise SystemExit(main())
