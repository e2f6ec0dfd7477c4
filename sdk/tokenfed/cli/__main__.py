"""Run the command line: ``python -m tokenfed.cli``."""

from . import run

run()
