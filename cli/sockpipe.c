/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <pthread.h>
#include <string.h>

#include "sockpipe.h"
#include "util.h"

struct block {
        size_t n;
        unsigned char ctx[SOCKPIPE_CTX_MAX];
        struct fw_sock s[SOCKPIPE_BLOCK];
};

struct sockpipe {
        sockpipe_fn fn;
        void *userdata;
        struct block *blocks;            /* SOCKPIPE_BLOCKS, a ring */
        unsigned char ctx[SOCKPIPE_CTX_MAX]; /* for the blocks begun from now on */
        size_t prod;                     /* the block being filled (mod SOCKPIPE_BLOCKS); the caller's */
        size_t done_here;                /* sockets done in the caller's thread, before any other */
        /* under lock */
        pthread_mutex_t lock;
        pthread_cond_t cond;             /* a block handed over, or given back, or the end */
        bool full[SOCKPIPE_BLOCKS];      /* handed over and not yet done */
        bool closed;                     /* nothing more will come */
        int error;                       /* fn's first */
        size_t cons;                     /* the next block the thread takes; the thread's */
        pthread_t thread;
        bool started, finished;
};

/* fn's first error; the thread sets it under the lock once started */
static int pipe_error(struct sockpipe *p) {
        int r;

        if (!p->started)
                return p->error;
        pthread_mutex_lock(&p->lock);
        r = p->error;
        pthread_mutex_unlock(&p->lock);
        return r;
}

static int run_block(struct sockpipe *p, struct block *b) {
        int r = 0;

        for (size_t i = 0; i < b->n && r >= 0; i++)
                r = p->fn(&b->s[i], b->ctx, p->userdata);
        b->n = 0;
        return r;
}

static void *consume(void *arg) {
        struct sockpipe *p = arg;

        for (;;) {
                size_t at;
                int r, error;

                pthread_mutex_lock(&p->lock);
                at = p->cons % SOCKPIPE_BLOCKS;
                while (!p->full[at] && !p->closed)
                        pthread_cond_wait(&p->cond, &p->lock);
                if (!p->full[at]) { /* closed, and all done */
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                error = p->error;
                pthread_mutex_unlock(&p->lock);

                r = error < 0 ? 0 : run_block(p, &p->blocks[at]);
                p->blocks[at].n = 0;

                pthread_mutex_lock(&p->lock);
                if (r < 0 && p->error == 0)
                        p->error = r;
                p->full[at] = false;
                p->cons++;
                pthread_cond_broadcast(&p->cond);
                pthread_mutex_unlock(&p->lock);
        }
}

int sockpipe_new(struct sockpipe **ret, sockpipe_fn fn, void *userdata) {
        struct sockpipe *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        p->blocks = calloc(SOCKPIPE_BLOCKS, sizeof(*p->blocks));
        if (!p->blocks) {
                free(p);
                return -ENOMEM;
        }
        p->fn = fn;
        p->userdata = userdata;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        *ret = p;
        return 0;
}

/* Hand the block being filled over (in the caller's thread when there is
 * no other: may_start, a thread is started for it), and wait until the
 * next one is free to fill. */
static int hand_over(struct sockpipe *p, bool may_start) {
        struct block *b = &p->blocks[p->prod % SOCKPIPE_BLOCKS];
        int r;

        if (b->n == 0)
                return pipe_error(p);
        if (!p->started && may_start && p->done_here >= SOCKPIPE_HERE)
                p->started = pthread_create(&p->thread, NULL, consume, p) == 0;
        if (!p->started) {
                p->done_here += b->n;
                r = p->error < 0 ? 0 : run_block(p, b);
                if (r < 0 && p->error == 0)
                        p->error = r;
                b->n = 0;
                return p->error;
        }
        pthread_mutex_lock(&p->lock);
        p->full[p->prod % SOCKPIPE_BLOCKS] = true;
        p->prod++;
        pthread_cond_broadcast(&p->cond);
        while (p->full[p->prod % SOCKPIPE_BLOCKS])
                pthread_cond_wait(&p->cond, &p->lock);
        r = p->error;
        pthread_mutex_unlock(&p->lock);
        return r;
}

int sockpipe_context(struct sockpipe *p, const void *ctx, size_t size) {
        int r;

        assert(size <= SOCKPIPE_CTX_MAX);
        r = hand_over(p, true); /* a block has one context */
        memset(p->ctx, 0, sizeof(p->ctx));
        memcpy(p->ctx, ctx, size);
        return r;
}

int sockpipe_add(const struct fw_sock *s, void *pipe) {
        struct sockpipe *p = pipe;
        struct block *b = &p->blocks[p->prod % SOCKPIPE_BLOCKS];

        assert(!p->finished);
        if (b->n == 0)
                memcpy(b->ctx, p->ctx, sizeof(b->ctx));
        b->s[b->n++] = *s;
        return b->n == SOCKPIPE_BLOCK ? hand_over(p, true) : 0;
}

int sockpipe_finish(struct sockpipe *p) {
        int r;

        if (p->finished)
                return p->error;
        /* the last block: here, if there is no thread (a dump of at most SOCKPIPE_HERE sockets) */
        r = hand_over(p, false);
        p->finished = true;
        if (p->started) {
                pthread_mutex_lock(&p->lock);
                p->closed = true;
                pthread_cond_broadcast(&p->cond);
                pthread_mutex_unlock(&p->lock);
                pthread_join(p->thread, NULL);
                p->started = false;
                r = p->error;
        }
        return r;
}

struct sockpipe *sockpipe_free(struct sockpipe *p) {
        if (!p)
                return NULL;
        (void) sockpipe_finish(p);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p->blocks);
        free(p);
        return NULL;
}
