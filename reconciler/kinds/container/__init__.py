"""The container kind (compose services): kind.py observes, diffs and applies; the rest are its own helpers."""
