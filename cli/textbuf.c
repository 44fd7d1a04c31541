/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>

#include "textbuf.h"
#include "util.h"

void textbuf_init(struct textbuf *t, FILE *f) {
        t->f = f;
        t->n = 0;
        t->error = 0;
}

void textbuf_flush(struct textbuf *t) {
        if (t->n > 0 && t->error == 0 && fwrite(t->buf, 1, t->n, t->f) != t->n)
                t->error = -EIO;
        t->n = 0;
}

int textbuf_done(struct textbuf *t) {
        textbuf_flush(t);
        if (fflush(t->f) != 0 || ferror(t->f))
                t->error = -EIO;
        return t->error;
}

void textbuf_put_long(struct textbuf *t, const char *s, size_t len) {
        textbuf_flush(t);
        if (t->error == 0 && fwrite(s, 1, len, t->f) != len)
                t->error = -EIO;
}

void textbuf_pad(struct textbuf *t, size_t n) {
        while (n > 0) {
                size_t k = n < 256 ? n : 256;

                memset(textbuf_room(t, k), ' ', k);
                t->n += k;
                n -= k;
        }
}

void textbuf_u64(struct textbuf *t, uint64_t v) {
        char *p = textbuf_room(t, 20);

        t->n += (size_t) (put_u64(p, v) - p);
}

void textbuf_i64(struct textbuf *t, int64_t v) {
        if (v < 0) {
                textbuf_char(t, '-');
                textbuf_u64(t, (uint64_t) 0 - (uint64_t) v);
        } else
                textbuf_u64(t, (uint64_t) v);
}

void textbuf_decimal(struct textbuf *t, uint64_t v, unsigned digits) {
        static const uint64_t pow10[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
                                          1000000000 };
        uint64_t whole = v / pow10[digits], frac = v % pow10[digits];
        char *p;

        textbuf_u64(t, whole);
        p = textbuf_room(t, 1 + digits);
        *p = '.';
        if (frac == 0) {
                p[1] = '0';
                t->n += 2;
                return;
        }
        while (frac % 10 == 0) { /* trailing zeros dropped */
                frac /= 10;
                digits--;
        }
        put_u64_padded(p + 1, frac, digits);
        t->n += 1 + digits;
}

void textbuf_json_string(struct textbuf *t, const char *s) {
        static const char hex[] = "0123456789ABCDEF";

        textbuf_char(t, '"');
        for (;;) {
                const char *run = s;

                /* a run that needs nothing, copied at once */
                while (*s && *s != '"' && *s != '\\' && (unsigned char) *s >= 0x20)
                        s++;
                textbuf_put(t, run, (size_t) (s - run));
                if (!*s)
                        break;
                {
                        char *p = textbuf_room(t, 6);
                        unsigned char c = (unsigned char) *s++;

                        p[0] = '\\';
                        switch (c) {
                        case '"':  p[1] = '"'; t->n += 2; continue;
                        case '\\': p[1] = '\\'; t->n += 2; continue;
                        case '\b': p[1] = 'b'; t->n += 2; continue;
                        case '\f': p[1] = 'f'; t->n += 2; continue;
                        case '\n': p[1] = 'n'; t->n += 2; continue;
                        case '\r': p[1] = 'r'; t->n += 2; continue;
                        case '\t': p[1] = 't'; t->n += 2; continue;
                        default:
                                memcpy(p + 1, "u00", 3);
                                p[4] = hex[c >> 4];
                                p[5] = hex[c & 15];
                                t->n += 6;
                        }
                }
        }
        textbuf_char(t, '"');
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil,
 * reversed): exact for every day of the proleptic Gregorian calendar. */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d) {
        int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        uint64_t doe = (uint64_t) (z - era * 146097);
        uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint64_t mp = (5 * doy + 2) / 153;

        *d = (unsigned) (doy - (153 * mp + 2) / 5 + 1);
        *m = (unsigned) (mp < 10 ? mp + 3 : mp - 9);
        *y = (int64_t) yoe + era * 400 + (*m <= 2);
}

void textbuf_utc(struct textbuf *t, int64_t seconds) {
        int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
        int64_t sod = seconds - days * 86400, year;
        unsigned month, day;
        char *p;

        civil(days, &year, &month, &day);
        if (year < 0 || year > 9999) { /* not a time finwatch meets: as strftime would, roughly */
                textbuf_i64(t, year);
                textbuf_char(t, '?');
                return;
        }
        p = textbuf_room(t, 20);
        put_u64_padded(p, (uint64_t) year, 4);
        p[4] = '-';
        put_u64_padded(p + 5, month, 2);
        p[7] = '-';
        put_u64_padded(p + 8, day, 2);
        p[10] = 'T';
        put_u64_padded(p + 11, (uint64_t) sod / 3600, 2);
        p[13] = ':';
        put_u64_padded(p + 14, (uint64_t) sod / 60 % 60, 2);
        p[16] = ':';
        put_u64_padded(p + 17, (uint64_t) sod % 60, 2);
        p[19] = 'Z';
        t->n += 20;
}
