#!/usr/bin/env python3
"""sonda tcp_transport.rr vs `sockperf ping-pong --tcp` on loopback, one invocation.

Like with like: one TCP connection, 64-byte messages, one in flight, blocking
sonda I/O against sockperf's default (epoll), each tool against its own server
in its own process, both warming up 400 ms (sockperf's fixed warm-up; sonda
`warmup: 400ms`). sockperf prints HALF the round trip unless --full-rtt,
which this script passes, so both columns are full round trips.
Rounds alternate the tools; the verdict uses median ratios sonda/sockperf
(lower is better; goal <= 1.05). The last line reports sonda crr
connections/s against its own echo server (no peer tool measures that here).

  tools/tcp_rr_vs_sockperf.py [--duration 5] [--rounds 3] [--payload 64]
                              [--driver build/bin/tcp_transport_driver]
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    """A port free on every address: iperf3 listens on the dual-stack wildcard."""
    with socket.socket(socket.AF_INET6) as s:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=30):
    """Waits until the socket table shows a listener on port (no probing connect)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        if subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout.strip():
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout} s")


def sockperf(duration, payload):
    port = free_port()
    srv = subprocess.Popen(["sockperf", "server", "--tcp", "-i", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, srv)
        out = subprocess.run(["sockperf", "ping-pong", "--tcp", "-i", "127.0.0.1", "-p", str(port), "-m",
                              str(payload), "-t", str(duration), "--full-rtt"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        srv.kill()
        srv.wait(timeout=10)
    pct = {float(m.group(1)): float(m.group(2)) * 1e3
           for m in re.finditer(r"percentile\s+([\d.]+)\s*=\s*([\d.]+)", out)}
    runtime = re.search(r"\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+)", out)
    return {"p50_ns": pct[50.0], "p90_ns": pct[90.0], "p99_ns": pct[99.0],
            "min_ns": float(re.search(r"<MIN> observation =\s*([\d.]+)", out).group(1)) * 1e3,
            "tps": int(runtime.group(2)) / float(runtime.group(1))}


def sonda(driver, action, duration, payload):
    srv = subprocess.Popen([driver, "server", json.dumps({"listen": "127.0.0.1:0", "mode": "echo"})],
                           stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(srv.stdout.readline())
        params = {"target": ready["listen"], "duration": int(duration * 1e9), "size": payload,
                  "warmup": 400_000_000}
        out = subprocess.run([driver, action, json.dumps(params)], capture_output=True, text=True,
                             check=True).stdout
        return json.loads(out.strip().splitlines()[-1])
    finally:
        srv.terminate()
        srv.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--payload", type=int, default=64)
    ap.add_argument("--driver", default=os.path.join(ROOT, "build", "bin", "tcp_transport_driver"))
    args = ap.parse_args()
    print(f"loopback, {args.payload} B ping-pong, {args.duration:g} s per run, full round trips in us, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'round':>5} {'':>8} {'min':>8} {'p50':>8} {'p90':>8} {'p99':>9} {'trans/s':>9}")
    r50, r99 = [], []
    for r in range(args.rounds):
        sp = sockperf(args.duration, args.payload)
        rec = sonda(args.driver, "rr", args.duration, args.payload)
        lat = rec["latency"]
        so = {"min_ns": lat["min_ns"], "p50_ns": lat["p50_ns"], "p90_ns": lat["p90_ns"], "p99_ns": lat["p99_ns"],
              "tps": rec["transactions_per_sec"]}
        for name, x in (("sockperf", sp), ("sonda", so)):
            print(f"{r + 1:>5} {name:>8} {x['min_ns'] / 1e3:>8.1f} {x['p50_ns'] / 1e3:>8.1f} "
                  f"{x['p90_ns'] / 1e3:>8.1f} {x['p99_ns'] / 1e3:>9.1f} {x['tps']:>9.0f}")
        r50.append(so["p50_ns"] / sp["p50_ns"])
        r99.append(so["p99_ns"] / sp["p99_ns"])
        print(f"{'':>5} {'ratio':>8} {'':>8} {r50[-1]:>7.2f}x {'':>8} {r99[-1]:>8.2f}x")
    m50, m99 = statistics.median(r50), statistics.median(r99)
    print(f"median sonda/sockperf: p50 {m50:.2f}x, p99 {m99:.2f}x (goal <= 1.05x)")
    crr = sonda(args.driver, "crr", args.duration, args.payload)
    print(f"sonda crr: {crr['connections_per_sec']:.0f} connections/s, connect p50 "
          f"{crr['connect_latency']['p50_ns'] / 1e3:.1f} us, p99 {crr['connect_latency']['p99_ns'] / 1e3:.1f} us")
    return 0 if m50 <= 1.05 and m99 <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
