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


# numpydoc's checks of structure (every parameter documented, with a type and a description,
# in the signature's order; a Returns section; sections in order), not of house style
# (summaries in the infinitive, See Also sections, full stops, extended summaries).
STYLE_ONLY = {"GL01", "GL02", "GL03", "GL08", "SA01", "ES01", "EX01", "SS03", "SS05", "SS06",
              "PR08", "PR09", "RT03", "RT05"}


@pytest.mark.parametrize("name", __import__("sksigkernel").__all__)
def test_public_docstrings_follow_numpydoc(name):
    validate = pytest.importorskip("numpydoc.validate").validate
    errors = [f"{code}: {message}" for code, message in validate(f"sksigkernel.{name}")["errors"]
              if code not in STYLE_ONLY]
    assert errors == []
