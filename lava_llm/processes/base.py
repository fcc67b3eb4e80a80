"""Base class shared by lava-llm's Processes."""
from lava.magma.core.process.process import AbstractProcess


class ValidatedProcess(AbstractProcess):
    """An ``AbstractProcess`` whose constructor may validate its arguments *before* calling
    ``super().__init__`` (so that bad input raises before any Lava state exists).

    Lava's ``AbstractProcess.__del__`` assumes ``__init__`` completed; without this guard a
    constructor that raises early also prints an 'Exception ignored in __del__' traceback.
    """

    def __del__(self):
        if "_runtime" in self.__dict__:
            super().__del__()
