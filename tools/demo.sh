#!/usr/bin/env bash
# The main job: an all-in-one Swift on 127.0.0.1 with the opsext filters in
# its proxy pipeline. Prints the endpoint, credentials and a swift CLI
# example; stops on Ctrl-C. Arguments go to `opsext demo` (see --help).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/tools/bootstrap.sh"
exec "$top/.venv/bin/opsext" demo "$@"
