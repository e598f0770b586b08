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
# Literal blocks (::) are shell sessions, config and program output, not
# Python: no highlighting unless a code-block names its language.
highlight_language = 'none'
# alabaster's default 940 px page scrolls 80-column commands sideways;
# _static/opsext.css wraps the longer output lines.
html_theme_options = {'page_width': '1240px', 'sidebar_width': '230px',
                      'body_max_width': 'none'}
html_static_path = ['_static']
html_css_files = ['opsext.css']
