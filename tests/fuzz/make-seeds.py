#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of the scripted fuzz targets (fuzz-diag-multi),
each a script in the target's own small language (its header comment says
it), so that a seed says what it exercises. Run from anywhere:
tests/fuzz/make-seeds.py; the files are committed, this is how they were made."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- fuzz-diag-multi ----
DGRAM, RAW, FAIL, SOCKS, ANSWER, POLL, SNAP, KILL = range(8)
END_NONE, END_DONE, END_DONE_ERR, END_ERROR, END_ACK, END_DONE_SHORT = range(6)
ERR = {"ENOBUFS": 0, "EMSGSIZE": 1, "EPROTO": 2, "EAGAIN": 3, "ENOMEM": 4, "EINTR": 5}
FIN_WAIT1, LAST_ACK, ESTABLISHED = 4, 9, 1


def header(kill=0, families=None, alert_after=60, kill_after=0, kill_max=0):
    b0 = kill
    if families == 4:
        b0 |= 4
    elif families == 6:
        b0 |= 4 | 8
    return bytes([b0, alert_after, kill_after, kill_max])


def socks(socklist, end=END_NONE):
    """socklist: (cookie, state, flags): flags 1 v6, 2 orphan, 4 tcp_info, 8 persist timer, >>4 retransmits"""
    out = bytes([SOCKS | end << 3, len(socklist)])
    for cookie, state, flags in socklist:
        out += bytes([cookie, state, flags])
    return out


def dgram(data, stamp=True):
    return bytes([DGRAM if stamp else RAW]) + struct.pack("<H", len(data)) + data


def fail(name):
    return bytes([FAIL, ERR[name]])


def poll(seconds):
    return bytes([POLL, seconds])


def recording(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"FWNLREC1"
    off, out = 16, []
    while off < len(data):
        (n,) = struct.unpack_from("<I", data, off)
        out.append(data[off + 4:off + 4 + n])
        off += 4 + n
    return out


def diag_multi():
    v4 = [(1, FIN_WAIT1, 4), (2, LAST_ACK, 4 | 2), (3, FIN_WAIT1, 4 | 8 | 0x30)]
    v6 = [(7, LAST_ACK, 1 | 4)]
    done = socks([], END_DONE)
    seeds = {}
    # one dump across several datagrams, then again and again as time goes
    # by: alerts past alert_after, then the sockets gone
    s = header(alert_after=30)
    s += socks(v4[:2]) + socks(v4[2:]) + done + bytes([ANSWER]) + socks(v6, END_DONE) + poll(1)
    s += socks(v4) + done + bytes([ANSWER]) + socks(v6, END_DONE) + poll(40)
    s += done + bytes([ANSWER]) + done + poll(10)
    s += done + bytes([ANSWER]) + done + poll(10)
    seeds["several-datagrams"] = s
    # ENOBUFS half way: the rest drained, the dump asked for again
    s = header(families=4)
    s += socks(v4[:1]) + fail("ENOBUFS") + socks(v4[1:2]) + bytes([ANSWER]) + socks(v4, END_DONE) + poll(1)
    seeds["enobufs-restart"] = s
    # DONE in the middle of an answer: what follows is left queued, and
    # read (stale) by the next dump
    s = header(families=4)
    s += socks(v4[:1], END_DONE) + socks(v4[1:], END_DONE) + poll(1) + socks(v4, END_DONE) + poll(1)
    s += socks(v4, END_DONE) + poll(1)
    seeds["done-mid-stream"] = s
    # an error in place of the rest, a dump that failed half way, a truncated
    # datagram and one from someone else: every poll fails, none forgets
    s = header()
    s += socks(v4, END_DONE) + bytes([ANSWER]) + socks(v6, END_DONE) + poll(1)
    s += socks(v4[:1]) + socks(v4[1:], END_ERROR) + poll(1)
    s += socks(v4[:1]) + socks([], END_DONE_ERR) + poll(1)
    s += socks(v4[:1]) + fail("EMSGSIZE") + poll(1)
    s += socks(v4[:1]) + fail("EPROTO") + poll(1)
    s += socks(v4[:1]) + socks([], END_ACK) + poll(1)
    s += bytes([ANSWER]) + poll(1)  # nothing at all: the receive times out
    seeds["errors-mid-dump"] = s
    # auto-kill: LAST_ACK past kill_after is looked up, destroyed, looked up
    # again (gone); one ESTABLISHED by now is refused
    s = header(kill=2, families=4, kill_after=5)
    s += socks([(1, LAST_ACK, 4), (2, LAST_ACK, 4)], END_DONE) + poll(1)
    s += socks([(1, LAST_ACK, 4), (2, LAST_ACK, 4)], END_DONE) + bytes([ANSWER])
    s += socks([(1, LAST_ACK, 4)]) + bytes([ANSWER]) + socks([], END_ACK) + bytes([ANSWER])
    s += socks([], END_ERROR) + bytes([ANSWER])
    s += socks([(2, ESTABLISHED, 4)]) + bytes([ANSWER]) + poll(10)
    seeds["auto-kill"] = s
    # the CLI's snapshot: both families, a socket repeated after ENOBUFS
    s = header()
    s += socks(v4[:2]) + fail("ENOBUFS") + bytes([ANSWER]) + socks(v4, END_DONE) + bytes([ANSWER])
    s += socks(v6, END_DONE) + bytes([SNAP, 0])
    seeds["snapshot"] = s
    # a lone kill of a tracked socket
    s = header(families=4)
    s += socks(v4, END_DONE) + poll(1)
    s += socks([(2, LAST_ACK, 4)]) + bytes([ANSWER]) + socks([], END_ACK) + bytes([ANSWER])
    s += socks([], END_ERROR) + bytes([KILL, 2])
    seeds["kill"] = s
    # datagrams recorded from the kernel (tests/fixtures/replies)
    rec = recording(os.path.join(HERE, "..", "fixtures", "replies", "small-v4.rec"))
    s = header(families=4) + b"".join(dgram(d) for d in rec) + poll(1)
    s += b"".join(dgram(d, stamp=False) for d in rec) + poll(1)  # another request's seq
    seeds["recorded-small-v4"] = s
    return seeds


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


write("diag-multi", diag_multi())
