# Sphinx configuration for the opsext documentation.

project = 'opsext'
copyright = '2026, opsext developers'
extensions = []
source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'
exclude_patterns = []
pygments_style = 'sphinx'
html_theme = 'alabaster'
