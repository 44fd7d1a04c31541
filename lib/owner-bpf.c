/* SPDX-License-Identifier: GPL-2.0-or-later */
/* owner_bpf_read(): the socket holders as owner.bpf.c's task_file iterator
 * reads them in the kernel, loaded for one read and unloaded after. It is
 * loaded as a light skeleton (bpftool gen skeleton -L): the kernel places
 * its fields by its own BTF (Linux 5.17+), where libbpf would parse all of
 * vmlinux's BTF first (here 60-80 ms and 11 MiB more per list --processes,
 * with 10k stuck sockets among 100k live ones, than the read itself). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fw-config.h"
#include "owner.h"
#include "util.h"

#ifdef FW_HAVE_BPF
#include "owner.skel.h"

/* Whether proc_root numbers processes as our pid namespace does, as the
 * iterator does (owner_status_in_own_pidns() of its status of us). */
static bool proc_is_ours(const char *proc_root) {
        _cleanup_(closep) int fd = -EBADF;
        char path[4200], status[4096];
        ssize_t len;

        snprintf(path, sizeof(path), "%s/self/status", proc_root);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        len = read(fd, status, sizeof(status) - 1);
        if (len <= 0)
                return false;
        status[len] = '\0';
        return owner_status_in_own_pidns(status);
}

/* The iterator's output, all of it: records of 8 bytes. */
static int read_records(int fd, struct owner_bpf_record **ret, size_t *n) {
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, allocated = 0;

        for (;;) {
                ssize_t got;

                if (GROW(buf, allocated, len + 65536, 65536) < 0)
                        return -ENOMEM;
                got = read(fd, buf + len, allocated - len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return -errno;
                if (got == 0)
                        break;
                len += (size_t) got;
        }
        if (len % sizeof(**ret) != 0)
                return -EPROTO;
        *n = len / sizeof(**ret);
        *ret = (struct owner_bpf_record *) buf;
        buf = NULL;
        return 0;
}

/* An iterator's output: a file descriptor to read (BPF_ITER_CREATE). */
static int iter_create(int link_fd) {
        union bpf_attr attr;

        memset(&attr, 0, sizeof(attr));
        attr.iter_create.link_fd = (__u32) link_fd;
        return skel_sys_bpf(BPF_ITER_CREATE, &attr, sizeof(attr));
}

static void owner_bpf_destroyp(struct owner_bpf **skel) {
        owner_bpf__destroy(*skel);
}

int owner_bpf_read(const char *proc_root, struct owner_bpf_record **ret, size_t *n) {
        _cleanup_(owner_bpf_destroyp) struct owner_bpf *skel = NULL;
        _cleanup_(closep) int fd = -EBADF;
        int r;

        *ret = NULL;
        *n = 0;
        if (!proc_is_ours(proc_root))
                return -EXDEV;
        skel = owner_bpf__open();
        if (!skel)
                return -ENOMEM;
        r = owner_bpf__load(skel); /* -errno */
        if (r < 0)
                return r;
        if (owner_bpf__attach(skel) < 0)
                return -errno;
        fd = iter_create(skel->links.socket_holders_fd);
        if (fd < 0)
                return -errno;
        return read_records(fd, ret, n);
}

#else

int owner_bpf_read(const char *proc_root, struct owner_bpf_record **ret, size_t *n) {
        *ret = NULL;
        *n = 0;
        return -EOPNOTSUPP; /* built without libbpf */
}

#endif
