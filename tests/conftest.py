"""Shared fixtures."""

import pytest


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray session per test module (2 CPUs, no dashboard); reuses a running one and leaves it running."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    if started:
        ray.shutdown()
