/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test helper around daemon/diag:
 *   fw-diag-tool capture FAMILY STATES FILE   record a raw dump reply (4|6, fin-wait-1,...)
 *   fw-diag-tool dump                         the kernel-filtered dumps (both families,
 *        fin-wait-1 and last-ack, with tcp_info), parsed and thrown away: the
 *        floor any tool stands on; prints the count
 *   fw-diag-tool dump-netns --discover | PATH...
 *        the same dumps in each network namespace in turn, from one process:
 *        setns into it, a sock_diag socket there, the dumps, back home. With
 *        --discover the namespaces are found as a bare discovery would (the
 *        files of /run/netns and /proc/PID/ns/net, each inode once), else
 *        given as ns files. Prints "namespaces N sockets M discovery_us D
 *        dumps_us T": the floor of a poll of many namespaces, discovery
 *        apart, no process start in either
 *   fw-diag-tool destroy COOKIE [--as-cookie N]
 *        find the socket with COOKIE in a fresh dump and SOCK_DESTROY it;
 *        --as-cookie sends its exact tuple with another cookie instead (a stale
 *        cookie), which the kernel must refuse with ENOENT.
 * Prints "ok" or the errno name; exit 0 when the kernel said ok, 1 otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <sched.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"
#include "recording.h"
#include "sockfmt.h"
#include "util.h"

static int capture(const char *fam, const char *states_s, const char *path) {
        uint8_t req[DIAG_REQUEST_SIZE] __attribute__((aligned(8)));
        static uint8_t buf[65536] __attribute__((aligned(8)));
        struct mnl_socket *nl;
        uint32_t states, portid, seq = 4242;
        int family = strcmp(fam, "6") == 0 ? AF_INET6 : AF_INET;
        FILE *f;
        size_t len;
        int r = 1;

        if (sockfmt_states_parse(states_s, &states, NULL, NULL) < 0) {
                fprintf(stderr, "bad states\n");
                return 2;
        }
        nl = mnl_socket_open(NETLINK_SOCK_DIAG);
        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                perror("netlink");
                return 1;
        }
        portid = mnl_socket_get_portid(nl);
        f = fopen(path, "we");
        if (!f) {
                perror(path);
                mnl_socket_close(nl);
                return 1;
        }
        recording_write_header(f, seq, portid);

        len = diag_build_dump_request(req, seq, family, states);
        if (mnl_socket_sendto(nl, req, len) < 0) {
                perror("send");
                goto out;
        }
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                int p;

                if (n < 0) {
                        perror("recv");
                        goto out;
                }
                recording_write_datagram(f, buf, (size_t) n);
                p = diag_parse_dump(buf, (size_t) n, seq, portid, NULL, NULL);
                if (p < 0) {
                        fprintf(stderr, "parse: %s\n", strerror(-p));
                        goto out;
                }
                if (p > 0)
                        break;
        }
        r = 0;
out:
        if (fclose(f) != 0)
                r = 1;
        mnl_socket_close(nl);
        return r;
}

struct find {
        uint64_t cookie;
        struct fw_sock found;
        bool have;
};

static int find_cb(const struct fw_sock *s, void *userdata) {
        struct find *f = userdata;

        if (s->id.cookie == f->cookie) {
                f->found = *s;
                f->have = true;
        }
        return 0;
}

static int destroy(int argc, char **argv) {
        _cleanup_(diag_freep) struct diag *d = NULL;
        struct find f = {};
        int r;

        if (argc < 1 || parse_u64(argv[0], &f.cookie) < 0)
                return 2;
        r = diag_open(&d);
        if (r < 0) {
                fprintf(stderr, "diag_open: %s\n", strerror(-r));
                return 1;
        }
        for (int fam = 0; fam < 2 && !f.have; fam++) {
                r = diag_dump(d, fam == 0 ? AF_INET : AF_INET6, UINT32_MAX, find_cb, &f);
                if (r < 0) {
                        fprintf(stderr, "dump: %s\n", strerror(-r));
                        return 1;
                }
        }
        if (!f.have) {
                printf("not-found\n");
                return 1;
        }
        if (argc >= 3 && strcmp(argv[1], "--as-cookie") == 0 && parse_u64(argv[2], &f.found.id.cookie) < 0)
                return 2;

        r = diag_destroy(d, &f.found.id, f.found.state);
        if (r < 0) {
                printf("%s\n", strerrorname_np(-r) ? strerrorname_np(-r) : "unknown");
                return 1;
        }
        printf("ok\n");
        return 0;
}

static int count_cb(const struct fw_sock *s, void *userdata) {
        (*(size_t *) userdata)++;
        return 0;
}

static int dump(void) {
        _cleanup_(diag_freep) struct diag *d = NULL;
        size_t n = 0;
        int r;

        r = diag_open(&d);
        if (r >= 0)
                r = diag_dump(d, AF_INET, DIAG_STATES_DEFAULT, count_cb, &n);
        if (r >= 0)
                r = diag_dump(d, AF_INET6, DIAG_STATES_DEFAULT, count_cb, &n);
        if (r < 0) {
                fprintf(stderr, "dump: %s\n", strerror(-r));
                return 1;
        }
        printf("%zu\n", n);
        return 0;
}

struct ns_files {
        int *fds;
        uint64_t *inos;
        size_t n, allocated, inos_allocated;
};

/* Open the ns file at path unless its inode is one we have. */
static void ns_add(struct ns_files *f, const char *path) {
        struct stat st;
        int fd;

        if (stat(path, &st) < 0)
                return;
        for (size_t i = 0; i < f->n; i++)
                if (f->inos[i] == (uint64_t) st.st_ino)
                        return;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        if (GROW(f->fds, f->allocated, f->n + 1, 64) < 0 || GROW(f->inos, f->inos_allocated, f->n + 1, 64) < 0) {
                close(fd);
                return;
        }
        f->fds[f->n] = fd;
        f->inos[f->n++] = (uint64_t) st.st_ino;
}

static void ns_scan(struct ns_files *f, const char *dir, bool by_pid) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                char path[512];

                if (de->d_name[0] == '.' || (by_pid && (de->d_name[0] < '0' || de->d_name[0] > '9')))
                        continue;
                snprintf(path, sizeof(path), by_pid ? "%s/%s/ns/net" : "%s/%s", dir, de->d_name);
                ns_add(f, path);
        }
        closedir(d);
}

static int dump_netns(int argc, char **argv) {
        struct ns_files f = {};
        uint64_t t0, t1, t2;
        size_t count = 0;
        int home, r = 0;

        home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (home < 0) {
                perror("/proc/self/ns/net");
                return 1;
        }
        t0 = now_usec(CLOCK_MONOTONIC);
        if (argc == 1 && strcmp(argv[0], "--discover") == 0) {
                ns_scan(&f, "/run/netns", false);
                ns_scan(&f, "/proc", true);
        } else
                for (int i = 0; i < argc; i++)
                        ns_add(&f, argv[i]);
        t1 = now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; i < f.n && r >= 0; i++) {
                _cleanup_(diag_freep) struct diag *d = NULL;

                if (setns(f.fds[i], CLONE_NEWNET) < 0) {
                        r = -errno;
                        break;
                }
                r = diag_open(&d);
                if (setns(home, CLONE_NEWNET) < 0)
                        abort();
                if (r >= 0)
                        r = diag_dump(d, AF_INET, DIAG_STATES_DEFAULT, count_cb, &count);
                if (r >= 0)
                        r = diag_dump(d, AF_INET6, DIAG_STATES_DEFAULT, count_cb, &count);
        }
        t2 = now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; i < f.n; i++)
                close(f.fds[i]);
        free(f.fds);
        free(f.inos);
        close(home);
        if (r < 0) {
                fprintf(stderr, "dump-netns: %s\n", strerror(-r));
                return 1;
        }
        printf("namespaces %zu sockets %zu discovery_us %llu dumps_us %llu\n", f.n, count,
               (unsigned long long) (t1 - t0), (unsigned long long) (t2 - t1));
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 2 && strcmp(argv[1], "dump") == 0)
                return dump();
        if (argc >= 3 && strcmp(argv[1], "dump-netns") == 0)
                return dump_netns(argc - 2, argv + 2);
        if (argc >= 5 && strcmp(argv[1], "capture") == 0)
                return capture(argv[2], argv[3], argv[4]);
        if (argc >= 3 && strcmp(argv[1], "destroy") == 0)
                return destroy(argc - 2, argv + 2);
        fprintf(stderr, "usage: fw-diag-tool capture 4|6 STATES FILE | dump | dump-netns --discover|PATH... | "
                "destroy COOKIE [--as-cookie N]\n");
        return 2;
}
