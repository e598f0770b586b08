# Sphinx configuration for the opsext release notes (reno).
#
# reno reads the notes from the git history of releasenotes/notes: a note
# appears once it is committed. Build with "tox -e releasenotes".

project = 'opsext Release Notes'
copyright = '2026, opsext developers'
extensions = ['reno.sphinxext']
source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'
exclude_patterns = []
pygments_style = 'sphinx'
html_theme = 'alabaster'
