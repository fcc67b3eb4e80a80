"""Full networks built from the Processes of :mod:`lava_llm.processes`."""
