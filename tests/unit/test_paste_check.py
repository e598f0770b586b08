"""check-pipeline on an API's api-paste.ini (no nova, no swift)."""

import os

import pytest

from opsext.cmd import main
from opsext import paste_check

SAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                      'etc', 'nova', 'api-paste.ini-sample')
FILTERS = """
[filter:opsext_client_address]
use = egg:opsext#client_address
trusted_proxies = %s

[filter:opsext_source_stamp]
use = egg:opsext#source_stamp
secret = 0123456789abcdef0123
"""


def _write(tmp_path, pipeline, proxies='192.0.2.10'):
    path = tmp_path / 'api-paste.ini'
    path.write_text('[composite:openstack_compute_api_v21]\n'
                    'use = call:nova.api.auth:pipeline_factory_v21\n'
                    'keystone = %s\n' % pipeline + FILTERS % proxies)
    return str(path)


def _findings(path):
    return [(f.severity, f.filter) for f in
            paste_check.check_file(path).findings]


def test_shipped_sample_has_no_findings():
    assert paste_check.is_api_paste(SAMPLE)
    assert _findings(SAMPLE) == []


def test_client_address_right_of_http_proxy_to_wsgi_is_an_error(tmp_path):
    path = _write(tmp_path, 'cors http_proxy_to_wsgi opsext_client_address '
                  'authtoken keystonecontext opsext_source_stamp app')
    assert _findings(path) == [('error', 'opsext_client_address')]


def test_http_proxy_to_wsgi_alone_is_a_warning(tmp_path):
    path = _write(tmp_path, 'cors http_proxy_to_wsgi authtoken '
                  'keystonecontext app')
    assert _findings(path) == [('warning', 'http_proxy_to_wsgi')]


def test_source_stamp_before_keystonecontext_is_an_error(tmp_path):
    path = _write(tmp_path, 'opsext_client_address http_proxy_to_wsgi '
                  'authtoken opsext_source_stamp keystonecontext app')
    assert _findings(path) == [('error', 'opsext_source_stamp')]


def test_bad_option_is_an_error_naming_it(tmp_path):
    path = _write(tmp_path, 'opsext_client_address http_proxy_to_wsgi '
                  'authtoken keystonecontext app', proxies='192.0.2.300')
    [finding] = paste_check.check_file(path).findings
    assert finding.severity == 'error'
    assert 'trusted_proxies' in finding.reason


def test_command_exit_status_for_an_api_paste(tmp_path, capsys):
    path = _write(tmp_path, 'http_proxy_to_wsgi opsext_client_address '
                  'keystonecontext app')
    assert main.main(['check-pipeline', path]) == 1
    assert 'ERROR opsext_client_address' in capsys.readouterr().out


@pytest.mark.parametrize('text', ['[pipeline:main]\npipeline = proxy\n',
                                  'not ini at all ['])
def test_swift_configs_and_garbage_are_not_api_paste(tmp_path, text):
    path = tmp_path / 'x.conf'
    path.write_text(text)
    assert not paste_check.is_api_paste(str(path))
