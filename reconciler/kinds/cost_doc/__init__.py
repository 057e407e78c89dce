"""The cost document kind."""
