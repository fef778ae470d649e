"""``python -m codeclab`` is the ``codeclab`` command."""

import sys

from .cli import main

sys.exit(main())
