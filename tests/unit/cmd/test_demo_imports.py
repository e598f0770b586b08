"""``opsext demo`` runs the all-in-one Swift without the test harness."""

import subprocess
import sys

# Import the command and every module of the all-in-one Swift, then list
# what of opsext.testing came in with them.
_PROBE = '''
import importlib, pkgutil, sys
import opsext.allinone
import opsext.cmd.demo
import opsext.cmd.main
for module in pkgutil.iter_modules(opsext.allinone.__path__):
    importlib.import_module('opsext.allinone.' + module.name)
print(sorted(name for name in sys.modules
             if name.startswith('opsext.testing') or name == 'pytest'))
'''


def test_demo_and_allinone_import_no_test_harness():
    out = subprocess.run([sys.executable, '-c', _PROBE], check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == '[]', out


def test_toolkit_name_of_the_cluster_is_the_allinone_class():
    from opsext.allinone import cluster
    from opsext.testing import swift_cluster
    assert swift_cluster.SwiftCluster is cluster.SwiftCluster
    assert swift_cluster.ClusterStartError is cluster.ClusterStartError
