#!/bin/sh
# Installs sonda (SDK + binary) into a scratch prefix, builds the example
# plugin in this directory against that installation only, and runs it
# through the installed `sonda`. Usage: run_out_of_tree_test.sh <sonda build dir> <this dir>
set -eu
build=$1
src=$2
work=$(mktemp -d /tmp/sonda-oot-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" --component sdk >/dev/null
cmake --install "$build" --prefix "$work/prefix" --component runtime >/dev/null
cmake -S "$src" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
test -f "$work/build/greeter.so"
export SONDA_PLUGIN_PATH="$work/build"
"$work/prefix/bin/sonda" plugins describe greeter | tee "$work/describe.txt"
grep -q "greeter.greet" "$work/describe.txt"
grep -q "Who to greet" "$work/describe.txt"
set +e
"$work/prefix/bin/sonda" run "$src/greet.yaml" -o "$work/results"
rc=$?
set -e
test "$rc" -eq 0 || { echo "sonda run exited $rc"; exit 1; }
grep -q '"greeting": "hello, sonda"' "$work/results/greet/latest/run.json"
echo "out-of-tree plugin OK"
