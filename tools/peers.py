#!/usr/bin/env python3
"""sonda against its peers, through the product path (`sonda run`), in one invocation.

Every comparison runs sonda as a user does: a generated one- or two-step
scenario, `sonda run`, figures read back from run.json. Peers run at their
best flags, alternated with sonda pair by pair (the order flips every pair),
so drift in this machine's loopback speed hits both alike; figures are
medians over pairs.

  work         peer                                        sonda scenario
  tcp_stream   iperf3 -l 1M | -l 1M -w 4M | -l 1M -Z |      tcp_transport.server (sink) + .stream, defaults
               -l 128K | -l 64K (best of 5)
               tools/tcp_ceiling.c (copy-path ceiling)       labelled options against the ceiling:
                                                           zerocopy, recv_mmap, zerocopy + recv_mmap;
                                                           sendfile: false (copy) against iperf3's copying modes
  tcp_rr       sockperf ping-pong --tcp -m 64               tcp_transport.server (echo) + .rr
  udp_rr       sockperf ping-pong -m 64                     udp_transport.server (echo) + .rr
  udp_stream   iperf3 -u -b 0 -l 1400                       udp_transport.server + .stream rate unlimited
  scan         ss -tuanp over ~19 000 sockets               proc_scanner.scan (one step, results written)
  runner       iface_scan_once (bare plugin call)           one-step iface_scanner.scan

Load: measure on an idle machine. The script waits up to --wait seconds for
the 1-minute load average to fall below 1.0, prints it before and after
every section, and gives no verdict when it was 1.0 or more before the first
section unless --force (during the run the average counts the measurement's
own sender and receiver). --write puts the table, machine, kernel, date and commit into
docs/PERFORMANCE.md.

  tools/peers.sh [--build build] [--pairs 8] [--rr-pairs 16] [--duration 2] [--only tcp_stream,scan] [--force] [--write]
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

SECTIONS = ["tcp_stream", "tcp_rr", "udp_rr", "udp_stream", "scan", "runner"]


def load1():
    return os.getloadavg()[0]


def free_port():
    """A port free for TCP and UDP on 127.0.0.1 and on the v6 wildcard (iperf3, sockperf)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET6) as s:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def wait_listening(port, proc, proto="t", timeout=30):
    """Waits until the socket table shows a socket on port (never a probing connect)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        if subprocess.run(["ss", f"-Hl{proto}n", f"sport = :{port}"], capture_output=True,
                          text=True).stdout.strip():
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listening on port {port} after {timeout} s")


class Sonda:
    """Runs generated scenarios through `sonda run` and reads run.json back."""

    def __init__(self, build):
        self.bin = os.path.join(build, "bin", "sonda")
        if not os.access(self.bin, os.X_OK):
            sys.exit(f"peers: {self.bin} missing; build first (tools/setup.sh build)")
        self.tmp = tempfile.mkdtemp(prefix="sonda-peers-")
        self.n = 0

    def run(self, yaml_text):
        """Returns (run.json, wall seconds of the whole `sonda run` process)."""
        self.n += 1
        path = os.path.join(self.tmp, f"s{self.n}.yaml")
        with open(path, "w") as f:
            f.write(yaml_text)
        out = os.path.join(self.tmp, "out")
        t0 = time.perf_counter()
        p = subprocess.run([self.bin, "-q", "run", path, "-o", out], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        name = re.search(r"^name: (\S+)", yaml_text, re.M).group(1)
        run_json = os.path.join(out, name, "latest", "run.json")
        if p.returncode != 0:
            raise RuntimeError(f"sonda run failed ({p.returncode}): {p.stderr.strip()[-400:]}")
        with open(run_json) as f:
            j = json.load(f)
        for s in j["steps"]:  # records of 1 MiB or more are files of their own
            if "record_file" in s and "record" not in s:
                with open(os.path.join(os.path.dirname(run_json), s["record_file"])) as f:
                    s["record"] = json.load(f)
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)
        return j, wall

    def record(self, yaml_text, step):
        j, wall = self.run(yaml_text)
        for s in j["steps"]:
            if s["id"] == step:
                if s["status"] != "ok":
                    raise RuntimeError(f"step {step}: {s['status']}: {s.get('reason')}")
                return s["record"], wall
        raise RuntimeError(f"no step {step} in run.json")

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def alternate(pairs, runners):
    """runners: {name: fn() -> dict}. Each pair runs every runner once; the
    order is reversed every other pair. Returns {name: [results]}."""
    names = list(runners)
    out = {n: [] for n in names}
    for i in range(pairs):
        order = names if i % 2 == 0 else list(reversed(names))
        for n in order:
            out[n].append(runners[n]())
    return out


# --- tcp_stream --------------------------------------------------------------

def iperf3_tcp(duration, extra):
    for attempt in range(5):
        port = free_port()
        srv = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            wait_listening(port, srv)
            out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(duration), "-J"] + extra,
                                 capture_output=True, text=True).stdout
            res = json.loads(out)
            if "error" not in res:
                end = res["end"]
                cpu = end["cpu_utilization_percent"]
                secs = end["sum_received"]["seconds"]
                cpu_s = (cpu["host_total"] + cpu["remote_total"]) / 100 * secs
                return {"bps": end["sum_received"]["bits_per_second"],
                        "bytes_per_cpu_s": end["sum_received"]["bytes"] / cpu_s}
            print(f"  iperf3 failed (attempt {attempt + 1}): {res['error']}", file=sys.stderr)
        finally:
            srv.kill()
            srv.wait(timeout=10)
    raise RuntimeError("iperf3 failed 5 times")


def ceiling_tcp(build, duration, recv_size=65536):
    # 1 MiB sends, and reads of sonda's default recv_size (the faster reader
    # on loopback: README "Defaults"), so the ceiling is the best copy path.
    out = subprocess.run([os.path.join(build, "bin", "tcp_ceiling"), "-t", str(duration), "-r", str(recv_size)],
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    cpu = r["cpu"]["sender_s"] + r["cpu"]["receiver_s"]
    return {"bps": r["bits_per_sec"], "bytes_per_cpu_s": r["bytes"] / cpu}


def sonda_tcp_stream(sonda, duration, extra="", server_extra=""):
    rec, _ = sonda.record(f"""name: peers_tcp_stream
steps:
  - {{ id: srv, use: tcp_transport.server, with: {{ mode: sink{server_extra} }} }}
  - {{ id: s, use: tcp_transport.stream, with: {{ target: "${{srv.listen}}", duration: {duration}s{extra} }} }}
""", "s")
    cpu = rec["sent"]["cpu"]
    zc = rec.get("zerocopy", {})
    return {"bps": rec["bits_per_sec"], "retransmits": rec.get("retransmits", 0),
            "bytes_per_cpu_s": rec["bytes"] / ((cpu["sender_ns"] + cpu["receiver_ns"]) / 1e9),
            "zc_copied": zc.get("copied_by_kernel", 0), "zc_completed": zc.get("completed", 0)}


def sonda_tcp_stream_mmap(sonda, duration, extra=""):
    """A stream whose receiver (the sonda server) maps with TCP_ZEROCOPY_RECEIVE."""
    j, _ = sonda.run(f"""name: peers_tcp_stream_mmap
steps:
  - {{ id: srv, use: tcp_transport.server, with: {{ mode: sink }} }}
  - {{ id: s, use: tcp_transport.stream, with: {{ target: "${{srv.listen}}", duration: {duration}s, recv_mmap: true{extra} }} }}
""")
    steps = {s["id"]: s for s in j["steps"]}
    for sid in ("srv", "s"):
        if steps[sid]["status"] != "ok":
            raise RuntimeError(f"step {sid}: {steps[sid]['status']}: {steps[sid].get('reason')}")
    m = steps["srv"]["record"].get("mmap_receive", {})
    return {"bps": steps["s"]["record"]["bits_per_sec"], "mapped": m.get("mapped_bytes", 0),
            "copied": m.get("copied_bytes", 0), "refused": m.get("refused")}


def section_tcp_stream(sonda, args):
    d = args.duration
    runs = alternate(args.pairs, {
        "iperf3 -l 1M": lambda: iperf3_tcp(d, ["-l", "1M"]),
        "iperf3 -l 1M -w 4M": lambda: iperf3_tcp(d, ["-l", "1M", "-w", "4M"]),
        "iperf3 -l 1M -Z": lambda: iperf3_tcp(d, ["-l", "1M", "-Z"]),
        # iperf3's -l sets its reads too: its default 128K and 64K give it
        # the shorter reads sonda's receiver uses.
        "iperf3 -l 128K": lambda: iperf3_tcp(d, ["-l", "128K"]),
        "iperf3 -l 64K": lambda: iperf3_tcp(d, ["-l", "64K"]),
        "sonda": lambda: sonda_tcp_stream(sonda, d),
        "sonda zerocopy": lambda: sonda_tcp_stream(sonda, d, ", zerocopy: true"),
        # sonda's defaults send 1 MiB writes with sendfile(); its copying
        # path is measured too, against iperf3's copying modes and the ceiling.
        "sonda copy": lambda: sonda_tcp_stream(sonda, d, ", sendfile: false"),
        "sonda recv_mmap": lambda: sonda_tcp_stream_mmap(sonda, d),
        "sonda zerocopy + recv_mmap": lambda: sonda_tcp_stream_mmap(sonda, d, ", zerocopy: true"),
        "ceiling": lambda: ceiling_tcp(args.build, d),
    })
    rows = []
    peers = [n for n in runs if n.startswith("iperf3")]
    zc = runs.pop("sonda zerocopy")
    cp = runs.pop("sonda copy")
    mmap_runs = {"recv_mmap": runs.pop("sonda recv_mmap"), "zerocopy + recv_mmap": runs.pop("sonda zerocopy + recv_mmap")}
    best = max(peers, key=lambda n: med([r["bps"] for r in runs[n]]))
    # Pair by pair: sonda against the best iperf3 of the same pair.
    pair_ratios = [s["bps"] / max(runs[n][i]["bps"] for n in peers) for i, s in enumerate(runs["sonda"])]
    for n, rs in runs.items():
        print(f"  {n:20s} median {med([r['bps'] for r in rs]) / 1e9:6.2f} Gbit/s, "
              f"{med([r['bytes_per_cpu_s'] for r in rs]) / 1e9:5.2f} GB per CPU-second "
              f"(runs: {' '.join('%.1f' % (r['bps'] / 1e9) for r in rs)})")
    s_bps = med([r["bps"] for r in runs["sonda"]])
    s_eff = med([r["bytes_per_cpu_s"] for r in runs["sonda"]])
    b_bps = med([r["bps"] for r in runs[best]])
    b_eff = max(med([r["bytes_per_cpu_s"] for r in runs[n]]) for n in peers)
    c_bps = med([r["bps"] for r in runs["ceiling"]])
    print(f"  sonda retransmits per stream: median {med([r['retransmits'] for r in runs['sonda']]):.0f}")
    rows.append(("TCP stream, one connection, defaults (1 MiB writes with sendfile)", f"{best} (best of {len(peers)})",
                 f"{b_bps / 1e9:.1f} Gbit/s", f"{s_bps / 1e9:.1f} Gbit/s", s_bps / b_bps, "higher",
                 f"median of {args.pairs} pair ratios {med(pair_ratios):.2f}x"))
    rows.append(("TCP stream, bytes per CPU-second", "best iperf3", f"{b_eff / 1e9:.2f} GB/cpu-s",
                 f"{s_eff / 1e9:.2f} GB/cpu-s", s_eff / b_eff, "higher", ""))
    # The copying path against iperf3's copying modes (all but -Z), pair by pair.
    copiers = [n for n in peers if "-Z" not in n]
    cp_best = max(copiers, key=lambda n: med([r["bps"] for r in runs[n]]))
    cp_bps = med([r["bps"] for r in cp])
    cp_eff = med([r["bytes_per_cpu_s"] for r in cp])
    cp_pairs = [c["bps"] / max(runs[n][i]["bps"] for n in copiers) for i, c in enumerate(cp)]
    print(f"  sonda copy           median {cp_bps / 1e9:6.2f} Gbit/s, {cp_eff / 1e9:5.2f} GB per CPU-second "
          f"(runs: {' '.join('%.1f' % (r['bps'] / 1e9) for r in cp)})")
    rows.append(("TCP stream, `sendfile: false` (copying send, as iperf3 without -Z)", f"{cp_best} (best of {len(copiers)} copying)",
                 f"{med([r['bps'] for r in runs[cp_best]]) / 1e9:.1f} Gbit/s", f"{cp_bps / 1e9:.1f} Gbit/s",
                 cp_bps / med([r["bps"] for r in runs[cp_best]]), "higher",
                 f"median of {args.pairs} pair ratios {med(cp_pairs):.2f}x"))
    rows.append(("TCP stream, `sendfile: false` vs copy-path ceiling", "tools/tcp_ceiling.c", f"{c_bps / 1e9:.1f} Gbit/s",
                 f"{cp_bps / 1e9:.1f} Gbit/s", cp_bps / c_bps, "higher", "send 1 MiB, recv 64 KiB, two processes"))
    z_bps = med([r["bps"] for r in zc])
    copied = sum(r["zc_copied"] for r in zc)
    released = sum(r["zc_completed"] for r in zc)
    print(f"  sonda zerocopy       median {z_bps / 1e9:6.2f} Gbit/s (runs: {' '.join('%.1f' % (r['bps'] / 1e9) for r in zc)}); "
          f"the kernel copied {copied} of {released} released sends")
    rows.append(("TCP stream, `zerocopy: true` (MSG_ZEROCOPY sends), labelled option", "tools/tcp_ceiling.c",
                 f"{c_bps / 1e9:.1f} Gbit/s", f"{z_bps / 1e9:.1f} Gbit/s", z_bps / c_bps, "higher",
                 f"kernel copied {copied} of {released} sends (loopback: the receiver is local)"))
    for label, rs in mmap_runs.items():
        m_bps = med([r["bps"] for r in rs])
        mapped = sum(r["mapped"] for r in rs)
        total = mapped + sum(r["copied"] for r in rs)
        refused = next((r["refused"] for r in rs if r["refused"]), None)
        share = f"{100 * mapped / total:.0f} %" if total else "n/a"
        print(f"  sonda {label:20s} median {m_bps / 1e9:6.2f} Gbit/s (runs: {' '.join('%.1f' % (r['bps'] / 1e9) for r in rs)}); "
              f"the kernel mapped {share} of the bytes received" + (f"; refused: {refused}" if refused else ""))
        rows.append((f"TCP stream, `{label.replace('zerocopy', 'zerocopy: true').replace('recv_mmap', 'recv_mmap: true')}` "
                     "(TCP_ZEROCOPY_RECEIVE), labelled option", "tools/tcp_ceiling.c", f"{c_bps / 1e9:.1f} Gbit/s",
                     f"{m_bps / 1e9:.1f} Gbit/s", m_bps / c_bps, "higher",
                     f"kernel mapped {share} of the received bytes, copied the rest" +
                     (f" (refused: {refused})" if refused else "")))
    return rows


# --- request/response ----------------------------------------------------------

def sockperf_pp(duration, udp):
    port = free_port()
    proto = [] if udp else ["--tcp"]
    srv = subprocess.Popen(["sockperf", "server"] + proto + ["-i", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, srv, "u" if udp else "t")
        out = subprocess.run(["sockperf", "ping-pong"] + proto + ["-i", "127.0.0.1", "-p", str(port), "-m", "64",
                                                                   "-t", str(max(1, round(duration))), "--full-rtt"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        srv.kill()
        srv.wait(timeout=10)
    pct = {float(m.group(1)): float(m.group(2)) * 1e3
           for m in re.finditer(r"percentile\s+([\d.]+)\s*=\s*([\d.]+)", out)}
    return {"p50": pct[50.0], "p99": pct[99.0]}


def sonda_rr(sonda, duration, plugin):
    mode = "echo"
    warm = ", warmup: 400ms"  # sockperf sends warm-up messages first and leaves them out
    target = "${srv.listen}" if plugin == "tcp_transport" else "127.0.0.1:${srv.port}"
    rec, _ = sonda.record(f"""name: peers_{plugin}_rr
steps:
  - {{ id: srv, use: {plugin}.server, with: {{ listen: "127.0.0.1:0", mode: {mode} }} }}
  - {{ id: rr, use: {plugin}.rr, with: {{ target: "{target}", duration: {duration}s{warm} }} }}
""", "rr")
    lat = rec["latency"]
    return {"p50": lat["p50_ns"], "p99": lat["p99_ns"]}


def quartiles(xs):
    """The middle half of xs: (first quartile, third quartile)."""
    if len(xs) < 4:
        return (min(xs), max(xs))
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return (q[0], q[2])


def section_rr(sonda, args, udp):
    plugin = "udp_transport" if udp else "tcp_transport"
    name = "UDP" if udp else "TCP"
    # A p99 of one 2 s run moves by +-5 % from run to run on this kind of VM,
    # as much as the gap being judged: RR takes more pairs (--rr-pairs), and
    # its verdict reads the spread of the pair-by-pair ratios, not only
    # the ratio of the medians.
    runs = alternate(max(args.pairs, args.rr_pairs), {
        "sockperf": lambda: sockperf_pp(args.duration, udp),
        "sonda": lambda: sonda_rr(sonda, args.duration, plugin),
    })
    for n, rs in runs.items():
        print(f"  {n:10s} p50 {med([r['p50'] for r in rs]) / 1e3:6.1f} us  p99 {med([r['p99'] for r in rs]) / 1e3:6.1f} us")
    rows = []
    for p in ("p50", "p99"):
        peer = med([r[p] for r in runs["sockperf"]])
        ours = med([r[p] for r in runs["sonda"]])
        pairs = [o[p] / q[p] for o, q in zip(runs["sonda"], runs["sockperf"])]
        lo, hi = quartiles(pairs)
        print(f"  {p} pair ratios: {' '.join('%.2f' % r for r in pairs)}")
        rows.append((f"{name} RR 64 B, round trip {p}", "sockperf ping-pong" + ("" if udp else " --tcp"),
                     f"{peer / 1e3:.1f} us", f"{ours / 1e3:.1f} us", ours / peer, "lower",
                     f"{len(pairs)} pairs: pair ratios median {med(pairs):.2f}x, middle half {lo:.2f}-{hi:.2f}x",
                     (lo, hi)))
    return rows


# --- udp_stream ----------------------------------------------------------------

def iperf3_udp(duration, size=1400):
    import udp_vs_iperf3  # its iperf3 -u runner, the one the pps comparison has always used

    return {"pps": udp_vs_iperf3.run_iperf3(size, duration)["received_pps"]}


def sonda_udp_stream(sonda, duration, gso):
    rec, _ = sonda.record(f"""name: peers_udp_stream
steps:
  - {{ id: srv, use: udp_transport.server, with: {{ listen: "127.0.0.1:0" }} }}
  - {{ id: s, use: udp_transport.stream, with: {{ target: "127.0.0.1:${{srv.port}}", rate: unlimited,
       duration: {duration}s, gso: {gso} }} }}
""", "s")
    return {"pps": rec["receiver"]["packets_per_sec"]}


def section_udp_stream(sonda, args):
    runs = alternate(args.pairs, {
        "iperf3 -u -b 0 -l 1400": lambda: iperf3_udp(args.duration),
        "sonda gso off": lambda: sonda_udp_stream(sonda, args.duration, "off"),
        "sonda defaults": lambda: sonda_udp_stream(sonda, args.duration, "auto"),
    })
    for n, rs in runs.items():
        print(f"  {n:24s} received {med([r['pps'] for r in rs]) / 1e3:8.0f} kpps")
    peer = med([r["pps"] for r in runs["iperf3 -u -b 0 -l 1400"]])
    rows = []
    for n, label in (("sonda gso off", "GSO off (like iperf3)"), ("sonda defaults", "defaults (GSO auto)")):
        ours = med([r["pps"] for r in runs[n]])
        rows.append((f"UDP stream 1400 B, received pps, {label}", "iperf3 -u -b 0 -l 1400",
                     f"{peer / 1e3:.0f} kpps", f"{ours / 1e3:.0f} kpps", ours / peer, "higher", ""))
    return rows


# --- scan ----------------------------------------------------------------------

def section_scan(sonda, args):
    import proc_vs_ss  # the socket zoo of the scan comparison

    zoo = proc_vs_ss.ZooProcess(args.sockets)
    try:
        print(f"  socket zoo: {zoo.count} sockets held by pid {zoo.pid}")
        yaml_text = """name: peers_scan
steps:
  - { id: scan, use: proc_scanner.scan }
"""
        proc_scan = os.path.join(args.build, "bin", "proc_scan")

        def ss():
            t0 = time.perf_counter()
            subprocess.run(["ss", "-tuanp"], stdout=subprocess.DEVNULL, check=True)
            return {"s": time.perf_counter() - t0}

        def ours():
            j, wall = sonda.run(yaml_text)
            step = next(s for s in j["steps"] if s["id"] == "scan")
            return {"s": wall, "step_s": step["duration_ns"] / 1e9, "sockets": len(step["record"].get("sockets", []))}

        def bare():
            t0 = time.perf_counter()
            subprocess.run([proc_scan], stdout=subprocess.DEVNULL, check=True)
            return {"s": time.perf_counter() - t0}

        runs = alternate(max(args.pairs, 5), {"ss -tuanp": ss, "sonda run": ours, "proc_scan": bare})
    finally:
        zoo.close()
    for n, rs in runs.items():
        print(f"  {n:10s} median {med([r['s'] for r in rs]) * 1e3:7.1f} ms")
    s = med([r["s"] for r in runs["sonda run"]])
    print(f"  sonda run: step itself {med([r['step_s'] for r in runs['sonda run']]) * 1e3:.1f} ms, "
          f"{runs['sonda run'][0]['sockets']} sockets in the record")
    peer = med([r["s"] for r in runs["ss -tuanp"]])
    bare_s = med([r["s"] for r in runs["proc_scan"]])
    count = runs["sonda run"][0]["sockets"]
    return [(f"one scan of {count} sockets with owners, end to end", "ss -tuanp", f"{peer * 1e3:.0f} ms",
             f"{s * 1e3:.0f} ms", s / peer, "lower", f"proc_scan alone {bare_s * 1e3:.0f} ms")]


# --- runner --------------------------------------------------------------------

def section_runner(sonda, args):
    yaml_text = """name: peers_runner
steps:
  - { id: ifaces, use: iface_scanner.scan, with: { include_down: true } }
"""
    once = os.path.join(args.build, "bin", "iface_scan_once")

    def bare():
        t0 = time.perf_counter()
        subprocess.run([once], stdout=subprocess.DEVNULL, check=True)
        return {"s": time.perf_counter() - t0}

    def ours():
        _, wall = sonda.run(yaml_text)
        return {"s": wall}

    runs = alternate(max(args.pairs, 10), {"iface_scan_once": bare, "sonda run": ours})
    b = med([r["s"] for r in runs["iface_scan_once"]])
    s = med([r["s"] for r in runs["sonda run"]])
    print(f"  iface_scan_once {b * 1e3:.1f} ms, sonda run {s * 1e3:.1f} ms, overhead {(s - b) * 1e3:.1f} ms")
    return [("one-step scenario (iface scan), end to end", "bare plugin call (iface_scan_once)",
             f"{b * 1e3:.1f} ms", f"{s * 1e3:.1f} ms", s / b, "lower", f"runner overhead {(s - b) * 1e3:.1f} ms")]


# --- output ----------------------------------------------------------------------

def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return {"cpu": f"{os.cpu_count()} x {cpu}", "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit + (" (with local changes)" if dirty else ""),
            "iperf3": subprocess.run(["iperf3", "--version"], capture_output=True, text=True).stdout.split("\n")[0],
            "sockperf": re.sub(r"\s+", " ", subprocess.run(["sockperf", "--version"], capture_output=True,
                                                           text=True).stdout.strip().split("\n")[0])}


def verdict(ratio, better, load_ok, spread=None):
    """spread: the middle half of the pair-by-pair ratios, where a row has
    them; a spread that holds 1.0 means the two are level within the
    measurement's own noise, whichever side the ratio of medians fell."""
    if not load_ok:
        return "no verdict (load >= 1)"
    if spread is not None and spread[0] <= 1.0 <= spread[1]:
        return "level (within the pairs' spread)"
    good = ratio >= 1.0 if better == "higher" else ratio <= 1.0
    return "ahead" if good else "behind"


def table(rows):
    head = "| work | peer | peer figure | sonda figure | sonda / peer | verdict | note |\n|---|---|---|---|---|---|---|\n"
    return head + "".join(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | **{r[4]:.2f}×** ({r[5]} is better) | {r[7]} | {r[6]} |\n"
                          for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--pairs", type=int, default=8, help="alternated pairs per comparison")
    ap.add_argument("--rr-pairs", type=int, default=16, help="alternated pairs for the RR sections")
    ap.add_argument("--duration", type=float, default=2.0, help="seconds per traffic run")
    ap.add_argument("--sockets", type=int, default=19000)
    ap.add_argument("--only", default=",".join(SECTIONS))
    ap.add_argument("--wait", type=float, default=120, help="seconds to wait for load < 1.0 first")
    ap.add_argument("--force", action="store_true", help="give verdicts even above load 1.0")
    ap.add_argument("--write", action="store_true", help="write docs/PERFORMANCE.md")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    wanted = [s for s in args.only.split(",") if s]
    for s in wanted:
        if s not in SECTIONS:
            sys.exit(f"peers: unknown section '{s}'; sections: {', '.join(SECTIONS)}")
    for tool in ("iperf3", "sockperf", "ss"):
        if shutil.which(tool) is None:
            sys.exit(f"peers: {tool} not found (apt-get install iperf3 sockperf iproute2)")
    waited = 0.0
    while load1() >= 1.0 and waited < args.wait:
        if waited == 0:
            print(f"load {load1():.2f}: waiting up to {args.wait:.0f} s for the machine to be idle")
        time.sleep(5)
        waited += 5
    start_load = load1()
    m = machine()
    print(f"{m['cpu']}, kernel {m['kernel']}, commit {m['commit']}, {m['date']}")
    sonda = Sonda(args.build)
    rows = []
    loads = []
    try:
        for s in wanted:
            before = load1()
            print(f"== {s} (load {before:.2f})")
            if s == "tcp_stream":
                got = section_tcp_stream(sonda, args)
            elif s == "tcp_rr":
                got = section_rr(sonda, args, udp=False)
            elif s == "udp_rr":
                got = section_rr(sonda, args, udp=True)
            elif s == "udp_stream":
                got = section_udp_stream(sonda, args)
            elif s == "scan":
                got = section_scan(sonda, args)
            else:
                got = section_runner(sonda, args)
            after = load1()
            # The 1-minute average soon counts this script's own sender and
            # receiver (two busy processes on a 2-core machine), so the gate
            # is the load before the first section: nothing else was running.
            ok = args.force or start_load < 1.0
            loads.append((s, before, after))
            for r in got:
                spread = r[7] if len(r) > 7 else None
                rows.append(r[:7] + (verdict(r[4], r[5], ok, spread),))
            print(f"   load after {after:.2f}")
    finally:
        sonda.close()
    print()
    print(table(rows))
    load_text = f"at start {start_load:.2f}; " + ", ".join(f"{s} {b:.2f}→{a:.2f}" for s, b, a in loads)
    print(f"load average (1 min) before→after each section: {load_text}")
    if args.write:
        path = os.path.join(ROOT, "docs", "PERFORMANCE.md")
        with open(path, "w") as f:
            f.write("# sonda against its peers\n\n"
                    "Written by `tools/peers.sh --write` (do not edit by hand). Every sonda figure is taken through\n"
                    "`sonda run` of a generated scenario, results written, alternated pair by pair with the peer\n"
                    f"in one invocation; figures are medians of {args.pairs} pairs of {args.duration:g} s runs\n"
                    f"({max(args.pairs, args.rr_pairs)} pairs for request/response).\n\n")
            f.write(f"- machine: {m['cpu']}\n- kernel: {m['kernel']}\n- date: {m['date']}\n- commit: {m['commit']}\n"
                    f"- peers: {m['iperf3']}; {m['sockperf']}\n- load average (1 min) before→after each section: "
                    f"{load_text}\n\n")
            f.write(table(rows))
            f.write("\nVerdicts are given only when the load average was below 1.0 before the first section (the\n"
                    "average then climbs with the measurement's own two busy processes; it is printed per section)"
                    f"; this run: {'forced' if args.force else 'not forced'}. \"level\" means the middle half of\n"
                    "the pair-by-pair ratios holds 1.0: the two differ by less than the measurement's own noise.\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
