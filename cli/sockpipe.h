/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The sockets of a dump handed to a second thread as they are parsed, in
 * blocks, so that what is done with each (finwatch list: annotate, name,
 * sort key, table cells) runs while the kernel makes the next part of the
 * dump, on another CPU: the list then takes about as long as the dump
 * alone, not the dump and then that. In order, each socket with the
 * context it was added under (its namespace's). The first SOCKPIPE_HERE
 * sockets are done in the caller's thread (a thread and its malloc arena
 * cost more than a small dump saves: at 1,000 sockets, 2.6 ms of CPU and
 * 0.8 ms of wall time here), and all of them where no thread can be
 * started, the same. */

#include <stddef.h>

#include "diag.h"

#define SOCKPIPE_BLOCK 256       /* sockets handed over at once */
#define SOCKPIPE_BLOCKS 8        /* blocks in flight */
#define SOCKPIPE_CTX_MAX 64      /* bytes of context */
#define SOCKPIPE_HERE 1024       /* sockets done in the caller's thread first */

/* What is done with each socket, in the second thread; a negative return
 * stops it (the rest is dropped) and is what sockpipe_add() and
 * sockpipe_finish() return from then on. ctx: the context it was added
 * under. */
typedef int (*sockpipe_fn)(const struct fw_sock *s, const void *ctx, void *userdata);

struct sockpipe;
int sockpipe_new(struct sockpipe **ret, sockpipe_fn fn, void *userdata);
/* The context of the sockets added from now on (size <= SOCKPIPE_CTX_MAX
 * bytes, copied). 0, or the error fn returned. */
int sockpipe_context(struct sockpipe *p, const void *ctx, size_t size);
/* Add a socket (a diag_sock_fn: userdata is the pipe). 0, or the error fn
 * returned (the dump should stop). */
int sockpipe_add(const struct fw_sock *s, void *pipe);
/* Every socket added done, the thread gone: 0, or the first error of fn.
 * Nothing may be added after. */
int sockpipe_finish(struct sockpipe *p);
/* Finishes it if it was not. */
struct sockpipe *sockpipe_free(struct sockpipe *p);
static inline void sockpipe_freep(struct sockpipe **p) {
        sockpipe_free(*p);
}
