#!/usr/bin/env python3
"""Echo client for the sonda lab: sends N messages over TCP or UDP, checks each
echo and prints round-trip statistics (the lab's hand-run client).

  echo_client.py tcp 127.0.0.1 10000 --count 1000 --size 64
  echo_client.py udp 127.0.0.1 10000 --count 1000 --size 64 --timeout 0.5
"""
import argparse
import json
import os
import socket
import statistics
import sys
import time


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    return bytes(buf)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("protocol", choices=["tcp", "udp"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=1.0, help="seconds per reply")
    ap.add_argument("--json", action="store_true", help="print the statistics as JSON")
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    kind = socket.SOCK_STREAM if args.protocol == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    sock.settimeout(args.timeout)
    sock.connect((args.host, args.port))
    if args.protocol == "tcp":
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    rtts_us, lost, corrupt = [], 0, 0
    for i in range(args.count):
        payload = i.to_bytes(8, "big") + os.urandom(max(0, args.size - 8))
        t0 = time.monotonic_ns()
        try:
            if args.protocol == "tcp":
                sock.sendall(payload)
                reply = recv_exact(sock, len(payload))
            else:
                sock.send(payload)
                reply = sock.recv(65536)
                while reply[:8] != payload[:8] and int.from_bytes(reply[:8], "big") < i:
                    reply = sock.recv(65536)  # a late reply to an earlier request
        except socket.timeout:
            lost += 1
            continue
        rtts_us.append((time.monotonic_ns() - t0) / 1000.0)
        if reply != payload:
            corrupt += 1
    sock.close()

    stats = {"protocol": args.protocol, "target": f"{args.host}:{args.port}", "sent": args.count,
             "received": len(rtts_us), "lost": lost, "corrupt": corrupt}
    if rtts_us:
        q = statistics.quantiles(rtts_us, n=100) if len(rtts_us) > 1 else [rtts_us[0]] * 99
        stats.update(rtt_min_us=min(rtts_us), rtt_mean_us=statistics.fmean(rtts_us),
                     rtt_p50_us=q[49], rtt_p99_us=q[98], rtt_max_us=max(rtts_us))
    if args.json:
        print(json.dumps(stats))
    else:
        for k, v in stats.items():
            print(f"{k:>12}: {v:.1f}" if isinstance(v, float) else f"{k:>12}: {v}")
    return 0 if lost == 0 and corrupt == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
