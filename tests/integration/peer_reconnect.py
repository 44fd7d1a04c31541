#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run inside the fixture's namespace (whose nft rule drops FINs from ports
9000-9099; the test adds one dropping FIN and RST from the client's port).

  peer_reconnect.py kernel SERVER_PORT CLIENT_PORT
  peer_reconnect.py fast SERVER_PORT CLIENT_PORT
      make one owned FIN_WAIT_1 socket on SERVER_PORT whose peer, bound to
      CLIENT_PORT, is closed with a RST the rule drops; print "READY", wait
      for a line on stdin, then reconnect from CLIENT_PORT: "kernel" with one
      blocking connect() and the kernel's own SYN retries (1, 3, 7 s...),
      "fast" with a new connect() every 0.5 s. Print "SYN <time>" at the
      first attempt and "CONNECTED" once one gets through (or "FAILED ...").
  peer_reconnect.py data SERVER_PORT
      make one owned FIN_WAIT_1 socket on SERVER_PORT whose peer keeps
      sending a byte every 0.3 s; print "READY" and go on until killed.
  peer_reconnect.py unread SERVER_PORT
      make one owned FIN_WAIT_1 socket on SERVER_PORT whose application
      never reads: its peer sends 1000 bytes, which sit in the server's
      receive queue, then the server shuts down its side (the FIN dropped);
      the peer, all its data acked, sends keepalives every second, which
      the server answers with a dupack (out of window: they never reach
      tcp_ack()). Print "READY" and go on until killed.
"""
import select
import socket
import struct
import sys
import time

LOCAL = "127.0.0.1"


def stuck_pair(server_port, client_port=0):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((LOCAL, server_port))
    srv.listen(8)
    cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    cli.bind((LOCAL, client_port))
    cli.connect((LOCAL, server_port))
    conn, _ = srv.accept()
    conn.shutdown(socket.SHUT_WR)  # its FIN is dropped: FIN_WAIT_1, the fd kept
    return srv, cli, conn


def reset_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def client(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((LOCAL, port))
    return s


def reconnect(mode, server_port, client_port):
    srv, cli, conn = stuck_pair(server_port, client_port)
    reset_close(cli)  # the RST is dropped: the server's socket stays
    print("READY", flush=True)
    sys.stdin.readline()
    print(f"SYN {time.monotonic():.3f}", flush=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        s = client(client_port)
        if mode == "kernel":
            try:
                s.connect((LOCAL, server_port))  # the kernel retries the SYN
            except OSError as e:
                print(f"FAILED {e}", flush=True)
                s.close()
                return
        else:
            s.setblocking(False)
            s.connect_ex((LOCAL, server_port))
            try:
                # writable once connected; SO_ERROR says how
                _, w, _ = select.select([], [s], [], 0.5)
                if not w or s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    reset_close(s)  # in SYN_SENT: sends nothing
                    continue
            except OSError:
                s.close()
                continue
        print("CONNECTED", flush=True)
        sys.stdin.readline()  # hold the connection until told
        return
    print("FAILED timeout", flush=True)


def data(server_port):
    srv, cli, conn = stuck_pair(server_port)
    print("READY", flush=True)
    while True:
        cli.send(b"x")
        time.sleep(0.3)


def unread(server_port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((LOCAL, server_port))
    srv.listen(8)
    cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    cli.connect((LOCAL, server_port))
    conn, _ = srv.accept()
    cli.sendall(b"x" * 1000)  # never read
    time.sleep(0.2)  # acked: the peer's keepalive timer runs
    conn.shutdown(socket.SHUT_WR)  # its FIN is dropped: FIN_WAIT_1
    print("READY", flush=True)
    while True:
        time.sleep(60)


def main():
    mode = sys.argv[1]
    if mode == "unread":
        unread(int(sys.argv[2]))
    elif mode == "data":
        data(int(sys.argv[2]))
    else:
        reconnect(mode, int(sys.argv[2]), int(sys.argv[3]))


if __name__ == "__main__":
    main()
