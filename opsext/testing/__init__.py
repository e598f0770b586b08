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

"""Test harnesses: fixtures, clients and stand-ins for real services.

The servers themselves (an all-in-one Swift, memcached, subprocess and
port handling) are the product module :mod:`opsext.allinone`, which
``opsext demo`` runs too; this package builds on it and adds what only
tests need (redis-server, Nova harnesses, targets, load generators).
Nothing here is imported by the plugins or the ``opsext`` command.
:mod:`opsext.testing.pytest_plugin` makes them fixtures for operators'
own plugins (Swift: ``swift_cluster``, ``swift_client``; Nova, through
:mod:`~opsext.testing.nova_scheduler` and :mod:`~opsext.testing.nova_cloud`:
``nova_scheduler``, ``nova_cloud``).
"""
