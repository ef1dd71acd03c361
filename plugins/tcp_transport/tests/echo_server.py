#!/usr/bin/env python3
"""A TCP echo server that is not sonda, for tcp_transport's tests.

Listens on 127.0.0.1 (or --host), port 0 unless --port, prints the bound port
on stdout, then echoes every connection on its own thread. With --flip-at N
it corrupts the echo: byte N of each connection's stream comes back with its
bits inverted (a server that damages data, for the verify test). With
--buffer BYTES its sockets' send and receive buffers are fixed at that size
(so a client that stops reading stalls it quickly).
"""
import argparse
import socket
import sys
import threading


def serve(conn, flip_at):
    offset = 0
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            if flip_at is not None and offset <= flip_at < offset + len(data):
                i = flip_at - offset
                data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
            offset += len(data)
            try:
                conn.sendall(data)
            except OSError:
                return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--flip-at", type=int, default=None)
    ap.add_argument("--buffer", type=int, default=0)
    args = ap.parse_args()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.buffer > 0:  # inherited by accepted sockets
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, args.buffer)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.buffer)
    srv.bind((args.host, args.port))
    srv.listen(128)
    print(srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn, args.flip_at), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
