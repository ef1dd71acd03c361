#!/usr/bin/env python3
"""UDP echo server for the sonda lab (practica 1): sends every datagram back to its sender."""
import argparse
import signal
import socket
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=10000)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((args.host, args.port))
    except OSError as e:
        print(f"udp_echo_server: bind {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"udp echo server listening on {args.host}:{args.port}", flush=True)
    try:
        while True:
            data, peer = sock.recvfrom(65536)
            sock.sendto(data, peer)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
