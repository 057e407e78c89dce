"""The network kind (compose's top-level networks:)."""
