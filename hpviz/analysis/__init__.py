"""Pure analyses over an Experiment; each returns a frozen result object (no plotting)."""
