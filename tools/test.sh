#!/usr/bin/env bash
# Every test, on a fresh machine: style, unit, functional (real memcached
# and a real Swift cluster on 127.0.0.1), nova (the placement plugins in
# real Nova) and the docs build. Fails when a
# test fails, when no test ran, or when any test was skipped.
# Arguments: tox environments (default: pep8,py3,functional,nova,docs).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
"$top/tools/bootstrap.sh"
envs=${1:-pep8,py3,functional,nova,docs}
rm -rf "$top/.ci-results"
echo "== tox -e $envs (a first run creates each environment first:" \
    "minutes, most of it for nova)"
"$top/.venv/bin/tox" -e "$envs"
results=()
for env in py3 functional nova; do
    case ",$envs," in *",$env,"*) results+=("$top/.ci-results/$env.xml");; esac
done
if [ ${#results[@]} -gt 0 ]; then
    "$top/.venv/bin/python" "$top/tools/check_results.py" "${results[@]}"
fi
