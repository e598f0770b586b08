#!/usr/bin/env bash
# The main job: the placement explainer on the sample inventory, then an
# all-in-one Swift on 127.0.0.1 with the opsext filters in its proxy
# pipeline, printing the endpoint, credentials and swift CLI examples; it
# stops on Ctrl-C. Arguments go to `opsext demo` (see --help).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/tools/bootstrap.sh"
echo "== Subnet-affinity placement: why each host would take a request from"
echo "== 10.1.2.3 (opsext placement explain, on etc/placement's samples)"
"$top/.venv/bin/opsext" placement explain \
    --inventory "$top/etc/placement/inventory-sample.yaml" \
    --config "$top/etc/placement/nova.conf-sample" --address 10.1.2.3
echo
echo "== An all-in-one Swift with the opsext pipeline (starting: about 10 s)"
exec "$top/.venv/bin/opsext" demo "$@"
