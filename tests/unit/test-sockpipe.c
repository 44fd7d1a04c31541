/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sockets of a dump handed to a second thread (sockpipe.c): all of
 * them, in order, each with the context it was added under; a dump of
 * less than a block, or of at most SOCKPIPE_HERE sockets, done in the
 * caller's thread, a larger one's rest in the other; the first error stops it
 * and is said. */
#include <pthread.h>
#include <stdlib.h>

#include "sockpipe.h"
#include "test.h"
#include "util.h"

struct seen {
        uint64_t *cookies;
        unsigned *ctx;
        size_t n, allocated;
        pthread_t thread;        /* the last socket's */
        size_t fail_at;          /* fail at this one (0: never) */
};

static int take(const struct fw_sock *s, const void *ctx, void *userdata) {
        struct seen *v = userdata;
        unsigned c;

        memcpy(&c, ctx, sizeof(c));
        if (v->fail_at && v->n + 1 == v->fail_at)
                return -ENOMEM;
        if (v->n >= v->allocated) {
                if (GROW(v->cookies, v->allocated, v->n + 1, 1024) < 0)
                        return -ENOMEM;
                v->ctx = realloc(v->ctx, v->allocated * sizeof(*v->ctx));
                if (!v->ctx)
                        return -ENOMEM;
        }
        v->cookies[v->n] = s->id.cookie;
        v->ctx[v->n++] = c;
        v->thread = pthread_self();
        return 0;
}

static void test_order(size_t n, bool other_thread) {
        struct sockpipe *p = NULL;
        struct seen v = {};
        unsigned ctx = 0;

        CHECK_INT(sockpipe_new(&p, take, &v), 0);
        for (size_t i = 0; i < n; i++) {
                struct fw_sock s = { .id.cookie = i + 1 };

                if (i % 1000 == 0) { /* a namespace of its own, each 1000 */
                        ctx = (unsigned) (i / 1000);
                        CHECK_INT(sockpipe_context(p, &ctx, sizeof(ctx)), 0);
                }
                CHECK_INT(sockpipe_add(&s, p), 0);
        }
        CHECK_INT(sockpipe_finish(p), 0);
        CHECK_INT(v.n, n);
        for (size_t i = 0; i < v.n; i++)
                if (v.cookies[i] != i + 1 || v.ctx[i] != i / 1000) {
                        fprintf(stderr, "socket %zu: cookie %" PRIu64 " context %u\n", i, v.cookies[i], v.ctx[i]);
                        test_failures++;
                        break;
                }
        if (n > 0)
                CHECK(pthread_equal(v.thread, pthread_self()) == !other_thread);
        sockpipe_free(p);
        free(v.cookies);
        free(v.ctx);
}

static void test_error(void) {
        struct sockpipe *p = NULL;
        struct seen v = { .fail_at = 5000 };
        int r = 0;
        size_t added = 0;

        CHECK_INT(sockpipe_new(&p, take, &v), 0);
        for (size_t i = 0; i < 100000 && r == 0; i++, added++) {
                struct fw_sock s = { .id.cookie = i + 1 };

                r = sockpipe_add(&s, p);
        }
        CHECK_INT(r, -ENOMEM);          /* said to the one adding */
        CHECK(added < 100000);          /* which stopped */
        CHECK_INT(sockpipe_finish(p), -ENOMEM);
        CHECK_INT(v.n, 4999);           /* none after the one that failed */
        sockpipe_free(p);
        free(v.cookies);
        free(v.ctx);
}

int main(void) {
        test_order(100000, true);
        test_order(SOCKPIPE_BLOCK - 1, false); /* less than a block: no thread */
        test_order(SOCKPIPE_HERE, false);      /* a small dump: no thread */
        test_order(SOCKPIPE_HERE + 3 * SOCKPIPE_BLOCK, true); /* more: the rest in the thread */
        test_order(0, false);
        test_error();
        /* freed unfinished: finished then */
        {
                struct sockpipe *p = NULL;
                struct seen v = {};
                struct fw_sock s = { .id.cookie = 7 };

                CHECK_INT(sockpipe_new(&p, take, &v), 0);
                for (int i = 0; i < 1000; i++)
                        CHECK_INT(sockpipe_add(&s, p), 0);
                sockpipe_free(p);
                CHECK_INT(v.n, 1000);
                free(v.cookies);
                free(v.ctx);
        }
        return test_result("test-sockpipe");
}
