/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A minimal check harness: every failed check prints where and what, the
 * test exits 1 if any failed. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(cond)                                                                        \
        do {                                                                               \
                if (!(cond)) {                                                             \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
                        test_failures++;                                                   \
                }                                                                          \
        } while (0)

#define CHECK_INT(a, b)                                                                    \
        do {                                                                               \
                long long _a = (long long) (a), _b = (long long) (b);                      \
                if (_a != _b) {                                                            \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",         \
                                __FILE__, __LINE__, #a, _a, #b, _b);                       \
                        test_failures++;                                                   \
                }                                                                          \
        } while (0)

#define CHECK_STR(a, b)                                                                    \
        do {                                                                               \
                const char *_a = (a), *_b = (b);                                           \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                   \
                        fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",           \
                                __FILE__, __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)"); \
                        test_failures++;                                                   \
                }                                                                          \
        } while (0)

static inline int test_result(const char *name) {
        if (test_failures)
                fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
        else
                printf("%s: all checks passed\n", name);
        return test_failures ? 1 : 0;
}
