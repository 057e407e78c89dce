"""reconciler: a GitOps reconciler for Docker containers, disk budgets, EC2, S3 and cost docs."""

__version__ = "0.1.0"
