"""The S3 bucket kind: kind.py, its view of a bucket (view.py) and a killed create's recovery (recovery.py)."""
