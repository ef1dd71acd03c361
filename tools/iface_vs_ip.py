#!/usr/bin/env python3
"""iface_scanner's `scan` against iproute2, timed in one invocation.

Two comparisons, both printed as ratios (ip time / sonda time, > 1 means
sonda is faster) so they survive a noisy, shared machine:

  process:    `iface_scan_once` (one scan per process, JSON on stdout)
              vs `ip -j -s addr` and `ip -j -s link` -- the same facts
              (interfaces, addresses, 64-bit counters) per process start.
  in-process: iface_bench's BM_ScanAction (one scan incl. JSON record) vs
              one `ip -j -s addr` process; what a scenario step costs
              against shelling out to ip.

Rounds interleave the tools so load changes hit each alike; the median
round is reported.  Usage: tools/iface_vs_ip.py [--build DIR] [--runs N]
[--rounds R]   (build the iface_bench and iface_scan_once targets first).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def time_runs(cmd, runs):
    """Seconds per run of `cmd`, stdout discarded, over `runs` runs."""
    start = time.perf_counter()
    for _ in range(runs):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) / runs


def interface_count(cmd, key=None):
    out = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)
    return out[key] if key else len(out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(here, "..", "build"))
    parser.add_argument("--runs", type=int, default=100, help="process runs per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    scan_once = os.path.join(args.build, "bin", "iface_scan_once")
    bench = os.path.join(args.build, "bin", "iface_bench")
    for path in (scan_once, bench):
        if not os.access(path, os.X_OK):
            sys.exit(f"iface_vs_ip: {path} missing; build targets iface_scan_once iface_bench")

    ours = interface_count([scan_once], "count")
    theirs = interface_count(["ip", "-j", "-s", "addr"])
    if ours != theirs:
        sys.exit(f"iface_vs_ip: scan saw {ours} interfaces, ip saw {theirs}: not the same work")

    tools = {
        "iface_scan_once": [scan_once],
        "ip -j -s addr": ["ip", "-j", "-s", "addr"],
        "ip -j -s link": ["ip", "-j", "-s", "link"],
    }
    rounds = {name: [] for name in tools}
    for _ in range(args.rounds):
        for name, cmd in tools.items():
            rounds[name].append(time_runs(cmd, args.runs))
    per_run = {name: statistics.median(r) for name, r in rounds.items()}

    out = subprocess.run(
        [bench, "--benchmark_filter=^BM_ScanAction$", "--benchmark_format=json",
         "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"],
        capture_output=True, check=True, text=True).stdout
    medians = [b for b in json.loads(out)["benchmarks"] if b.get("aggregate_name") == "median"]
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[medians[0]["time_unit"]]
    in_process = medians[0]["real_time"] * unit

    print(f"interfaces: {ours}; {args.rounds} rounds x {args.runs} runs, medians")
    for name, seconds in per_run.items():
        print(f"  {name:<24} {seconds * 1e6:9.1f} us/process")
    print(f"  {'BM_ScanAction (in-proc)':<24} {in_process * 1e6:9.1f} us/scan")
    print("ratios (ip / sonda; > 1: sonda faster)")
    base = per_run["iface_scan_once"]
    print(f"  process:    ip -j -s addr / iface_scan_once = {per_run['ip -j -s addr'] / base:.2f}")
    print(f"  process:    ip -j -s link / iface_scan_once = {per_run['ip -j -s link'] / base:.2f}")
    print(f"  in-process: ip -j -s addr / BM_ScanAction   = "
          f"{per_run['ip -j -s addr'] / in_process:.1f}")


if __name__ == "__main__":
    main()
