"""nova_cloud: the filter in Nova's in-process cloud, servers booted."""


def test_boots_follow_the_source_address(nova_cloud):
    cloud = nova_cloud(
        filters=['ComputeFilter', 'netfilter.SourceNetworkFilter'],
        hosts=['h1', 'h2'],
        aggregates={'office': {'hosts': ['h1'], 'metadata': {
            'source_cidrs': '10.1.0.0/16'}}})
    assert cloud.host_of(cloud.boot(source_address='10.9.0.1')) == 'h2'
    # h2 is the only host for outsiders: with it disabled, none is left.
    service = cloud.admin_api.get_services(host='h2',
                                           binary='nova-compute')[0]
    cloud.admin_api.put_service(service['id'], {'status': 'disabled'})
    server = cloud.boot(source_address='10.9.0.1', expected_state='ERROR')
    assert 'No valid host' in server['fault']['message']
    assert cloud.host_of(cloud.boot(source_address='10.1.0.1')) == 'h1'


def test_bad_option_is_an_error_and_leaves_nova_conf_alone(nova_cloud):
    import nova.conf
    import pytest
    with pytest.raises(Exception) as info:
        nova_cloud(filters=['netfilter.SourceNetworkFilter'],
                   conf={'filter_scheduler': {'no_such_option': 1}})
    assert 'no_such_option' in str(info.value)
    conf = nova.conf.CONF.filter_scheduler
    assert 'SourceNetworkFilter' not in conf.enabled_filters
