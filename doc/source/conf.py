# Sphinx configuration for the opsext documentation.

project = 'opsext'
copyright = '2026, opsext developers'
# oslo_config.sphinxext: .. show-options:: renders oslo.config options from
# the code (placement.rst).
extensions = ['oslo_config.sphinxext']
source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'
exclude_patterns = []
pygments_style = 'sphinx'
html_theme = 'alabaster'
