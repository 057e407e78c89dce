"""Costs (pure): the price catalog (a dated data file) with the state's overrides, the cost model,
the cost docs' text, the plan's costs block and the cost findings. Imports no kind: what runs comes
in as Facts."""
