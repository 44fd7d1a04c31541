/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

static const struct {
        const char *suffix;
        uint64_t usec;
} duration_units[] = {
        /* longest suffixes first so that "ms" is not read as "m" + "s" */
        { "usec", 1 },
        { "msec", USEC_PER_MSEC },
        { "min",  USEC_PER_MIN },
        { "sec",  USEC_PER_SEC },
        { "us",   1 },
        { "ms",   USEC_PER_MSEC },
        { "s",    USEC_PER_SEC },
        { "m",    USEC_PER_MIN },
        { "h",    USEC_PER_HOUR },
        { "d",    USEC_PER_DAY },
};

int parse_duration(const char *s, uint64_t *ret_usec) {
        uint64_t total = 0;
        bool any = false;

        if (!s)
                return -EINVAL;

        for (;;) {
                uint64_t v = 0, unit = USEC_PER_SEC;
                bool digits = false;

                while (isspace((unsigned char) *s))
                        s++;
                if (!*s)
                        break;

                for (; *s >= '0' && *s <= '9'; s++) {
                        if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                                return -ERANGE;
                        v = v * 10 + (uint64_t) (*s - '0');
                        digits = true;
                }
                if (!digits)
                        return -EINVAL;

                while (*s == ' ')
                        s++;
                if (isalpha((unsigned char) *s)) {
                        size_t n = 0, i;

                        while (isalpha((unsigned char) s[n]))
                                n++;
                        for (i = 0; i < ELEMENTSOF(duration_units); i++)
                                if (strlen(duration_units[i].suffix) == n &&
                                    strncmp(s, duration_units[i].suffix, n) == 0)
                                        break;
                        if (i >= ELEMENTSOF(duration_units))
                                return -EINVAL;
                        unit = duration_units[i].usec;
                        s += n;
                }

                if (v > UINT64_MAX / unit || total > UINT64_MAX - v * unit)
                        return -ERANGE;
                total += v * unit;
                any = true;
        }

        if (!any)
                return -EINVAL;
        *ret_usec = total;
        return 0;
}

unsigned u64_digits(uint64_t v) {
        unsigned d = 1;

        while (v >= 10) {
                v /= 10;
                d++;
        }
        return d;
}

char *put_u64_padded(char *p, uint64_t v, unsigned len) {
        /* two digits at a time, written from the last: no copy */
        static const char pairs[201] =
                "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                "8081828384858687888990919293949596979899";
        char *end = p + len;

        p = end;
        while (len >= 2) {
                p -= 2;
                memcpy(p, pairs + 2 * (v % 100), 2);
                v /= 100;
                len -= 2;
        }
        if (len)
                *--p = (char) ('0' + v % 10);
        return end;
}

char *put_u64(char *p, uint64_t v) {
        return put_u64_padded(p, v, u64_digits(v));
}

int grow_array(void **p, size_t *allocated, size_t need, size_t size, size_t min) {
        size_t a = *allocated ? *allocated : (min ? min : 1);
        void *q;

        if (need <= *allocated)
                return 0;
        while (a < need) {
                if (a > SIZE_MAX / 2)
                        return -ENOMEM;
                a *= 2;
        }
        if (a > SIZE_MAX / size)
                return -ENOMEM;
        q = realloc(*p, a * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *allocated = a;
        return 0;
}

void memory_prefault(void *p, size_t len) {
        uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);
        uintptr_t from = ((uintptr_t) p + page - 1) & ~(page - 1), to = ((uintptr_t) p + len) & ~(page - 1);

        if (to > from && to - from >= MEMORY_PREFAULT_MIN)
                (void) madvise((void *) from, to - from, MADV_POPULATE_WRITE);
}

char *copy_cut(char *buf, size_t size, const char *src) {
        size_t n;

        if (size == 0)
                return buf;
        n = strnlen(src, size - 1);
        memcpy(buf, src, n);
        buf[n] = '\0';
        return buf;
}

/* Hot in finwatch list: no printf. */
char *put_duration(char *p, uint64_t usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } parts[] = {
                { "d",   USEC_PER_DAY },
                { "h",   USEC_PER_HOUR },
                { "min", USEC_PER_MIN },
                { "s",   USEC_PER_SEC },
        };
        int shown = 0;

        if (usec < USEC_PER_SEC) {
                p = put_u64(p, usec / USEC_PER_MSEC);
                return mempcpy(p, "ms", 2);
        }

        /* Show the two most significant non-zero units: "2min 3s", "1h 5min". */
        for (size_t i = 0; i < ELEMENTSOF(parts) && shown < 2; i++) {
                uint64_t n = usec / parts[i].usec;
                size_t l = strlen(parts[i].suffix);

                if (n == 0) {
                        if (shown > 0)
                                break;
                        continue;
                }
                usec -= n * parts[i].usec;
                if (shown > 0)
                        *p++ = ' ';
                p = put_u64(p, n);
                memcpy(p, parts[i].suffix, l);
                p += l;
                shown++;
        }
        return p;
}

char *format_duration(char *buf, size_t size, uint64_t usec) {
        char tmp[DURATION_STRLEN];

        *put_duration(tmp, usec) = '\0';
        return copy_cut(buf, size, tmp);
}

uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

char *format_duration_exact(char *buf, size_t size, uint64_t usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } parts[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "min", USEC_PER_MIN },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        size_t off = 0;

        if (size == 0)
                return buf;
        if (usec == 0) {
                snprintf(buf, size, "0");
                return buf;
        }
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(parts) && usec > 0; i++) {
                uint64_t n = usec / parts[i].usec;
                int r;

                if (n == 0)
                        continue;
                usec -= n * parts[i].usec;
                r = snprintf(buf + off, size - off, "%s%" PRIu64 "%s", off ? " " : "", n, parts[i].suffix);
                if (r < 0 || (size_t) r >= size - off)
                        break;
                off += (size_t) r;
        }
        return buf;
}

const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFREG:
                return "a regular file";
        case S_IFDIR:
                return "a directory";
        case S_IFLNK:
                return "a symbolic link";
        case S_IFIFO:
                return "a FIFO";
        case S_IFSOCK:
                return "a socket";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        default:
                return "a file of unknown type";
        }
}

int send_with_fds(int fd, const void *buf, size_t len, const int *fds, size_t n_fds, int flags) {
        union {
                struct cmsghdr align;
                uint8_t space[CMSG_SPACE(sizeof(int) * SEND_FDS_MAX)];
        } control;
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (n_fds > SEND_FDS_MAX)
                return -EMSGSIZE;
        if (n_fds > 0) {
                struct cmsghdr *cm;

                memset(&control, 0, CMSG_SPACE(sizeof(int) * n_fds));
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
        }
        n = sendmsg(fd, &mh, flags);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

int fd_set_nonblock_cloexec(int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        flags = fcntl(fd, F_GETFD);
        if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
                return -errno;
        return 0;
}

int write_file_atomic(const char *path, mode_t mode, int (*fn)(FILE *f, const void *userdata), const void *userdata) {
        char tmp[4096];
        FILE *f;
        int fd, r;

        if ((size_t) snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
                return -ENAMETOOLONG;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        (void) fchmod(fd, mode);
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                unlink(tmp);
                return r;
        }
        r = fn(f, userdata);
        if (fflush(f) != 0 && r >= 0)
                r = -errno;
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

const struct linux_dirent64 *dirent_next(struct dirent_reader *r) {
        const struct linux_dirent64 *de;

        if (r->off >= r->got) {
                r->got = syscall(SYS_getdents64, r->fd, r->buf, r->size);
                r->off = 0;
                if (r->got <= 0) {
                        if (r->got == 0)
                                errno = 0;
                        return NULL;
                }
        }
        de = (const void *) (r->buf + r->off);
        r->off += de->d_reclen;
        return de;
}
