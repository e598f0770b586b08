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


"""Where an instance being moved lives, for a RequestSpec.

A new server is placed by its requester's source address. A server being
moved (resize, cold or live migration, evacuation, unshelve) is placed by
the host it lives on instead: the request context of a move is the
caller's, often an admin's from some other address, and the scheduler
hints persisted with the server were written by its owner, so neither may
decide which subnet group the server belongs to.

The scheduler learns which case it has from nova's own records, with one
API database read per request: a server still being built has an instance
mapping without a cell; a server that lives somewhere has a cell, and in
that cell a ``host`` (or, shelved and offloaded, a ``shelved_host`` in its
system metadata). A lookup that fails leaves the group unknown, and the
policy then fails closed for the request.
"""

from typing import Optional

from nova import context as nova_context
from nova.db.api import api as api_db_api
from nova.db.api import models as api_models
from nova import exception
from nova import objects

from opsext.nova._adapter import Location
from opsext.nova._adapter import NEW

SHELVED_HOST = 'shelved_host'


def _instance_uuid(spec_obj) -> Optional[str]:
    try:
        if spec_obj.obj_attr_is_set('instance_uuid'):
            return spec_obj.instance_uuid
    except AttributeError:
        pass
    return None


def locate(spec_obj, aggregate_view) -> Location:
    """Where the server of ``spec_obj`` lives, or ``NEW`` while it is built.

    ``aggregate_view`` turns an ``Aggregate`` into (name, metadata).
    """
    uuid = _instance_uuid(spec_obj)
    context = getattr(spec_obj, '_context', None)
    if not uuid or context is None:
        return NEW
    # The caller may be the owner (resize, unshelve) or an admin of
    # another project; the lookup must see the server either way.
    admin = context.elevated(read_deleted='no')
    try:
        mapping = objects.InstanceMapping.get_by_instance_uuid(admin, uuid)
    except exception.InstanceMappingNotFound:
        return NEW
    except Exception as exc:
        return Location(error='cannot look up server %s: %s' % (uuid, exc))
    if mapping.cell_mapping is None:
        return NEW
    try:
        with nova_context.target_cell(admin, mapping.cell_mapping) as cell:
            instance = objects.Instance.get_by_uuid(
                cell, uuid, expected_attrs=['system_metadata'])
        host = instance.host or (instance.system_metadata or {}).get(
            SHELVED_HOST)
        if not host:
            # It never landed: a reschedule of its build, which carries
            # the requester's own context.
            return NEW
        aggregates = objects.AggregateList.get_by_host(admin, host)
    except Exception as exc:
        return Location(error='cannot look up server %s: %s' % (uuid, exc))
    return Location(host, tuple(aggregate_view(a) for a in aggregates))


@api_db_api.context_manager.reader
def _tagged_aggregates(context, key: str) -> list:
    # One query for (aggregate name, value of ``key``), modelled on
    # nova/objects/aggregate.py _get_by_metadata_from_db, without building
    # Aggregate objects with their hosts: the policy needs neither.
    query = context.session.query(api_models.Aggregate.id,
                                  api_models.Aggregate.name,
                                  api_models.AggregateMetadata.value)
    query = query.join(api_models.AggregateMetadata,
                       api_models.AggregateMetadata.aggregate_id ==
                       api_models.Aggregate.id)
    return query.filter(api_models.AggregateMetadata.key == key).all()


def all_aggregates(spec_obj, aggregate_view, key: str) -> tuple:
    """(name, {key: value}) of every aggregate of the cloud tagged with
    ``key``, from the API database: the networks a request can match are
    all of theirs.

    :raises Exception: when they cannot be read (the caller refuses).
    """
    context = getattr(spec_obj, '_context', None)
    if context is None:
        raise ValueError('the request spec has no context')
    admin = context.elevated(read_deleted='no')
    return tuple((name or 'id %s' % agg_id, {key: value})
                 for agg_id, name, value in _tagged_aggregates(admin, key))
