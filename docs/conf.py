"""Sphinx configuration of the intelligent-training documentation.

Build: ``nox -s docs`` (warnings are errors), or
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
The gallery examples in ``examples/plot_*.py`` run at build time; set
``INTELLIGENT_TRAINING_DOCS_FAST=1`` to build without running them.
"""

from __future__ import annotations

import os
import warnings

from intelligent_training import __version__

project = "intelligent-training"
author = "intelligent-training developers"
copyright = "intelligent-training developers"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "sg_execution_times.rst",
]
templates_path: list[str] = []

# --- MyST: the docs/*.md pages -------------------------------------------------------------
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# --- API reference from the numpydoc docstrings --------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc "Parameters" sections hold the types
autodoc_default_options = {"members": False, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# --- the gallery: examples executed at build time ------------------------------------------
FAST = os.environ.get("INTELLIGENT_TRAINING_DOCS_FAST", "") not in ("", "0")
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"binance_5m\.py|__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "False" if FAST else "True",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "show_signature": False,
    "reset_modules": ("matplotlib",),
    "copyfile_regex": r".*\.yaml$",
}

# --- HTML -----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"intelligent-training {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 4,
    "footer_start": ["copyright"],
    "footer_end": ["theme-version"],
}
html_static_path: list[str] = []
html_show_sourcelink = True

# Quiet third-party chatter that is not about our docs.
warnings.filterwarnings("ignore", category=UserWarning, message=".*non-interactive.*")
