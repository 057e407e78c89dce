"""Findings from the desired spec and what was observed (pure)."""
