"""The examples in the docstrings run and print what they claim."""
import doctest
import importlib
import inspect

import pytest

MODULES = ["sksigkernel.functional", "sksigkernel.static_kernels", "sksigkernel.transforms",
           "sksigkernel.torch_api", "sksigkernel.collection", "sksigkernel.cache",
           "sksigkernel.kernel", "sksigkernel.svm", "sksigkernel.kernel_ridge", "sksigkernel.mmd",
           "sksigkernel.preprocessing", "sksigkernel.nystroem", "sksigkernel.gaussian_process"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name.endswith(("torch_api", "mmd")):
        pytest.importorskip("torch")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# numpydoc's rules, all but two: See Also sections and extended summaries are optional. A
# method may leave its examples to its class's docstring (as scikit-learn's do).
OPTIONAL = {"SA01", "ES01"}


def _public_callables():
    import sksigkernel
    for name in sksigkernel.__all__:
        obj = getattr(sksigkernel, name)
        yield f"sksigkernel.{name}"
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                public = not attr.startswith("_") or attr == "__call__"
                if public and (callable(value) or hasattr(value, "fn")):  # fn: available_if
                    yield f"sksigkernel.{name}.{attr}"


@pytest.mark.parametrize("name", list(_public_callables()))
def test_public_docstrings_follow_numpydoc(name):
    validate = pytest.importorskip("numpydoc.validate").validate
    method = name.count(".") == 2
    errors = [f"{code}: {message}" for code, message in validate(name)["errors"]
              if code not in OPTIONAL and not (method and code == "EX01")]
    assert errors == []
