import numpy as np
import pytest

from sksigkernel import cache


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)


@pytest.fixture
def empty_cache():
    """The kernel cache empty, at its default bound, before and after the test."""
    cache.clear()
    yield
    cache.clear()
    cache.set_max_bytes(512 << 20)
