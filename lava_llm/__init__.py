"""lava-llm: Lava Processes for efficient sequence models and QUBO optimisation on Loihi 2.

Importing the package is cheap (no numpy, no lava); it installs the lava-nc/Python 3.11
import fix (:mod:`lava_llm.lava_compat`) so that ``import lava`` works afterwards even in an
environment where the start-up ``.pth`` hook was not written.
"""
from lava_llm import lava_compat as _lava_compat

_lava_compat.install()

__version__ = "0.1.0"
