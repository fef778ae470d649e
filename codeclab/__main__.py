"""``python -m codeclab`` is the ``codeclab`` command."""

import sys

from codeclab.cli import main

sys.exit(main())
