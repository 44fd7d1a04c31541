/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Move ownership out of a cleanup-attributed local. */
#define TAKE_PTR(p) ({ __typeof__(p) _take_p = (p); (p) = NULL; _take_p; })
#define TAKE_FD(fd) ({ int _take_fd = (fd); (fd) = -EBADF; _take_fd; })

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC  UINT64_C(1000000)
#define USEC_PER_MIN  (UINT64_C(60) * USEC_PER_SEC)
#define USEC_PER_HOUR (UINT64_C(60) * USEC_PER_MIN)
#define USEC_PER_DAY  (UINT64_C(24) * USEC_PER_HOUR)

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
}

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

/* Spread a 64-bit key over all 64 bits (the splitmix64 finaliser): socket
 * cookies are sequential, and neighbours must not share hash slots. */
static inline uint64_t mix64(uint64_t x) {
        x ^= x >> 30;
        x *= UINT64_C(0xbf58476d1ce4e5b9);
        x ^= x >> 27;
        x *= UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

/* Make room in the array *p (room for *allocated elements of size bytes
 * now) for at least need: doubling from min, never shrinking. 0, or -ENOMEM
 * with *p and *allocated as they were. The one growth rule of every array
 * that grows one element at a time (systemd's GREEDY_REALLOC). */
int grow_array(void **p, size_t *allocated, size_t need, size_t size, size_t min);
#define GROW(p, allocated, need, min) grow_array((void **) &(p), &(allocated), (need), sizeof(*(p)), (min))

/* Fault in, all at once, the pages of a large array about to be written
 * (MADV_POPULATE_WRITE, Linux 5.14): a fault per 4 KiB page costs far more,
 * most of all in a VM (finwatch list of 50k sockets here: 4,085 faults ->
 * 1,036, 182 -> 169 ms). Under MEMORY_PREFAULT_MIN of whole pages is left
 * alone (a system call is not worth fewer faults; 1 MiB was too much: an
 * array doubling from a power of two adds exactly that, less the part of
 * a page at each end, and was never prefaulted). Only a hint. */
#define MEMORY_PREFAULT_MIN (64u << 10)
void memory_prefault(void *p, size_t len);

/* Parse "500ms", "30s", "5min", "2h", "1d" (and sums such as "1min 30s") into
 * microseconds. A bare number is seconds. Returns 0 or -EINVAL/-ERANGE. */
int parse_duration(const char *s, uint64_t *ret_usec);

/* The decimal digits of v (1 for 0). */
unsigned u64_digits(uint64_t v);
/* v in exactly len decimal digits at p (leading zeros; the low len digits
 * of a larger v), no NUL; returns the end. */
char *put_u64_padded(char *p, uint64_t v, unsigned len);
/* Decimal digits of v at p, no NUL; returns the end. Needs room for 20. */
char *put_u64(char *p, uint64_t v);

/* Copy the NUL-terminated src into buf of size, cut to fit; returns buf. */
char *copy_cut(char *buf, size_t size, const char *src);

/* Format microseconds the way finwatch shows ages: "2min 3s", "450ms", "1h 5min".
 * Always NUL-terminates; returns buf. */
char *format_duration(char *buf, size_t size, uint64_t usec);
#define DURATION_STRLEN 32
/* The same at p (room for DURATION_STRLEN), no NUL; returns the end. */
char *put_duration(char *p, uint64_t usec);

/* Format microseconds exactly, in the syntax parse_duration reads back:
 * "5s", "200ms", "1min 30s", "0". */
char *format_duration_exact(char *buf, size_t size, uint64_t usec);

/* strtoul for a whole string into uint64, base 10 only. 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *ret);

/* The clock in microseconds. */
uint64_t now_usec(clockid_t clock);

/* What a file of this st_mode is, for a message: "a regular file", "a
 * FIFO", "a symbolic link", ... */
const char *file_type_name(mode_t mode);

/* A directory's entries read with getdents64 straight into the caller's
 * buffer (no DIR: fdopendir costs an fcntl and an fstat; none of its
 * buffer's size): { .fd = dir, .buf = b, .size = sizeof(b) }, b aligned
 * to 8. */
struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};
struct dirent_reader {
        int fd;
        char *buf;
        size_t size;
        ssize_t got, off;
};
/* The next entry ("." and ".." among them), or NULL: at the end (errno
 * 0) or failing (errno set). */
const struct linux_dirent64 *dirent_next(struct dirent_reader *r);

/* Send one packet of len bytes on a socket, with n_fds descriptors
 * (SCM_RIGHTS, at most SEND_FDS_MAX) if n_fds > 0. flags as for sendmsg().
 * 0 when it all went, -errno otherwise (-EMSGSIZE for too many fds, -EIO
 * for a short send). */
#define SEND_FDS_MAX 253 /* the kernel's SCM_MAX_FD */
int send_with_fds(int fd, const void *buf, size_t len, const int *fds, size_t n_fds, int flags);

/* O_NONBLOCK and FD_CLOEXEC on an inherited descriptor. 0 or -errno. */
int fd_set_nonblock_cloexec(int fd);

/* Write a file so that readers see the old one or the whole new one: a
 * temporary file in the same directory, written by fn, then renamed over
 * path. mode: the new file's permissions. 0 or -errno. */
int write_file_atomic(const char *path, mode_t mode, int (*fn)(FILE *f, const void *userdata), const void *userdata);
