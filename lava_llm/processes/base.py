"""Base classes shared by lava-llm's Processes and ProcessModels."""
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.process.process import AbstractProcess

from lava_llm.run import limit_blas_threads


class ValidatedProcess(AbstractProcess):
    """An ``AbstractProcess`` whose constructor may validate its arguments *before* calling
    ``super().__init__`` (so that bad input raises before any Lava state exists).

    Lava's ``AbstractProcess.__del__`` assumes ``__init__`` completed; without this guard a
    constructor that raises early also prints an 'Exception ignored in __del__' traceback.
    """

    def __del__(self):
        if "_runtime" in self.__dict__:
            super().__del__()


class SingleBlasThreadModel(PyLoihiProcessModel):
    """A ``PyLoihiProcessModel`` whose leaf OS process uses one BLAS thread."""

    def __init__(self, proc_params=None):
        super().__init__(proc_params)
        limit_blas_threads(1)
