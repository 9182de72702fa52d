"""hpviz adapter for Hyperopt."""
