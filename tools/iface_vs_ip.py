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

With --veth-pairs P (root only) the process comparison is repeated in a
throwaway network namespace holding P veth pairs (2P interfaces, each with
an IPv4 and an IPv6 address), where per-interface work dominates process
start-up; the namespace is deleted on exit.

Rounds interleave the tools so load changes hit each alike; the median
round is reported.  Usage: tools/iface_vs_ip.py [--build DIR] [--runs N]
[--rounds R] [--veth-pairs P]   (build iface_bench and iface_scan_once first).
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


def compare_processes(tools, runs, rounds):
    """Median seconds per process run of each tool, rounds interleaved."""
    per_round = {name: [] for name in tools}
    for _ in range(rounds):
        for name, cmd in tools.items():
            per_round[name].append(time_runs(cmd, runs))
    return {name: statistics.median(r) for name, r in per_round.items()}


def make_crowded_netns(name, pairs):
    """A namespace with `pairs` veth pairs, addressed and up, via ip -batch."""
    subprocess.run(["ip", "netns", "add", name], check=True)
    lines = []
    for i in range(pairs):
        a, b = f"va{i}", f"vb{i}"
        lines.append(f"link add {a} type veth peer name {b}")
        # 198.18.0.0/15 is the benchmarking range (RFC 2544); only inside the namespace.
        lines.append(f"addr add 198.18.{i // 64}.{(i % 64) * 4 + 1}/30 dev {a}")
        lines.append(f"addr add 2001:db8:{i:x}::1/64 dev {a} nodad")
        lines.append(f"link set {a} up")
        lines.append(f"link set {b} up")
    subprocess.run(["ip", "-n", name, "-batch", "-"], input="\n".join(lines) + "\n",
                   text=True, check=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(here, "..", "build"))
    parser.add_argument("--runs", type=int, default=100, help="process runs per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--veth-pairs", type=int, default=0,
                        help="also compare inside a namespace with this many veth pairs")
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
    per_run = compare_processes(tools, args.runs, args.rounds)

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

    if args.veth_pairs > 0:
        ns = f"sonda-ivip{os.getpid()}"
        try:
            make_crowded_netns(ns, args.veth_pairs)
            count = interface_count([scan_once, ns], "count")
            if count != interface_count(["ip", "-n", ns, "-j", "-s", "addr"]):
                sys.exit("iface_vs_ip: scan and ip disagree on the namespace's interfaces")
            crowded = compare_processes({
                "iface_scan_once NS": [scan_once, ns],
                "iface_scan_once NS x21": [scan_once, ns, "21"],
                "ip -n NS -j -s addr": ["ip", "-n", ns, "-j", "-s", "addr"],
            }, max(args.runs // 5, 5), args.rounds)
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=False)
        print(f"namespace with {count} interfaces ({args.veth_pairs} veth pairs), medians")
        for name, seconds in crowded.items():
            print(f"  {name:<24} {seconds * 1e6:9.1f} us/process")
        # Marginal cost of one more scan inside an already running process.
        marginal = (crowded["iface_scan_once NS x21"] - crowded["iface_scan_once NS"]) / 20
        print(f"  {'one scan, in-process':<24} {marginal * 1e6:9.1f} us/scan (from x21 - x1)")
        ip_ns = crowded["ip -n NS -j -s addr"]
        print(f"  process:    ip -n NS -j -s addr / iface_scan_once NS = "
              f"{ip_ns / crowded['iface_scan_once NS']:.2f}")
        print(f"  in-process: ip -n NS -j -s addr / one scan         = {ip_ns / marginal:.2f}")


if __name__ == "__main__":
    main()
