/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The formatters finwatch list writes with (textbuf.c), against what they
 * replace: printf's digits, jansson's escapes, gmtime_r and strftime, and
 * the double a JSON reader makes of a number. */
#include <jansson.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"
#include "textbuf.h"
#include "util.h"

/* What fn writes, as a string (the caller frees it). */
static char *written(void (*fn)(struct textbuf *t, const void *arg), const void *arg) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        struct textbuf *t = malloc(sizeof(*t));

        CHECK(f != NULL && t != NULL);
        textbuf_init(t, f);
        fn(t, arg);
        CHECK_INT(textbuf_done(t), 0);
        fclose(f);
        free(t);
        return text;
}

static void put_u64_arg(struct textbuf *t, const void *arg) {
        textbuf_u64(t, *(const uint64_t *) arg);
}

static void put_i64_arg(struct textbuf *t, const void *arg) {
        textbuf_i64(t, *(const int64_t *) arg);
}

struct decimal_arg {
        uint64_t v;
        unsigned digits;
};

static void put_decimal_arg(struct textbuf *t, const void *arg) {
        const struct decimal_arg *d = arg;

        textbuf_decimal(t, d->v, d->digits);
}

static void put_string_arg(struct textbuf *t, const void *arg) {
        textbuf_json_string(t, arg);
}

static void put_utc_arg(struct textbuf *t, const void *arg) {
        textbuf_utc(t, *(const int64_t *) arg);
}

static uint64_t rnd(void) {
        return (uint64_t) random() << 33 ^ (uint64_t) random() << 11 ^ (uint64_t) random();
}

static void test_numbers(void) {
        static const uint64_t fixed[] = { 0, 1, 9, 10, 99, 100, 12345, 4294967295u, UINT64_MAX };

        for (size_t i = 0; i < ELEMENTSOF(fixed) + 2000; i++) {
                uint64_t v = i < ELEMENTSOF(fixed) ? fixed[i] : rnd() >> (random() % 64);
                int64_t sv = (int64_t) v;
                char want[32], *got;

                snprintf(want, sizeof(want), "%" PRIu64, v);
                got = written(put_u64_arg, &v);
                CHECK_STR(got, want);
                free(got);
                CHECK_INT(u64_digits(v), strlen(want));
                snprintf(want, sizeof(want), "%" PRId64, sv);
                got = written(put_i64_arg, &sv);
                CHECK_STR(got, want);
                free(got);
        }
}

/* Exact decimals: the text, and that a reader's double is (double) v / 10^d. */
static void test_decimals(void) {
        static const struct {
                uint64_t v;
                unsigned digits;
                const char *text;
        } cases[] = {
                { 90500000, 6, "90.5" },
                { 45123456, 6, "45.123456" },
                { 3000000, 6, "3.0" },
                { 0, 6, "0.0" },
                { 1, 6, "0.000001" },
                { 921000, 3, "921.0" },
                { 1500, 3, "1.5" },
                { 7, 0, "7.0" },
        };
        static const double scale[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct decimal_arg d = { cases[i].v, cases[i].digits };
                char *got = written(put_decimal_arg, &d);

                CHECK_STR(got, cases[i].text);
                free(got);
        }
        for (int i = 0; i < 5000; i++) {
                struct decimal_arg d = { rnd() >> (11 + random() % 53), i % 2 ? 6 : 3 };
                char *got = written(put_decimal_arg, &d);
                json_t *j = json_loads(got, JSON_DECODE_ANY, NULL);

                if (!j || !json_is_real(j) || json_real_value(j) != (double) d.v / scale[d.digits]) {
                        fprintf(stderr, "%" PRIu64 " / 10^%u as \"%s\": not the same real\n", d.v, d.digits, got);
                        test_failures++;
                }
                json_decref(j);
                free(got);
        }
}

/* The same text jansson writes for a string, every byte below 0x80 and
 * UTF-8 beyond it. */
static void test_strings(void) {
        static const char *const cases[] = {
                "", "nginx.service", "a\"b", "back\\slash", "\b\f\n\r\t", "\x01\x1f\x7f", "h\xc3\xa9llo",
                "\xe6\x97\xa5\xe6\x9c\xac", "evil\\x1b[2K\\x0d.scope", "/user.slice/x",
        };
        char all[128];

        for (int c = 1; c < 128; c++)
                all[c - 1] = (char) c;
        all[127] = '\0';
        for (size_t i = 0; i <= ELEMENTSOF(cases); i++) {
                const char *s = i < ELEMENTSOF(cases) ? cases[i] : all;
                json_t *j = json_string(s);
                char *want = json_dumps(j, JSON_ENCODE_ANY), *got = written(put_string_arg, s);

                CHECK_STR(got, want);
                free(want);
                free(got);
                json_decref(j);
        }
}

static void test_utc(void) {
        static const int64_t fixed[] = { 0, 86399, 86400, 951782400 /* 2000-02-29 */, 1795510800, 4102444800 - 1,
                                         253402300799 /* 9999-12-31T23:59:59 */ };

        for (size_t i = 0; i < ELEMENTSOF(fixed) + 5000; i++) {
                int64_t v = i < ELEMENTSOF(fixed) ? fixed[i] : (int64_t) (rnd() % UINT64_C(253402300800));
                time_t tt = (time_t) v;
                struct tm tm;
                char want[32], *got;

                CHECK(gmtime_r(&tt, &tm) != NULL);
                strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
                got = written(put_utc_arg, &v);
                CHECK_STR(got, want);
                free(got);
        }
}

/* Past a chunk: written in order, none lost. */
static void put_many(struct textbuf *t, const void *arg) {
        for (int i = 0; i < 100000; i++) {
                textbuf_u64(t, (uint64_t) i);
                textbuf_pad(t, (size_t) (i % 7));
                textbuf_char(t, '\n');
        }
        {
                static char big[300000];

                memset(big, 'x', sizeof(big) - 1);
                textbuf_puts(t, big);
        }
}

static void test_chunks(void) {
        char *got = written(put_many, NULL), *p = got;

        for (int i = 0; i < 100000 && p; i++) {
                char *end;
                unsigned long v = strtoul(p, &end, 10);

                if (v != (unsigned long) i || strspn(end, " ") != (size_t) (i % 7) || end[i % 7] != '\n') {
                        fprintf(stderr, "line %d wrong\n", i);
                        test_failures++;
                        break;
                }
                p = end + i % 7 + 1;
        }
        CHECK_INT(strlen(p), 300000 - 1);
        free(got);
}

/* A write that fails: -EIO, said at the end. */
static void test_write_error(void) {
        FILE *f = fopen("/dev/full", "we");
        struct textbuf *t = malloc(sizeof(*t));

        CHECK(f != NULL && t != NULL);
        if (!f || !t) {
                free(t);
                return;
        }
        textbuf_init(t, f);
        for (int i = 0; i < 100000; i++)
                textbuf_u64(t, (uint64_t) i);
        CHECK_INT(textbuf_done(t), -EIO);
        fclose(f);
        free(t);
}

int main(void) {
        srandom(42);
        test_numbers();
        test_decimals();
        test_strings();
        test_utc();
        test_chunks();
        test_write_error();
        return test_result("test-textbuf");
}
