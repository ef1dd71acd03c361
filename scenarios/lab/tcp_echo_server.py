#!/usr/bin/env python3
"""TCP echo server for the sonda lab (practica 1): returns every byte it receives.

One thread per client, like the lab's original exercise. Stops cleanly on
SIGTERM/SIGINT.
"""
import argparse
import signal
import socket
import sys
import threading


def serve_client(conn: socket.socket, peer) -> None:
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                conn.sendall(data)
            except OSError:
                return


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=10000)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        srv.bind((args.host, args.port))
    except OSError as e:
        print(f"tcp_echo_server: bind {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 1
    srv.listen(128)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"tcp echo server listening on {args.host}:{args.port}", flush=True)
    try:
        while True:
            conn, peer = srv.accept()
            threading.Thread(target=serve_client, args=(conn, peer), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
