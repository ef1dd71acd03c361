#!/usr/bin/env bash
# One-stop set-up for a fresh Debian 12 machine (run as root, or with sudo).
#
#   tools/setup.sh run    install what is missing, build, run the lab scenario
#   tools/setup.sh test   install what is missing, build, run the whole test suite
#   tools/setup.sh build  install what is missing, build
#   tools/setup.sh fuzz [SECONDS]  install, build the libFuzzer targets with clang
#                         (ASan+UBSan) and run each for SECONDS (default 30) on its corpus
#
# Idempotent: packages already present are not reinstalled, the build is
# incremental. BUILD_DIR (default: build) and JOBS (default: nproc) override.
set -euo pipefail

mode=${1:-build}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}

packages=(
  build-essential cmake pkg-config git
  libboost-dev libboost-filesystem-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  python3 iproute2 nftables iperf3 sockperf net-tools lsof procps kmod
  openssh-server openssh-client
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  as_root=()
  [[ $(id -u) -eq 0 ]] || as_root=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $mode == fuzz ]]; then
  seconds=${1:-30}
  fbuild=${FUZZ_BUILD_DIR:-$root/build-fuzz}
  cmake -S "$root" -B "$fbuild" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DSONDA_BUILD_FUZZ=ON -DSONDA_BUILD_TESTS=OFF -DSONDA_BUILD_BENCH=OFF -DSONDA_WERROR=ON \
    -DSONDA_SANITIZE=address,undefined >/dev/null
  cmake --build "$fbuild" -j "$jobs" --target scenario_fuzz udp_header_fuzz
  for target in "scenario_fuzz tests/fuzz/corpus/scenario" \
                "udp_header_fuzz plugins/udp_transport/tests/fuzz_corpus"; do
    set -- $target
    # New inputs go to a scratch directory; the committed corpus is only read.
    scratch=$(mktemp -d)
    echo "fuzz: $1 for ${seconds}s" >&2
    log="$scratch.log"
    rc=0
    "$fbuild/bin/$1" "$scratch" "$root/$2" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$fbuild/$1-" >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
      tail -n 60 "$log" >&2
      echo "fuzz: $1 failed (exit $rc); reproducer saved as $fbuild/$1-*" >&2
      exit 1
    fi
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" >&2 || true
    rm -rf "$scratch" "$log"
  done
  exit 0
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSONDA_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs"

case "$mode" in
  build) ;;
  run)
    exec "$build/bin/sonda" run "$root/scenarios/practica1.yaml" -o "$root/results" "$@" ;;
  test)
    cd "$build"
    exec ctest --output-on-failure --timeout 300 -j 1 "$@" ;;
  *)
    echo "usage: tools/setup.sh run|test|build|fuzz [SECONDS]" >&2
    exit 2 ;;
esac
