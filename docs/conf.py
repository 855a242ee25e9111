"""Sphinx configuration of sksigkernel's documentation: pydata theme, numpydoc, autosummary
and an executed sphinx-gallery of the examples (``examples/plot_*.py``)."""
import os

project = "sksigkernel"
author = "the sksigkernel developers"
copyright = "2026, the sksigkernel developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
templates_path = ["_templates"]          # a class page: its docstring and its own methods
# our own methods; scikit-learn's generated ones (metadata routing, set_output) and those
# inherited from its mixins are documented by scikit-learn
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": "set_fit_request, set_predict_request, set_score_request, "
                       "set_transform_request, set_output, get_metadata_routing, score, "
                       "get_params, set_params, fit_transform, get_feature_names_out",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"^(?!.*plot_)",            # the argparse scripts are not in the gallery
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    # SKSIGKERNEL_DOCS_QUICK=1 (CI) builds the pages without running the examples
    "plot_gallery": "False" if os.environ.get("SKSIGKERNEL_DOCS_QUICK") else "True",
}

html_theme = "pydata_sphinx_theme"
html_title = "sksigkernel"
html_theme_options = {"navigation_depth": 2, "show_toc_level": 2}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
