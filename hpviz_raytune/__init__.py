"""hpviz adapter for Ray Tune."""
