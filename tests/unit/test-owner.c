/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whose a socket is (owner.c): for a socket of our own, the process and its
 * command name as the kernel has it, whatever bytes a process put in; over
 * a /proc of the test's own (links "socket:[N]", comm files, a cgroup's
 * cgroup.procs), that each process's descriptors and command name are read
 * at most once, its cgroup's processes first, and no more than needed. */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fw-config.h"
#include "owner.h"
#include "test.h"
#include "util.h"

static void find_ourselves(const char *comm) {
        _cleanup_(closep) int a = -EBADF, b = -EBADF;
        struct inode_owner w = {};
        struct owner_stats st;
        int fds[2];
        struct stat s;

        CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        a = fds[0];
        b = fds[1];
        CHECK_INT(fstat(a, &s), 0);
        CHECK_INT(prctl(PR_SET_NAME, comm), 0);
        w.inode = (uint32_t) s.st_ino;
        CHECK_INT(owner_find("/proc", NULL, OWNER_VIA_PROC, &w, 1, &st), 1);
        CHECK_INT(w.pid, getpid());
        CHECK_STR(w.comm, comm);
        CHECK_INT(st.comms_read, 1);
}

/* Our own descriptors as the real /proc has them, read by number (Linux
 * 6.2+) or listed: a socket at the end of a dense table, and one past a
 * hole of some 800 (listed from where the numbers ran into it). */
static void test_real_tables(void) {
        int fds[2], low[200], high = -EBADF;
        struct inode_owner w[2] = {};
        struct owner_stats st;
        struct stat s;
        size_t n_low = 0;

        for (size_t i = 0; i < ELEMENTSOF(low); i++) {
                low[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (low[i] >= 0)
                        n_low++;
        }
        CHECK_INT(n_low, ELEMENTSOF(low));
        CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        high = fcntl(fds[1], F_DUPFD_CLOEXEC, 1000); /* below the usual soft limit, 1024 */
        CHECK(high >= 1000);
        close(fds[1]);
        CHECK_INT(fstat(n_low ? low[n_low - 1] : fds[0], &s), 0);
        w[0].inode = (uint32_t) s.st_ino;
        CHECK_INT(fstat(high, &s), 0);
        w[1].inode = (uint32_t) s.st_ino;
        CHECK_INT(owner_find("/proc", NULL, OWNER_VIA_PROC, w, 2, &st), 2);
        CHECK_INT(w[0].pid, getpid());
        CHECK_INT(w[1].pid, getpid());
        for (size_t i = 0; i < n_low; i++)
                close(low[i]);
        close(fds[0]);
        close(high);
}

/* The iterator's records merged: out of order, repeated, a socket several
 * hold (the lowest pid, whichever comes first), pids <= 0 and sockets not
 * asked about ignored, a pid set before kept if lower. */
static void test_merge_records(void) {
        struct inode_owner w[3] = { { .inode = 10 }, { .inode = 20 }, { .inode = 30, .pid = 5 } };
        const struct owner_bpf_record records[] = {
                { .inode = 20, .pid = 900 }, { .inode = 99, .pid = 1 }, { .inode = 10, .pid = 0 },
                { .inode = 20, .pid = 300 }, { .inode = 20, .pid = 700 }, { .inode = 10, .pid = -4 },
                { .inode = 30, .pid = 8 },   { .inode = 20, .pid = 300 },
        };

        CHECK_INT(owner_merge_records(w, 3, records, ELEMENTSOF(records)), 1);
        CHECK_INT(w[0].pid, 0);
        CHECK_INT(w[1].pid, 300);
        CHECK_INT(w[2].pid, 5);
        CHECK_INT(owner_merge_records(w, 3, NULL, 0), 0);
}

/* NSpid: one number, our namespace's procfs; more, an ancestor's; none, a
 * kernel before 4.1 (no). */
static void test_status_pidns(void) {
        CHECK(owner_status_in_own_pidns("Name:\tx\nNSpid:\t5224\nNSpgid:\t5224\n"));
        CHECK(owner_status_in_own_pidns("Name:\tx\nNSpid:\t7\n"));
        CHECK(owner_status_in_own_pidns("Name:\tx\nNSpid:\t7"));
        CHECK(!owner_status_in_own_pidns("Name:\tx\nNSpid:\t7280\t2\nNSpgid:\t1\n"));
        CHECK(!owner_status_in_own_pidns("Name:\tx\nNSpid:\t7280 2\n"));
        CHECK(!owner_status_in_own_pidns("Name:\tx\nNSpid:\t\n"));
        CHECK(!owner_status_in_own_pidns("Name:\tx\nPid:\t7\n"));
        CHECK(!owner_status_in_own_pidns("Name:\tNSpid:\t7\n"));
}

/* By BPF (root, built with it): our socket, and one our child holds too
 * (the lowest pid's: ours), with no fd directory read and one command name.
 * Not root: refused, never a wrong answer. Root but refused (a seccomp
 * filter, lockdown, a kernel before 5.17): said and passed over, except
 * with CI=true, where it must load. The integration test (test_owner.py)
 * checks it against ss -p, in a nested pid namespace too. */
static void test_bpf(void) {
        _cleanup_(closep) int a = -EBADF, b = -EBADF;
        struct inode_owner w = {};
        struct owner_stats st;
        int fds[2], sync[2], r, status;
        const char *ci = getenv("CI");
        struct stat s;
        pid_t child;
        char c;

        CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        a = fds[0];
        b = fds[1];
        CHECK_INT(prctl(PR_SET_NAME, "test-owner-bpf"), 0);
        CHECK_INT(fstat(a, &s), 0);
        w.inode = (uint32_t) s.st_ino;
        r = owner_find("/proc", NULL, OWNER_VIA_BPF, &w, 1, &st);
#ifndef FW_HAVE_BPF
        CHECK_INT(r, -EOPNOTSUPP);
        return;
#endif
        if (geteuid() != 0) {
                CHECK(r == -EPERM || r == -EACCES || r == 1);
                return;
        }
        if (r < 0 && !(ci && strcmp(ci, "true") == 0)) {
                printf("test-owner: BPF refused to root here (%s): its checks passed over\n", strerror(-r));
                return;
        }
        CHECK_INT(r, 1);
        CHECK_INT(w.pid, getpid());
        CHECK_STR(w.comm, "test-owner-bpf");
        CHECK(st.bpf);
        CHECK_INT(st.pids_read, 0);
        CHECK_INT(st.comms_read, 1);
        CHECK(st.fds_read >= 2); /* at least our pair */

        /* held by a child too: ours, the lower pid */
        CHECK_INT(pipe2(sync, O_CLOEXEC), 0);
        child = fork();
        if (child == 0) {
                close(sync[1]);
                (void) read(sync[0], &c, 1); /* until the parent is done */
                _exit(0);
        }
        close(sync[0]);
        CHECK_INT(owner_find("/proc", NULL, OWNER_VIA_BPF, &w, 1, &st), 1);
        CHECK_INT(w.pid, getpid());
        close(sync[1]);
        CHECK_INT(waitpid(child, &status, 0), child);
}

static void test_parse_link(void) {
        static const struct {
                const char *text;
                int ok;
                uint32_t inode;
        } cases[] = {
                { "socket:[12345]", 1, 12345 },
                { "socket:[4294967295]", 1, UINT32_MAX },
                { "socket:[4294967296]", 0, 0 },        /* past 32 bits: not a sock_diag inode */
                { "socket:[]", 0, 0 },
                { "socket:[12a]", 0, 0 },
                { "socket:[12", 0, 0 },
                { "pipe:[12]", 0, 0 },
                { "/dev/null", 0, 0 },
                { "socket:[00000000001]", 0, 0 },       /* 11 digits: none the kernel writes */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint32_t inode = 0;

                CHECK_INT(owner_parse_socket_link(cases[i].text, strlen(cases[i].text), &inode), cases[i].ok);
                if (cases[i].ok)
                        CHECK_INT(inode, cases[i].inode);
        }
}

/* A process of the fake /proc: its descriptors' link texts, its name, its
 * network namespace (a file; its inode number is the namespace's). */
static uint64_t fake_process(const char *proc, int pid, const char *comm, const char *const *links, size_t n) {
        char path[PATH_MAX];
        struct stat st = {};
        FILE *f;

        snprintf(path, sizeof(path), "%s/%d", proc, pid);
        CHECK_INT(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/%d/ns", proc, pid);
        CHECK_INT(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/%d/ns/net", proc, pid);
        f = fopen(path, "we");
        CHECK(f != NULL);
        if (f)
                fclose(f);
        CHECK_INT(stat(path, &st), 0);
        snprintf(path, sizeof(path), "%s/%d/fd", proc, pid);
        CHECK_INT(mkdir(path, 0755), 0);
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/%d/fd/%zu", proc, pid, i);
                CHECK_INT(symlink(links[i], path), 0);
        }
        snprintf(path, sizeof(path), "%s/%d/comm", proc, pid);
        f = fopen(path, "we");
        CHECK(f != NULL);
        if (f) {
                fprintf(f, "%s\n", comm);
                fclose(f);
        }
        return (uint64_t) st.st_ino;
}

static void test_fake_proc(void) {
        char root[] = "/tmp/finwatch-test-owner-XXXXXX", proc[256], cg[256], path[PATH_MAX];
        /* 100 holds two wanted sockets among others, 200 one, 300 none */
        static const char *const p100[] = { "socket:[111]", "pipe:[5]", "socket:[999]", "socket:[222]", "/dev/null" };
        static const char *const p200[] = { "socket:[333]", "anon_inode:[eventfd]" };
        static const char *const p300[] = { "socket:[777]" };
        struct inode_owner w[4];
        struct owner_stats st;
        const char *dirs[2];
        struct owner_hints hints = { .cgroup_dirs = dirs };
        uint64_t ns300;
        FILE *f;

        CHECK(mkdtemp(root) != NULL);
        snprintf(proc, sizeof(proc), "%s/proc", root);
        snprintf(cg, sizeof(cg), "%s/cg", root);
        CHECK_INT(mkdir(proc, 0755), 0);
        CHECK_INT(mkdir(cg, 0755), 0);
        fake_process(proc, 100, "alpha", p100, ELEMENTSOF(p100));
        fake_process(proc, 200, "beta", p200, ELEMENTSOF(p200));
        ns300 = fake_process(proc, 300, "gamma", p300, ELEMENTSOF(p300));
        snprintf(path, sizeof(path), "%s/self", proc); /* not a pid: passed over */
        CHECK_INT(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
        f = fopen(path, "we");
        CHECK(f != NULL);
        if (f) {
                fputs("200\n", f);
                fclose(f);
        }

        /* every process holding one: each read once, each name once */
        w[0] = (struct inode_owner) { .inode = 333 };
        w[1] = (struct inode_owner) { .inode = 222 };
        w[2] = (struct inode_owner) { .inode = 111 };
        w[3] = (struct inode_owner) { .inode = 444 }; /* nobody's: every process is read */
        dirs[0] = cg;
        dirs[1] = cg; /* named twice: its processes read once */
        hints.n_cgroup_dirs = 2;
        CHECK_INT(owner_find(proc, &hints, OWNER_VIA_ANY, w, 4, &st), 3);
        /* sorted by inode */
        CHECK_INT(w[0].inode, 111);
        CHECK_INT(w[0].pid, 100);
        CHECK_STR(w[0].comm, "alpha");
        CHECK_INT(w[1].inode, 222);
        CHECK_INT(w[1].pid, 100);
        CHECK_STR(w[1].comm, "alpha");
        CHECK_INT(w[2].inode, 333);
        CHECK_INT(w[2].pid, 200);
        CHECK_STR(w[2].comm, "beta");
        CHECK_INT(w[3].pid, 0);
        CHECK_STR(w[3].comm, "");
        CHECK_INT(st.pids_read, 3);  /* 200 from the cgroup, not again from /proc */
        CHECK_INT(st.comms_read, 2); /* alpha and beta: gamma holds none */
        CHECK_INT(st.fds_read, 2 + 5 + 1);

        /* all found among the cgroup's processes: nothing else is read */
        w[0] = (struct inode_owner) { .inode = 333 };
        hints.n_cgroup_dirs = 1;
        CHECK_INT(owner_find(proc, &hints, OWNER_VIA_ANY, w, 1, &st), 1);
        CHECK_INT(w[0].pid, 200);
        CHECK_INT(st.pids_read, 1);
        CHECK(st.fds_read <= 2); /* at most all of 200's (a directory's order is its file system's) */
        CHECK_INT(st.comms_read, 1);

        /* no cgroup: /proc, until it is found */
        w[0] = (struct inode_owner) { .inode = 111 };
        CHECK_INT(owner_find(proc, NULL, OWNER_VIA_ANY, w, 1, &st), 1);
        CHECK_INT(w[0].pid, 100);
        CHECK(st.pids_read >= 1 && st.pids_read <= 3);
        CHECK_INT(st.comms_read, 1);

        /* the processes in the socket's namespace before the others: 300
         * alone is read, whatever the directory's order */
        w[0] = (struct inode_owner) { .inode = 777 };
        hints = (struct owner_hints) { .netns = &ns300, .n_netns = 1 };
        CHECK_INT(owner_find(proc, &hints, OWNER_VIA_ANY, w, 1, &st), 1);
        CHECK_INT(w[0].pid, 300);
        CHECK_INT(st.pids_read, 1);
        /* and the others after, each once, when it is not there */
        w[0] = (struct inode_owner) { .inode = 333 };
        w[1] = (struct inode_owner) { .inode = 444 };
        CHECK_INT(owner_find(proc, &hints, OWNER_VIA_ANY, w, 2, &st), 1);
        CHECK_INT(w[0].pid, 200);
        CHECK_INT(st.pids_read, 3);

        /* a cgroup that is gone, a proc root that is not there */
        snprintf(path, sizeof(path), "%s/gone", root);
        dirs[0] = path;
        hints = (struct owner_hints) { .cgroup_dirs = dirs, .n_cgroup_dirs = 1 };
        w[0] = (struct inode_owner) { .inode = 777 };
        CHECK_INT(owner_find(proc, &hints, OWNER_VIA_ANY, w, 1, &st), 1);
        CHECK_INT(w[0].pid, 300);
        CHECK_INT(owner_find(path, NULL, OWNER_VIA_ANY, w, 1, &st), -ENOENT);
        CHECK_INT(w[0].pid, 0);
        /* by BPF alone: a tree that is no procfs cannot be read so */
        w[0] = (struct inode_owner) { .inode = 777 };
        CHECK_INT(owner_find(proc, NULL, OWNER_VIA_BPF, w, 1, &st), -EXDEV);
        CHECK_INT(w[0].pid, 0);

        snprintf(path, sizeof(path), "rm -rf '%s'", root);
        CHECK_INT(system(path), 0);
}

int main(void) {
        find_ourselves("test-owner");
        /* a newline in the name: all of it, not what comes before */
        find_ourselves("nginx\nevil");
        find_ourselves("\x1b[2K\r\xff\xfe\n");
        /* 15 bytes, the most there is */
        find_ourselves("123456789012345");
        test_parse_link();
        test_real_tables();
        test_merge_records();
        test_status_pidns();
        test_bpf();
        test_fake_proc();
        return test_result("test-owner");
}
