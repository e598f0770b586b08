"""``opsext placement explain`` on the sample inventory."""

import json
import os

import pytest

from opsext.cmd import main

ETC = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                   'placement')
INVENTORY = os.path.join(ETC, 'inventory-sample.yaml')
CONFIG = os.path.join(ETC, 'nova.conf-sample')


def _explain(capsys, address, *extra):
    code = main.main(['placement', 'explain', '--inventory', INVENTORY,
                      '--config', CONFIG, '--address', address] +
                     list(extra))
    out, err = capsys.readouterr()
    return code, out, err


def _results(capsys, address):
    code, out, _err = _explain(capsys, address, '--format', 'json')
    return code, {h['host']: h for h in json.loads(out)['hosts']}


def test_sample_longest_prefix(capsys):
    code, hosts = _results(capsys, '10.1.2.3')
    assert code == 0
    assert [h for h, v in hosts.items() if v['passes']] == ['doc-gpu1']
    assert hosts['doc-gpu1']['weight'] == 10.0


def test_sample_static_rule(capsys):
    _code, hosts = _results(capsys, '10.2.0.5')
    assert sorted(h for h, v in hosts.items() if v['passes']) == [
        'ops1', 'ops2']


def test_sample_ten_ten_goes_to_dev(capsys):
    _code, hosts = _results(capsys, '10.10.0.1')
    assert [h for h, v in hosts.items() if v['passes']] == ['dev1']


def test_sample_malformed_aggregate(capsys):
    code, out, _err = _explain(capsys, '10.1.9.9')
    assert code == 0
    assert "aggregate legacy has malformed opsext_subnets" in out
    line = [ln for ln in out.splitlines() if ln.startswith('old1')][0]
    assert 'FAIL' in line


def test_table_lists_every_host_with_a_reason(capsys):
    _code, out, _err = _explain(capsys, '10.2.0.5')
    assert out.splitlines()[1] == 'Request from 10.2.0.5: longest match ' \
        '10.2.0.0/16'
    for host in ('doc1', 'doc2', 'doc-gpu1', 'ops1', 'ops2', 'dev1', 'old1',
                 'spare1'):
        assert any(ln.startswith(host + ' ') for ln in out.splitlines())
    assert out.rstrip().endswith('2 of 8 hosts pass.')


def test_no_valid_host_exit_status(capsys, tmp_path):
    conf = tmp_path / 'nova.conf'
    conf.write_text('[opsext_subnet_affinity]\nunmatched_requests = none\n')
    code = main.main(['placement', 'explain', '--inventory', INVENTORY,
                      '--config', str(conf), '--address', '2001:db8::1'])
    out, _err = capsys.readouterr()
    assert code == 3
    assert 'No valid host was found' in out


@pytest.mark.parametrize('args,message', [
    (['--address', '010.0.0.1'], '--address'),
    (['--address', '10.0.0.1', '--config', '/nonexistent.conf'], 'config'),
])
def test_bad_input_is_a_clear_error(capsys, args, message):
    code = main.main(['placement', 'explain', '--inventory', INVENTORY] +
                     args)
    _out, err = capsys.readouterr()
    assert code != 0
    assert message in err and 'Traceback' not in err


def test_bad_config_value_names_the_option(capsys, tmp_path):
    conf = tmp_path / 'nova.conf'
    conf.write_text('[opsext_subnet_affinity]\nstatic_rules = 10.1.0.1/16 '
                    '= doc*\n')
    code = main.main(['placement', 'explain', '--inventory', INVENTORY,
                      '--config', str(conf), '--address', '10.1.1.1'])
    _out, err = capsys.readouterr()
    assert code == 1
    assert 'opsext_subnet_affinity.static_rules' in err


@pytest.mark.parametrize('content,message', [
    ('hosts: 3', 'hosts'),
    ('hosts: [{name: a, aggregates: [nope]}]', 'unknown aggregate'),
    ('hosts: [{host_ip: 1.2.3.4}]', 'no name'),
    ('{{{', 'not YAML'),
])
def test_bad_inventory_is_a_clear_error(capsys, tmp_path, content, message):
    inventory = tmp_path / 'inv.yaml'
    inventory.write_text(content)
    code = main.main(['placement', 'explain', '--inventory', str(inventory),
                      '--address', '10.0.0.1'])
    _out, err = capsys.readouterr()
    assert code == 1
    assert message in err


def _move(capsys, host):
    code = main.main(['placement', 'explain', '--inventory', INVENTORY,
                      '--config', CONFIG, '--moved-from', host,
                      '--format', 'json'])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def test_move_keeps_the_group_of_the_servers_host(capsys):
    code, result, _err = _move(capsys, 'doc1')
    passing = sorted(h['host'] for h in result['hosts'] if h['passes'])
    assert code == 0 and passing == ['doc-gpu1', 'doc2']
    assert result['moved_from'] == 'doc1' and result['address'] is None


def test_move_lists_every_other_host(capsys):
    _code, result, _err = _move(capsys, 'ops1')
    assert 'ops1' not in [h['host'] for h in result['hosts']]
    assert len(result['hosts']) == 7


def test_move_from_a_host_with_malformed_metadata_finds_no_host(capsys):
    code, result, _err = _move(capsys, 'old1')
    assert code == 3
    assert not any(h['passes'] for h in result['hosts'])


def test_move_from_an_unknown_host_is_a_clear_error(capsys):
    code, _result, err = _move(capsys, 'nope')
    assert code == 1 and 'nope is not a host' in err


def test_address_and_moved_from_are_exclusive(capsys):
    code = main.main(['placement', 'explain', '--inventory', INVENTORY,
                      '--address', '10.0.0.1', '--moved-from', 'doc1'])
    _out, err = capsys.readouterr()
    assert code == 2 and 'not allowed with' in err


def _explain_source(capsys, *argv):
    code = main.main(['placement', 'explain', '--inventory', INVENTORY,
                      '--config', CONFIG, '--format', 'json'] + list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def _trusting(tmp_path, proxies):
    conf = tmp_path / 'trust.conf'
    conf.write_text('[opsext_subnet_affinity]\ntrusted_proxies = %s\n'
                    % proxies)
    return str(conf)


def test_remote_address_list_is_walked_past_trusted_proxies(capsys,
                                                            tmp_path):
    code, out, _ = _explain_source(
        capsys, '--config', _trusting(tmp_path, '192.0.2.10'),
        '--remote-address', '10.2.0.66, 10.1.2.3, 192.0.2.10')
    assert code == 0
    assert out['address'] == '10.1.2.3'
    assert 'the client is 10.1.2.3' in out['steps'][0]


def test_remote_address_list_without_trusted_proxies_is_refused(capsys):
    code, out, _ = _explain_source(capsys, '--remote-address',
                                   '10.2.0.66, 10.1.2.3')
    assert code == 3
    assert 'refused' in out['steps'][0]
    assert not any(h['passes'] for h in out['hosts'])


def test_forwarded_spoof_is_shown_and_not_believed(capsys, tmp_path):
    code, out, _ = _explain_source(
        capsys, '--config', _trusting(tmp_path, '192.0.2.10'),
        '--remote-address', '192.0.2.10',
        '--forwarded', 'for=10.2.0.66, for=10.1.2.3')
    assert out['address'] == '10.1.2.3'
    assert any('http_proxy_to_wsgi would record the first for= (10.2.0.66)'
               in step for step in out['steps'])


def test_forwarded_needs_a_peer(capsys):
    code = main.main(['placement', 'explain', '--inventory', INVENTORY,
                      '--address', '10.1.2.3', '--forwarded', 'for=1.2.3.4'])
    assert code != 0
    assert '--forwarded needs --remote-address' in capsys.readouterr().err


def test_server_needs_a_cloud(capsys):
    code = main.main(['placement', 'explain', '--inventory', INVENTORY,
                      '--server', 'abc'])
    assert code != 0
    assert '--server needs --os-cloud' in capsys.readouterr().err
