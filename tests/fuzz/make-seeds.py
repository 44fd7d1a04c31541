#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of the scripted fuzz targets (fuzz-diag-multi,
fuzz-control), each a script in the target's own small language (its header
comment says it), so that a seed says what it exercises, and of
fuzz-cgroup: cgroup paths of every shape container.h reads, and of those
who name their own cgroups like them. Run from anywhere:
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


# ---- fuzz-control ----
(C_CONNECT, C_REQUEST, C_RAW, C_FDS, C_READ, C_READ_ALL, C_SHUTDOWN, C_CLOSE, C_HANGUP, C_HUGE, C_EMPTY, C_RUN,
 C_PIPELINE) = range(13)
T_LIST, T_STATUS, T_KILL_NS, T_RELOAD, T_KILL, T_NEWER, T_ZERO, T_REPLY = range(8)
ROOT, U1000, U1001 = 0, 1, 2
K_SILENT, K_GONE, K_KILLS, K_ESTABLISHED, K_EPERM, K_NO_DESTROY = range(6)
LARGE = 8
CONF_EMPTY, CONF_BAD, CONF_MISSING, CONF_FEWER = (0 << 4, 1 << 4, 2 << 4, 3 << 4)
FD_NULL, FD_PIPE, FD_UNIX, FD_ROUTE, FD_EMPTY_NS = range(5)
SHUT_RD, SHUT_WR, SHUT_RDWR = range(3)


def ctl_header(kernel=K_SILENT, large=False, conf=CONF_EMPTY, budget=0):
    return bytes([kernel | (LARGE if large else 0) | conf, budget])


def connect(uid):
    return bytes([C_CONNECT, uid])


def request(slot, t, n=0, mutation=0, ids=b""):
    return bytes([C_REQUEST, slot, t, n, mutation]) + ids


def read_all(slot):
    return bytes([C_READ_ALL, slot])


def control():
    seeds = {}
    # one request at a time on one connection, every type, each read whole
    s = ctl_header(kernel=K_GONE) + connect(ROOT)
    for t in (T_LIST, T_STATUS, T_RELOAD, T_NEWER, T_ZERO):
        s += request(0, t) + read_all(0)
    s += request(0, T_KILL, 0, 0, bytes([0])) + read_all(0)
    s += request(0, T_KILL_NS, 1, 0, bytes([0x00, 0x41])) + read_all(0) + bytes([C_CLOSE, 0])
    seeds["every-request"] = s
    # a list of several messages read one at a time, then a close half way
    # (another user's: its queued bytes are given back); one that shuts
    # down writing after its request still gets all of it
    s = ctl_header(large=True) + connect(U1000) + request(0, T_LIST)
    s += bytes([C_READ, 0, C_RUN, C_READ, 0, C_CLOSE, 0])
    s += connect(U1000) + request(0, T_LIST) + bytes([C_READ, 0]) + bytes([C_SHUTDOWN, 0, SHUT_WR]) + read_all(0)
    seeds["large-list-slow-reader"] = s
    # one user's ninth connection is refused (answered once its request is
    # read); root still gets in
    s = ctl_header()
    for i in range(9):
        s += connect(U1000)
    for i in range(9):
        s += request(i, T_STATUS)
    s += connect(ROOT) + request(9, T_STATUS)
    for i in range(10):
        s += read_all(i)
    seeds["per-uid-cap"] = s
    # other users take all but the reserve; more of them are held to be
    # refused until too many wait, then refused at once; root still gets in
    s = ctl_header()
    for uid in range(1, 8):
        s += connect(uid) * 8
    s += connect(8) * 2 + connect(U1000) * 16 + connect(ROOT)
    for i in range(56, 75):
        s += request(i, T_LIST)
    s += request(74, T_STATUS)
    for i in range(75):
        s += read_all(i)
    seeds["all-taken"] = s
    # errors mid-stream: a good request, a malformed one (answered, then
    # closed), requests pipelined behind it (the reset a client then gets)
    s = ctl_header() + connect(ROOT) + request(0, T_LIST) + read_all(0) + request(0, T_STATUS, 0, 1) + read_all(0)
    s += connect(ROOT) + request(1, T_STATUS, 0, 2) + request(1, T_LIST) + request(1, T_LIST) + read_all(1)
    s += connect(ROOT) + bytes([C_PIPELINE, 2, 4]) + read_all(2)
    s += connect(U1000) + request(3, T_REPLY) + read_all(3)
    s += connect(U1000) + request(4, T_LIST, 0, 4) + request(4, T_LIST, 0, 5) + read_all(4)
    seeds["errors-mid-stream"] = s
    # descriptors: with a kill (the empty namespace's sock_diag socket
    # among them), 253 with a list, some on an empty packet
    s = ctl_header(kernel=K_KILLS) + connect(ROOT)
    s += bytes([C_FDS, 0, 3, FD_EMPTY_NS, 2, T_KILL_NS, 1, 0, 0x80, 0x00]) + read_all(0)
    s += bytes([C_FDS, 0, 253, FD_PIPE, 1, T_LIST, 0, 0]) + read_all(0)
    s += bytes([C_FDS, 0, 4, 0x15, 0]) + read_all(0)
    seeds["descriptors"] = s
    # kills: found and killed, refused as established, EPERM, no SOCK_DESTROY
    for name, kernel in (("kill-killed", K_KILLS), ("kill-established", K_ESTABLISHED), ("kill-eperm", K_EPERM),
                         ("kill-no-destroy", K_NO_DESTROY)):
        s = ctl_header(kernel=kernel) + connect(ROOT) + request(0, T_KILL_NS, 2, 0, bytes([0x00, 0x01, 0x02]))
        s += read_all(0) + request(0, T_STATUS) + read_all(0)
        seeds[name] = s
    # what other users may not do: kill, reload
    s = ctl_header() + connect(U1000) + request(0, T_KILL_NS, 0, 0, bytes([0])) + read_all(0)
    s += request(0, T_RELOAD) + read_all(0)
    seeds["unprivileged"] = s
    # reloads: a bad file (kept), none (defaults), fewer states (sockets forgotten)
    for name, conf in (("reload-bad", CONF_BAD), ("reload-missing", CONF_MISSING), ("reload-fewer", CONF_FEWER)):
        seeds[name] = ctl_header(conf=conf) + connect(ROOT) + request(0, T_RELOAD) + read_all(0) + \
            request(0, T_LIST) + read_all(0)
    # a packet too large, an empty one, raw bytes, a client that hangs up
    # before it is accepted, shutdowns
    s = ctl_header() + connect(ROOT) + bytes([C_HUGE, 0, 7]) + read_all(0)
    s += connect(ROOT) + bytes([C_EMPTY, 1]) + read_all(1)
    s += connect(ROOT) + bytes([C_RAW, 2, 5, 0]) + b"hello" + read_all(2)
    s += bytes([C_HANGUP, 0, C_HANGUP, 1])
    s += connect(ROOT) + request(3, T_LIST) + bytes([C_SHUTDOWN, 3, SHUT_RDWR])
    s += connect(ROOT) + bytes([C_SHUTDOWN, 4, SHUT_RD]) + request(4, T_LIST)
    seeds["odd-packets"] = s
    # replies pile up unread until the socket is full: the daemon waits
    # for room, reads nothing meanwhile, and goes on as the client reads
    s = ctl_header() + connect(ROOT) + bytes([C_PIPELINE, 0, 255]) + bytes([C_READ, 0] * 8) + read_all(0)
    s += connect(U1000) + bytes([C_PIPELINE, 1, 255]) + bytes([C_CLOSE, 1])
    seeds["socket-full"] = s
    # the loop run one step at a time: requests pile up before they are read
    s = ctl_header(large=True, budget=1) + connect(ROOT) + connect(U1000)
    s += request(0, T_LIST) + request(1, T_LIST) + request(0, T_STATUS) + bytes([C_READ, 0, C_READ, 1, C_CLOSE, 1])
    s += read_all(0)
    seeds["one-dispatch-a-step"] = s
    return seeds


write("control", control())


# ---- fuzz-cgroup: a cgroup path, as the bytes of the file ----
def cgroup():
    cid, uid = "0123456789abcdef" * 4, "1234abcd-5678-4ef0-9abc-def012345678"
    uid_, static = uid.replace("-", "_"), "0fe4a2a1f0f7f1a6e4b1a3c5d7e9f0a2"
    user = "/user.slice/user-1000.slice/user@1000.service"
    kp = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ + ".slice"
    seeds = {
        "docker": f"/system.slice/docker-{cid}.scope",
        "docker-inside": f"/system.slice/docker-{cid}.scope/system.slice/nginx.service",
        "podman-pod": f"/machine.slice/machine-libpod_pod_{cid}.slice/libpod-{cid}.scope",
        "conmon": f"/machine.slice/libpod-conmon-{cid}.scope",
        "pod-burstable": f"{kp}/cri-containerd-{cid}.scope",
        "pod-besteffort": f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{uid_}.slice/crio-{cid}.scope",
        "pod-guaranteed": f"/kubepods.slice/kubepods-pod{uid_}.slice/cri-containerd-{cid}.scope",
        "pod-static": f"/kubepods.slice/kubepods-pod{static}.slice/crio-{cid}.scope",
        "pod-cgroup-root": f"/k8s.slice/k8s-kubepods.slice/k8s-kubepods-pod{uid_}.slice/crio-{cid}.scope",
        "cgroupfs-burstable": f"/kubepods/burstable/pod{uid}/{cid}",
        "cgroupfs-guaranteed": f"/kubepods/pod{uid}/crio-{cid}/sub",
        "cgroupfs-docker": f"/docker/{cid}",
        "cgroupfs-podman": f"/libpod_parent/libpod-{cid}/container",
        "lxc-docker": f"/lxc.payload.c1/docker/{cid}",
        "lxc-kubepods": f"/lxc.payload.c1/kubepods/pod{uid}/{cid}",
        "rootless-podman": f"{user}/user.slice/libpod-{cid}.scope/container",
        "rootless-docker": f"{user}/user.slice/docker-{cid}.scope",
        "user-pod": f"{user}/kubepods-pod{uid_}.slice/docker-{cid}.scope",
        "user-crio": f"{user}/user.slice/crio-{cid}.scope",
        "user-manager": f"{user}/init.scope",
        "user-unit": f"{user}/app.slice/nginx.service",
        "pod-then-user": f"/kubepods.slice/kubepods-pod{uid_}.slice/user@1000.service/libpod-{cid}.scope",
        "session": "/user.slice/user-1000.slice/session-2.scope",
        "root": "/",
        "escape": f"/system.slice/docker-{cid[:60]}\x1b[2K.scope",
        "selector-user": f"podman://user@1000.service/{cid[:12]}",
        "selector-scheme": f"containerd://{cid}",
    }
    return {name: path.encode() for name, path in seeds.items()}


write("cgroup", cgroup())
