"""The EC2 instance kind: kind.py (observe, apply) and view.py (the pure diff)."""
