/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <sys/stat.h>

#include "idmap.h"
#include "test.h"
#include "util.h"

static void test_parse_duration(void) {
        static const struct {
                const char *in;
                uint64_t usec;
        } good[] = {
                { "500ms", 500 * USEC_PER_MSEC },
                { "30s", 30 * USEC_PER_SEC },
                { "5min", 5 * USEC_PER_MIN },
                { "2h", 2 * USEC_PER_HOUR },
                { "1d", USEC_PER_DAY },
                { "7", 7 * USEC_PER_SEC },
                { "1min 30s", 90 * USEC_PER_SEC },
                { "1min30s", 90 * USEC_PER_SEC },
                { " 250 ms ", 250 * USEC_PER_MSEC },
                { "0", 0 },
                { "10us", 10 },
        };
        static const char *const bad[] = {
                "", "   ", "ms", "5x", "-1s", "1.5s", "5 minutes", "s5", "18446744073709551616",
                "99999999999999d",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                uint64_t v = 1;
                CHECK_INT(parse_duration(good[i].in, &v), 0);
                CHECK_INT(v, good[i].usec);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uint64_t v = 0;
                if (parse_duration(bad[i], &v) >= 0) {
                        fprintf(stderr, "accepted bad duration '%s'\n", bad[i]);
                        test_failures++;
                }
        }
}

static void test_format_duration(void) {
        char buf[DURATION_STRLEN];

        CHECK_STR(format_duration(buf, sizeof(buf), 0), "0ms");
        CHECK_STR(format_duration(buf, sizeof(buf), 450 * USEC_PER_MSEC), "450ms");
        CHECK_STR(format_duration(buf, sizeof(buf), 2 * USEC_PER_MIN + 3 * USEC_PER_SEC), "2min 3s");
        CHECK_STR(format_duration(buf, sizeof(buf), USEC_PER_HOUR + 5 * USEC_PER_MIN + 7 * USEC_PER_SEC), "1h 5min");
        CHECK_STR(format_duration(buf, sizeof(buf), 2 * USEC_PER_MIN), "2min");
        CHECK_STR(format_duration(buf, sizeof(buf), 3 * USEC_PER_DAY + 4 * USEC_PER_HOUR), "3d 4h");
        CHECK_STR(format_duration(buf, sizeof(buf), UINT64_MAX), "213503982d 8h");
        /* A tiny buffer is cut, never overrun. */
        char small[4];
        format_duration(small, sizeof(small), 2 * USEC_PER_MIN + 3 * USEC_PER_SEC);
        CHECK(strlen(small) < sizeof(small));
}

static void test_parse_u64(void) {
        uint64_t v;

        CHECK_INT(parse_u64("0", &v), 0);
        CHECK_INT(v, 0);
        CHECK_INT(parse_u64("18446744073709551615", &v), 0);
        CHECK(v == UINT64_MAX);
        CHECK_INT(parse_u64("18446744073709551616", &v), -ERANGE);
        CHECK_INT(parse_u64("", &v), -EINVAL);
        CHECK_INT(parse_u64("12a", &v), -EINVAL);
        CHECK_INT(parse_u64("-1", &v), -EINVAL);
}

static void test_file_type_name(void) {
        CHECK_STR(file_type_name(S_IFREG | 0644), "a regular file");
        CHECK_STR(file_type_name(S_IFIFO | 0600), "a FIFO");
        CHECK_STR(file_type_name(S_IFLNK | 0777), "a symbolic link");
        CHECK_STR(file_type_name(S_IFDIR | 0755), "a directory");
        CHECK_STR(file_type_name(S_IFSOCK | 0666), "a socket");
        CHECK_STR(file_type_name(S_IFCHR), "a character device");
        CHECK_STR(file_type_name(S_IFBLK), "a block device");
        CHECK_STR(file_type_name(0), "a file of unknown type");
}

/* idmap: sequential keys (cookies, cgroup ids) through growth */
static void test_idmap(void) {
        struct idmap m = {};

        CHECK_INT(idmap_get(&m, 5), IDMAP_NONE);
        CHECK_INT(idmap_put(&m, 0, 1), -EINVAL);
        for (uint64_t k = 1; k <= 10000; k++)
                CHECK_INT(idmap_put(&m, k * 4096, (uint32_t) k), 0);
        CHECK_INT(m.size, 10000);
        CHECK(m.size * 4 <= m.capacity * 3);
        for (uint64_t k = 1; k <= 10000; k++)
                if (idmap_get(&m, k * 4096) != k) {
                        fprintf(stderr, "idmap: key %" PRIu64 " lost\n", k * 4096);
                        test_failures++;
                        break;
                }
        CHECK_INT(idmap_get(&m, 4097), IDMAP_NONE);
        CHECK_INT(idmap_get(&m, 0), IDMAP_NONE);
        CHECK_INT(idmap_put(&m, 4096, 77), 0); /* set again: replaced, not added */
        CHECK_INT(idmap_get(&m, 4096), 77);
        CHECK_INT(m.size, 10000);
        /* add: a set's insert, the first value kept */
        CHECK_INT(idmap_add(&m, 4096, 5), 0);
        CHECK_INT(idmap_get(&m, 4096), 77);
        CHECK_INT(idmap_add(&m, 4097, 5), 1);
        CHECK_INT(idmap_get(&m, 4097), 5);
        CHECK_INT(m.size, 10001);
        CHECK_INT(idmap_add(&m, 0, 5), -EINVAL);
        idmap_clear(&m);
        CHECK_INT(m.size, 0);
        CHECK_INT(idmap_get(&m, 8192), IDMAP_NONE);
        idmap_done(&m);
        CHECK(m.slots == NULL);
}

static void test_put_u64(void) {
        for (int i = 0; i < 3000; i++) {
                uint64_t v = i < 1000 ? (uint64_t) i : ((uint64_t) random() << 33 ^ (uint64_t) random()) >> (i % 64);
                char want[32], got[32];

                snprintf(want, sizeof(want), "%" PRIu64, v);
                *put_u64(got, v) = '\0';
                CHECK_STR(got, want);
        }
        {
                char got[32];

                *put_u64(got, UINT64_MAX) = '\0';
                CHECK_STR(got, "18446744073709551615");
                /* padded: leading zeros, the low digits of a larger one */
                *put_u64_padded(got, 7, 3) = '\0';
                CHECK_STR(got, "007");
                *put_u64_padded(got, 123456, 4) = '\0';
                CHECK_STR(got, "3456");
                *put_u64_padded(got, 0, 1) = '\0';
                CHECK_STR(got, "0");
                *put_u64_padded(got, UINT64_MAX, 20) = '\0';
                CHECK_STR(got, "18446744073709551615");
        }
}

int main(void) {
        test_put_u64();
        test_idmap();
        test_parse_duration();
        test_file_type_name();
        test_format_duration();
        test_parse_u64();
        return test_result("test-util");
}
