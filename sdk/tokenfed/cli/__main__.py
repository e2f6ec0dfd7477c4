"""Run the command line: ``python -m tokenfed.cli``."""

import sys

from . import main

sys.exit(main())
