#!/usr/bin/env python3
"""Peer benchmark for proc_scanner: sonda's scan vs ss, netstat and lsof.

Makes ~19000 loopback sockets in a child process (TCP listeners, established
pairs, UDP bound and connected) on a private 127.X.Y.0/24 address, then, in
ONE invocation, times (wall and CPU) `proc_scan` (the proc_scanner engine
with owners, JSON on stdout; once without and once with service
identification) against `ss -tuanp`,
`netstat -tuanp` and `lsof -i -n -P`, interleaving the tools run by run.
Prints median wall and CPU times and the RATIOS sonda/peer (CPU is the
steadier figure on shared cores), and checks that every
tool reports the identical set of (protocol, local, remote, state, owner
pid) for the zoo's sockets. Exit status 1 when the sets differ.

    tools/proc_vs_ss.py [--sockets 19000] [--runs 7] [--proc-scan build/bin/proc_scan] [--procfs-owners]
"""
import argparse
import glob
import json
import os
import re
import resource
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import time


def find_proc_scan(explicit):
    if explicit:
        return explicit
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = sorted(glob.glob(os.path.join(here, "..", "build*", "bin", "proc_scan")),
                        key=os.path.getmtime, reverse=True)
    if not candidates:
        sys.exit("proc_scan not found; build it (target proc_scan) or pass --proc-scan")
    return os.path.abspath(candidates[0])


class SocketZoo:
    """Sockets on 127.X.Y.1 (servers) and 127.X.Y.2 (clients), X.Y from the pid."""

    def __init__(self, total):
        pid = os.getpid()
        self.prefix = "127.%d.%d." % (20 + pid % 200, (pid // 200) % 250)
        self.server, self.client = self.prefix + "1", self.prefix + "2"
        self.keep = []
        udp_bound, udp_connected, listeners = total // 40, total // 40, 50
        pairs = (total - udp_bound - udp_connected - listeners) // 2
        lst = []
        for _ in range(listeners):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((self.server, 0))
            s.listen(4096)
            lst.append(s)
        self.keep += lst
        for i in range(pairs):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.bind((self.client, 0))
            c.connect(lst[i % listeners].getsockname())
            a, _ = lst[i % listeners].accept()
            self.keep += [c, a]
        udp = []
        for _ in range(udp_bound):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((self.server, 0))
            udp.append(u)
        self.keep += udp
        for i in range(udp_connected):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((self.client, 0))
            u.connect(udp[i % len(udp)].getsockname())
            self.keep.append(u)

    def close(self):
        """Closes with RST (SO_LINGER 0): no TIME_WAIT is left behind to
        inflate the next run's socket table."""
        linger = struct.pack("ii", 1, 0)
        for s in self.keep:
            if s.type == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            s.close()
        self.keep = []

    def ours(self, local):
        return local.startswith(self.prefix)


class ZooProcess:
    """A SocketZoo held by a child process. The timed tools are started from
    this (parent) process: were the sockets its own, every tool's start
    would include the forked child closing ~19 000 inherited socket fds
    before exec (~4 ms measured), which is this script's cost, not the
    tool's, and weighs most on the fastest tool."""

    def __init__(self, total):
        ready_r, ready_w = os.pipe()
        stop_r, stop_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: build, report, hold until told
            os.close(ready_r)
            os.close(stop_w)
            code = 0
            try:
                zoo = SocketZoo(total)
                os.write(ready_w, b"%d\n" % len(zoo.keep))
                os.read(stop_r, 1)
                zoo.close()
            except BaseException:  # noqa: B902 - report anything, then leave
                code = 1
            os._exit(code)
        os.close(ready_w)
        os.close(stop_r)
        self._stop = stop_w
        line = os.read(ready_r, 64)
        os.close(ready_r)
        if not line.strip():
            os.waitpid(self.pid, 0)
            sys.exit("the socket zoo process failed to build its sockets")
        self.count = int(line)
        # SocketZoo derived its prefix from its own (the child's) pid.
        self.prefix = "127.%d.%d." % (20 + self.pid % 200, (self.pid // 200) % 250)

    def close(self):
        os.write(self._stop, b"x")
        os.close(self._stop)
        os.waitpid(self.pid, 0)

    def ours(self, local):
        return local.startswith(self.prefix)


def endpoint(text):
    text = re.sub(r"%[^:]+", "", text)
    if text.endswith(":*"):
        text = text[:-1] + "0"
    return "0.0.0.0:0" if text == "*:0" else text


def rows_proc_scan(out, zoo):
    rows = set()
    for s in json.loads(out)["sockets"]:
        local = "%s:%d" % (s["local"]["address"], s["local"]["port"])
        if not zoo.ours(local):
            continue
        remote = "%s:%d" % (s["remote"]["address"], s["remote"]["port"])
        pids = [o["pid"] for o in s["owners"]] or [0]
        for pid in pids:
            rows.add((s["protocol"], local, remote, s["state"], pid))
    return rows


SS_STATES = {"ESTAB": "ESTABLISHED", "TIME-WAIT": "TIME_WAIT", "SYN-SENT": "SYN_SENT",
             "SYN-RECV": "SYN_RECV", "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2",
             "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK"}


def rows_ss(out, zoo):
    rows = set()
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) < 6:
            continue
        proto, state, local, remote = f[0], f[1], endpoint(f[4]), endpoint(f[5])
        if not zoo.ours(local):
            continue
        state = SS_STATES.get(state, state)
        if state == "UNCONN" and proto == "tcp":
            state = "CLOSE"
        pids = [int(p) for p in re.findall(r"pid=(\d+)", line)] or [0]
        for pid in pids:
            rows.add((proto, local, remote, state, pid))
    return rows


def rows_netstat(out, zoo):
    rows = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) < 6 or f[0] not in ("tcp", "udp"):
            continue
        proto, local, remote = f[0], endpoint(f[3]), endpoint(f[4])
        if not zoo.ours(local):
            continue
        if proto == "udp":
            state = "ESTABLISHED" if f[5] == "ESTABLISHED" else "UNCONN"
        else:
            state = f[5]
        owner = f[-1]
        pid = int(owner.split("/")[0]) if owner[0].isdigit() else 0
        rows.add((proto, local, remote, state, pid))
    return rows


def rows_lsof(out, zoo):
    rows = set()
    for line in out.splitlines()[1:]:
        line = line.rstrip()  # lsof pads the NAME column of unconnected UDP
        m = re.match(r"\S+\s+(\d+)\s.*\s(TCP|UDP)\s+(\S+?)(?:->(\S+))?(?:\s+\((\w+)\))?$", line)
        if not m:
            continue
        pid, proto, local, remote, state = m.groups()
        if not zoo.ours(local):
            continue
        proto = proto.lower()
        if proto == "udp":
            state = "ESTABLISHED" if remote else "UNCONN"
        rows.add((proto, local, endpoint(remote or "0.0.0.0:*"), state, int(pid)))
    return rows


def timed_run(cmd):
    """Runs cmd with stdout to /dev/null: the tool still formats every byte,
    but no reader is measured. (A Python pipe reader charged the tool with
    the larger output for this script's own work: ~140 ms with text=True,
    and ~12 us per fresh page of a growing bytes object on these VMs.)"""
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def captured_run(cmd):
    """Runs cmd once more, untimed, for its output."""
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          check=False).stdout.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sockets", type=int, default=19000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--proc-scan")
    ap.add_argument("--procfs-owners", action="store_true",
                    help="also time sonda with the /proc walk instead of BPF for owners")
    args = ap.parse_args()
    need = args.sockets + 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))

    proc_scan = find_proc_scan(args.proc_scan)
    # "sonda scan" is the like-for-like row for ss -tuanp: sockets with their
    # owners, no service identification. "sonda scan+identify" is the
    # scan action's default (catalog + /etc/services for every listener).
    sonda_rows = [("sonda scan", [proc_scan, "--sockets-only"], rows_proc_scan),
                  ("sonda scan+identify", [proc_scan], rows_proc_scan)]
    if args.procfs_owners:
        sonda_rows.append(("sonda scan procfs", [proc_scan, "--sockets-only",
                                                 '{"owner_source":"procfs"}'], rows_proc_scan))
    peers = [("ss -tuanp", ["ss", "-tuanp"], rows_ss),
             ("netstat -tuanp", ["netstat", "-tuanp"], rows_netstat),
             ("lsof -i -n -P", ["lsof", "-i", "-n", "-P"], rows_lsof)]
    peers = [t for t in peers if shutil.which(t[1][0])]
    tools = sonda_rows + peers
    owner_source = json.loads(subprocess.run([proc_scan, "--sockets-only", '{"port":1}'],
                                             stdout=subprocess.PIPE, text=True,
                                             check=True).stdout).get("owner_source")
    print("sonda owner lookup: %s" % owner_source)

    t0 = time.perf_counter()
    zoo = ZooProcess(args.sockets)
    print("made %d sockets on %s0/24 in %.1fs (held by pid %d)" %
          (zoo.count, zoo.prefix, time.perf_counter() - t0, zoo.pid))

    times = {name: [] for name, _, _ in tools}
    cpu = {name: [] for name, _, _ in tools}
    outputs = {}
    for run in range(args.runs):
        for name, cmd, _ in tools:  # interleaved: load drifts hit every tool alike
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            timed_run(cmd)
            times[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU time of the tool itself: robust when other jobs share the cores.
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

    for name, cmd, _ in tools:
        outputs[name] = captured_run(cmd)
    sets = {name: parse(outputs[name], zoo) for name, _, parse in tools}
    ours = sets["sonda scan"]
    print("\n%-20s %9s %9s %9s %9s %10s" % ("tool", "median_s", "min_s", "cpu_s", "sockets",
                                           "identical"))
    ok = True
    for name, _, _ in tools:
        same = sets[name] == ours
        ok = ok and same
        print("%-20s %9.4f %9.4f %9.4f %9d %10s" %
              (name, statistics.median(times[name]), min(times[name]),
               statistics.median(cpu[name]), len(sets[name]), "yes" if same else "NO"))
        if not same:
            for label, diff in (("only sonda", ours - sets[name]), ("only " + name, sets[name] - ours)):
                for row in sorted(diff)[:5]:
                    print("    %s: %s" % (label, row))
    print("\nratios sonda / peer (median wall, median CPU; below 1 = sonda faster):")
    for sname, _, _ in sonda_rows:
        for pname, _, _ in peers:
            print("  %-20s vs %-16s wall %6.3f   cpu %6.3f" %
                  (sname, pname, statistics.median(times[sname]) / statistics.median(times[pname]),
                   statistics.median(cpu[sname]) / statistics.median(cpu[pname])))
    print("\nsockets owned by the zoo process: %d rows (%d expected)" % (len(ours), zoo.count))
    zoo.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
