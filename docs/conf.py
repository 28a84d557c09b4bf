"""Sphinx configuration of reflog's docs site (``make docs``; the README says where it lands).

Why Sphinx with myst-nb (and jupyterlite-sphinx for the in-browser chapters), rather than
Jupyter Book: the reference half of the site is generated from the code, and Sphinx's autodoc
reads reflog's typed docstrings directly; myst-nb renders the notebooks from their stored
outputs (never executing them: nbval checks those outputs, the site only shows them); and
jupyterlite-sphinx builds the JupyterLite site beside the pages in the same build. All three are
maintained by the Executable Books / Jupyter communities, and Jupyter Book 1 is itself these
Sphinx extensions in a wrapper, while Jupyter Book 2 has moved to a Node.js tool with no autodoc.

Every page under ``_generated/`` is written at build time by ``_ext/reflog_docs.py`` (the
chapters, the API, the CLI, the exercises, "How reflog differs from Kafka"): nothing there is
committed, so nothing there can fall out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))

project = "reflog"
author = "reflog's authors"
copyright = "reflog's authors, Apache-2.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "jupyterlite_sphinx",
    "reflog_docs",
]

exclude_patterns = ["_build", "_contents", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

# The chapters show what nbval checked: their stored outputs, never a fresh run.
nb_execution_mode = "off"
# A widget reference without its kernel draws nothing; each view stores a static plotly figure
# as HTML beside it (reflog/viz/static.py), which is what the page shows.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
# plotly's JSON twin of that HTML is for JupyterLab; myst-nb has no renderer for it.
suppress_warnings = ["mystnb.unknown_mime_type"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# Text as reflog's docstrings, exercises and notebooks write it: no curly quotes, and no en
# dash for "--" (an option such as --bootstrap-server in prose must stay one a reader can copy).
smartquotes = False

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Every name a module exports, documented or not (its signature and types say a lot).
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}

html_theme = "furo"
html_title = "reflog"
html_static_path = ["_static"]
html_css_files = ["reflog.css"]
html_favicon = "_static/reflog.svg"  # (without one, every page asks for /favicon.ico: a 404)
# The site must open with nothing fetched from elsewhere: no web fonts, no CDN scripts.
html_theme_options = {"navigation_with_keys": True}

# JupyterLite under lite/ (``_ext/reflog_lite.py`` prepares its folder: Pyodide and every wheel
# served from the site). myst-nb, not jupyterlite-sphinx, renders the .ipynb chapters.
jupyterlite_bind_ipynb_suffix = False
jupyterlite_silence = True
