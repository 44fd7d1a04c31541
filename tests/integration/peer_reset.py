#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run inside the fixture's namespace (whose nft rule drops FINs from ports
9000-9099): make one owned FIN_WAIT_1 socket on port 9099, print
"READY <server local> <server peer>", wait for a line on stdin, then read on
the client side and print what the read gave: "ECONNRESET" after a kill that
sent a RST, "TIMEOUT" when nothing came."""
import errno
import socket
import sys

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 9099))
srv.listen(1)
cli = socket.create_connection(("127.0.0.1", 9099))
conn, _ = srv.accept()
conn.shutdown(socket.SHUT_WR)  # FIN dropped by the rule: FIN_WAIT_1, fd kept
local, peer = conn.getsockname(), conn.getpeername()
print(f"READY {local[0]}:{local[1]} {peer[0]}:{peer[1]}", flush=True)
sys.stdin.readline()
cli.settimeout(5)
try:
    data = cli.recv(1)
    print("EOF" if data == b"" else "DATA", flush=True)
except socket.timeout:
    print("TIMEOUT", flush=True)
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)), flush=True)
