"""tokenfed: the reference SDK of the tokenfed standard.

The public API lives in one module per spec chapter: :mod:`tokenfed.units` (usage, rate cards,
pricing), :mod:`tokenfed.exchange` (exchange rates, conversion), :mod:`tokenfed.keys` and
:mod:`tokenfed.jws` (keys and signed documents), and :mod:`tokenfed.errors`.
"""

from ._version import SPEC_VERSION
from .errors import TokenfedError

__version__ = "0.1.0.dev0"

__all__ = ["SPEC_VERSION", "TokenfedError", "__version__"]
