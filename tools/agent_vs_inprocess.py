#!/usr/bin/env python3
"""Transport figures with each step in its own agent process (sonda's default)
vs the same steps in-process (`sonda run --in-process`), through `sonda run`.

One scenario (TCP stream, TCP RR 64 B, UDP RR 64 B, UDP stream against sonda's
own servers on 127.0.0.1) runs in alternated pairs, agent then in-process, and
each figure's ratio agent / in-process is taken pair by pair; the median of
the ratios is the figure to quote. The agent must not disturb the data path:
the goal is every ratio within 3 % of 1.

  tools/agent_vs_inprocess.py [--pairs 6] [--duration 2s] [--sonda build/bin/sonda] [--force]

Measure on an idle machine: the load average is printed, and above 1.0 no
verdict is given unless --force.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCENARIO = """name: agent-vs-inprocess
defaults: { duration: %(duration)s }
steps:
  - { id: tsink, use: tcp_transport.server, with: { listen: "127.0.0.1:19591", mode: sink } }
  - { id: techo, use: tcp_transport.server, with: { listen: "127.0.0.1:19592", mode: echo } }
  - { id: uecho, use: udp_transport.server, with: { listen: "127.0.0.1:19593", mode: echo } }
  - { id: tstream, use: tcp_transport.stream, with: { target: "127.0.0.1:19591" } }
  - { id: trr, use: tcp_transport.rr, with: { target: "127.0.0.1:19592", size: 64B } }
  - { id: urr, use: udp_transport.rr, with: { target: "127.0.0.1:19593", size: 64B } }
  - { id: ustream, use: udp_transport.stream, with: { target: "127.0.0.1:19593", rate: unlimited } }
"""

# (label, step id, path into the record, "higher" or "lower" is better)
FIGURES = [
    ("TCP stream bits/s", "tstream", ["bits_per_sec"], "higher"),
    ("TCP RR 64 B p50", "trr", ["latency", "p50_ns"], "lower"),
    ("TCP RR 64 B p99", "trr", ["latency", "p99_ns"], "lower"),
    ("TCP RR transactions/s", "trr", ["transactions_per_sec"], "higher"),
    ("UDP RR 64 B p50", "urr", ["latency", "p50_ns"], "lower"),
    ("UDP RR 64 B p99", "urr", ["latency", "p99_ns"], "lower"),
    ("UDP stream sent pps", "ustream", ["sender", "packets_per_sec"], "higher"),
    ("UDP stream received pps", "ustream", ["receiver", "packets_per_sec"], "higher"),
]


def figure(run, step_id, path):
    for step in run["steps"]:
        if step["id"] == step_id:
            if step["status"] != "ok":
                raise RuntimeError(f"step {step_id}: {step['status']}: {step.get('reason')}")
            v = step["record"]
            for key in path:
                v = v[key]
            return float(v)
    raise RuntimeError(f"no step {step_id}")


def run_once(sonda, scenario, out, in_process):
    cmd = [sonda, "-q", "run", scenario, "-o", out] + (["--in-process"] if in_process else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    with open(os.path.join(out, "agent-vs-inprocess", "latest", "run.json")) as f:
        run = json.load(f)
    want = "in-process" if in_process else "agent"
    if run.get("isolation") != want:
        raise RuntimeError(f"run.json says isolation {run.get('isolation')}, expected {want}")
    return {label: figure(run, sid, path) for label, sid, path, _ in FIGURES}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--duration", default="2s")
    ap.add_argument("--sonda", default=os.path.join(ROOT, "build", "bin", "sonda"))
    ap.add_argument("--force", action="store_true", help="give a verdict even above load 1.0")
    args = ap.parse_args()
    # The comparison itself keeps both cores busy (sender and receiver), so
    # only the load *before* it says whether something else was running.
    waited = 0
    while os.getloadavg()[0] >= 1.0 and waited < 120:
        time.sleep(5)
        waited += 5
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="sonda-agent-vs-inproc-") as tmp:
        scenario = os.path.join(tmp, "s.yaml")
        with open(scenario, "w") as f:
            f.write(SCENARIO % {"duration": args.duration})
        ratios = {label: [] for label, *_ in FIGURES}
        values = {label: ([], []) for label, *_ in FIGURES}
        for i in range(args.pairs):
            agent = run_once(args.sonda, scenario, tmp, False)
            inproc = run_once(args.sonda, scenario, tmp, True)
            for label, *_ in FIGURES:
                values[label][0].append(agent[label])
                values[label][1].append(inproc[label])
                ratios[label].append(agent[label] / inproc[label] if inproc[label] else float("nan"))
            print(f"pair {i + 1}/{args.pairs} done", file=sys.stderr)
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f} (after, with its own load: {load_after[0]:.2f}); "
          f"{args.pairs} alternated pairs, {args.duration} per figure; ratio = agent / in-process")
    print(f"{'figure':26} {'agent (median)':>16} {'in-process':>16} {'ratio median':>13} {'min':>7} {'max':>7}")
    worst = 0.0
    for label, _, _, better in FIGURES:
        r = sorted(ratios[label])
        med = statistics.median(r)
        # How much worse the agent path is, in the figure's own direction.
        worse = (med - 1.0) if better == "lower" else (1.0 - med)
        worst = max(worst, worse)
        print(f"{label:26} {statistics.median(values[label][0]):16.4g} {statistics.median(values[label][1]):16.4g} "
              f"{med:13.3f} {r[0]:7.3f} {r[-1]:7.3f}")
    if load_before[0] >= 1.0 and not args.force:
        print("no verdict: load average above 1.0 (measure on an idle machine, or --force)")
        return 0
    print(f"verdict: the agent path is at most {worst * 100:.1f} % worse on any figure "
          f"({'within' if worst <= 0.03 else 'outside'} the 3 % goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
