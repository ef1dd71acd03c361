#!/usr/bin/env python3
"""A UDP echo server that is not sonda's, for udp_transport's rr tests.

Binds --host:--port (0 = any free port), prints "PORT <n>" on stdout once
bound, then sends every datagram back to its sender. --drop-every N silently
skips the reply to every N-th request, so the test knows exactly how many
replies are lost. Exits on SIGTERM or when stdin closes (the test died).
"""
import argparse
import os
import select
import signal
import socket
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--drop-every", type=int, default=0)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    seen = 0
    while True:
        ready, _, _ = select.select([sock, sys.stdin], [], [], 1.0)
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
            return 0
        if sock not in ready:
            continue
        data, peer = sock.recvfrom(65536)
        seen += 1
        if args.drop_every and seen % args.drop_every == 0:
            continue
        sock.sendto(data, peer)


if __name__ == "__main__":
    sys.exit(main())
