"""hpviz adapter for Optuna."""
