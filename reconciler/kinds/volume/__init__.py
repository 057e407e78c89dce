"""The named volume kind (compose's top-level volumes:): kind.py observes, diffs and applies."""
