"""Helpers of the worked example ``examples/demo.py``: the partner nodes it runs on loopback,
the federation it builds from them, and the month-end settlement it finishes with."""
