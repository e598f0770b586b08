# Sphinx configuration for the opsext documentation.

project = 'opsext'
copyright = '2026, opsext developers'
# oslo_config.sphinxext: .. show-options:: renders oslo.config options from
# the code (placement.rst). reno.sphinxext: .. release-notes:: renders the
# committed notes of releasenotes/notes from git history (releasenotes.rst).
extensions = ['oslo_config.sphinxext', 'reno.sphinxext']
source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'
exclude_patterns = []
pygments_style = 'sphinx'
html_theme = 'alabaster'
