"""The suggestion rules, one module per action."""
