/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whose a socket is (owner.c), for a socket of our own: the process and
 * its command name as the kernel has it, whatever bytes a process put in. */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "owner.h"
#include "test.h"
#include "util.h"

static void find_ourselves(const char *comm) {
        _cleanup_(closep) int a = -EBADF, b = -EBADF;
        struct inode_owner w = {};
        int fds[2];
        struct stat st;

        CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        a = fds[0];
        b = fds[1];
        CHECK_INT(fstat(a, &st), 0);
        CHECK_INT(prctl(PR_SET_NAME, comm), 0);
        w.inode = (uint32_t) st.st_ino;
        CHECK_INT(owner_find_pids(NULL, &w, 1), 1);
        CHECK_INT(w.pid, getpid());
        CHECK_STR(w.comm, comm);
}

int main(void) {
        find_ourselves("test-owner");
        /* a newline in the name: all of it, not what comes before */
        find_ourselves("nginx\nevil");
        find_ourselves("\x1b[2K\r\xff\xfe\n");
        /* 15 bytes, the most there is */
        find_ourselves("123456789012345");
        return test_result("test-owner");
}
