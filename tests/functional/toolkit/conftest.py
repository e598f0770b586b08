# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The operator toolkit, used from outside opsext as operators use it.

``operator_swift/`` and ``operator_nova/`` are small operator projects
(a plugin and tests that use the fixtures of opsext's pytest plugin). The
tests here copy one into a temporary directory and run pytest there in a
subprocess, so that nothing of opsext's own test tree (its conftest.py
files and their fixtures) is in reach: only the installed plugin is.
"""

collect_ignore = ['operator_swift', 'operator_nova']
