#!/usr/bin/env python3
"""sonda udp_transport vs iperf3 -u on loopback, in one invocation; prints ratios.

For 64 B and 1400 B datagrams at unlimited rate it runs, back to back:
  - iperf3 3.x: `iperf3 -s` + `iperf3 -c -u -b 0 -l SIZE` (received pps from
    the server side, end.sum_received);
  - sonda: `udp_transport_driver server` + `udp_transport_driver stream
    target=...` (received pps measured by the sonda server, which reports it
    over its TCP control port), with gso=auto (on for loopback) and gso=off;
then a paced run at half of sonda's measured maximum and reports sonda's
self-inflicted loss there (and iperf3's at the same rate, for reference).

Both tools run as two processes (sender, receiver) on the same cores. The
host is shared and noisy: use --repeat N to take the median of N runs.

Usage: tools/udp_vs_iperf3.py [--build build] [--duration 3] [--repeat 1]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now (ours to use)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


def run_iperf3(size: int, duration: float, bits_per_sec: float = 0) -> dict:
    port = free_port()
    srv = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-u", "-b", str(int(bits_per_sec)),
                              "-l", str(size), "-t", str(duration), "--json"],
                             capture_output=True, text=True, timeout=duration + 30, check=False).stdout
    finally:
        try:
            srv.wait(timeout=5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
    end = json.loads(out)["end"]
    rx = end["sum_received"]
    sent = end["sum_sent"]["packets"]
    received = rx["bytes"] / size
    return {"received_pps": received / rx["seconds"], "sent": sent,
            "loss_ratio": (sent - received) / sent if sent else 0.0}


def run_sonda(driver: str, size: int, duration: float, rate: dict, gso: str) -> dict:
    port = free_port()
    srv = subprocess.Popen([driver, "server", json.dumps({"listen": f"127.0.0.1:{port}", "interval": 10**9})],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = srv.stderr.readline()  # "ready {...}"
        if not line.startswith("ready"):
            raise RuntimeError(f"sonda server did not start: {line}")
        params = {"target": f"127.0.0.1:{port}", "size": size, "rate": rate,
                  "duration": int(duration * 1e9), "gso": gso}
        out = subprocess.run([driver, "stream", json.dumps(params)], capture_output=True, text=True,
                             timeout=duration + 60, check=False).stdout
    finally:
        srv.terminate()
        srv.communicate(timeout=10)
    rec = json.loads(out)
    rx = rec["receiver"]
    return {"received_pps": rx["packets_per_sec"], "sent": rec["sender"]["sent"],
            "loss_ratio": rx["loss_ratio"], "rate_held": rec["sender"]["rate_held"]}


def median_of(runs: list, key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--build", default=os.path.join(root, "build"))
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    driver = os.path.join(args.build, "bin", "udp_transport_driver")
    if not os.access(driver, os.X_OK):
        print(f"no driver at {driver}; build target udp_transport_driver", file=sys.stderr)
        return 2
    if shutil.which("iperf3") is None:
        print("iperf3 not installed", file=sys.stderr)
        return 2
    version = subprocess.run(["iperf3", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"# sonda udp_transport vs {version}, loopback, {args.duration:g} s per run, median of {args.repeat}")
    print(f"# load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    unlimited = {"unlimited": True}
    failed = False
    for size in (64, 1400):
        ip = [run_iperf3(size, args.duration) for _ in range(args.repeat)]
        so = [run_sonda(driver, size, args.duration, unlimited, "auto") for _ in range(args.repeat)]
        nogso = [run_sonda(driver, size, args.duration, unlimited, "off") for _ in range(args.repeat)]
        ip_pps, so_pps, nogso_pps = (median_of(x, "received_pps") for x in (ip, so, nogso))
        goal = 3.0 if size == 64 else 2.0
        ratio = so_pps / ip_pps if ip_pps else float("inf")
        print(f"{size:5d} B unlimited  received pps: iperf3 {ip_pps:12.0f}  sonda {so_pps:12.0f} "
              f"(gso off {nogso_pps:12.0f})  ratio {ratio:6.2f}x (gso off {nogso_pps / ip_pps:5.2f}x)  "
              f"goal >= {goal:g}x {'OK' if ratio >= goal else 'MISSED'}")
        failed |= ratio < goal
        half = so_pps / 2
        paced = [run_sonda(driver, size, args.duration, {"packets_per_sec": half}, "auto")
                 for _ in range(args.repeat)]
        ip_paced = [run_iperf3(size, args.duration, half * size * 8) for _ in range(args.repeat)]
        loss = median_of(paced, "loss_ratio")
        print(f"{size:5d} B paced at half max ({half:.0f} pps): sonda loss {loss * 100:.4f}% "
              f"(received {median_of(paced, 'received_pps'):.0f} pps, rate held "
              f"{all(p['rate_held'] for p in paced)}), iperf3 at the same rate loss "
              f"{median_of(ip_paced, 'loss_ratio') * 100:.4f}%  goal <= 0.1% {'OK' if loss <= 0.001 else 'MISSED'}")
        failed |= loss > 0.001
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
