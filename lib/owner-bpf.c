/* SPDX-License-Identifier: GPL-2.0-or-later */
/* owner_bpf_read(): the socket holders as owner.bpf.c's task_file iterator
 * reads them in the kernel, loaded for one read and unloaded after. It is
 * loaded as a light skeleton (bpftool gen skeleton -L): the kernel places
 * its fields by its own BTF (Linux 5.17+), where libbpf would parse all of
 * vmlinux's BTF first (some 100 ms and 12 MiB here, more than the read). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "owner.h"
#include "util.h"

#ifdef FW_HAVE_BPF
#include "owner.skel.h"

/* Whether proc_root numbers processes as our pid namespace does, as the
 * iterator does: its NSpid of us, our pid from its namespace down to ours,
 * has one number (a /proc mounted for an ancestor's has more). */
static bool proc_is_ours(const char *proc_root) {
        _cleanup_(fclosep) FILE *f = NULL;
        char path[4200], line[256];

        snprintf(path, sizeof(path), "%s/self/status", proc_root);
        f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "NSpid:", 6) == 0)
                        return strchr(line + 6 + strspn(line + 6, " \t"), '\t') == NULL &&
                               strchr(line + 6 + strspn(line + 6, " \t"), ' ') == NULL;
        return false;
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

int owner_bpf_read(const char *proc_root, struct owner_bpf_record **ret, size_t *n) {
        struct owner_bpf *skel = NULL;
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
        if (r == 0 && owner_bpf__attach(skel) < 0)
                r = -errno;
        if (r == 0) {
                fd = iter_create(skel->links.socket_holders_fd);
                r = fd < 0 ? -errno : read_records(fd, ret, n);
        } else if (r > 0 || r < -4095) {
                r = -EINVAL; /* not an errno */
        }
        owner_bpf__destroy(skel);
        return r;
}

#else

int owner_bpf_read(const char *proc_root, struct owner_bpf_record **ret, size_t *n) {
        *ret = NULL;
        *n = 0;
        return -EOPNOTSUPP; /* built without libbpf */
}

#endif
