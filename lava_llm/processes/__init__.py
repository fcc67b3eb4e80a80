"""Lava Processes of lava-llm, one folder each (``process.py`` + ``models.py`` + ``kernels.py``).

Lava finds a Process's models by importing the modules in the Process's directory, so each
folder holds only importable library modules.
"""
