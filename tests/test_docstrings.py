"""The examples in the docstrings run and print what they claim."""
import doctest
import importlib

import pytest

MODULES = ["sksigkernel.functional", "sksigkernel.static_kernels", "sksigkernel.transforms",
           "sksigkernel.torch_api", "sksigkernel.collection", "sksigkernel.cache",
           "sksigkernel.kernel", "sksigkernel.svm", "sksigkernel.kernel_ridge", "sksigkernel.mmd",
           "sksigkernel.preprocessing"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name.endswith(("torch_api", "mmd")):
        pytest.importorskip("torch")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
