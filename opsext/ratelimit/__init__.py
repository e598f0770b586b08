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


"""Rate limiting for any paste pipeline, with shared state.

The middleware (:mod:`opsext.ratelimit.middleware`) counts requests by
rules (:mod:`opsext.ratelimit.rules`) with a sliding-window counter
(:mod:`opsext.ratelimit.window`) kept in a storage backend
(:mod:`opsext.ratelimit.storage`) chosen by URI.
"""
