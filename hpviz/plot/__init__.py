"""One function per view: each takes its result (or an experiment) and ``ax=None``, returns the Axes."""
