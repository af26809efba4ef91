"""``python -m vit_tutorial.site``: build the course's website."""

from vit_tutorial.site.build import main

raise SystemExit(main())
