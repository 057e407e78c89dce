"""The disk budget kind: kind.py, and what pruning would reclaim (reclaim.py)."""
