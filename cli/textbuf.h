/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Text written in 64 KiB chunks, and the formatters finwatch list writes
 * with: no printf, no allocation, so nothing fails between the first byte
 * and the last but the writing itself (-EIO). What 50,000 rows of table or
 * JSON need to be written at the speed of the dump they come from. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TEXTBUF_SIZE 65536

struct textbuf {
        FILE *f;                 /* where full chunks go */
        size_t n;                /* bytes in buf */
        int error;               /* -EIO once a write failed: what follows is dropped */
        char buf[TEXTBUF_SIZE];
};

void textbuf_init(struct textbuf *t, FILE *f);
/* Write what is held. */
void textbuf_flush(struct textbuf *t);
/* Flush, fflush: 0, or -EIO when any write failed. */
int textbuf_done(struct textbuf *t);

/* Room for n more bytes (n at most TEXTBUF_SIZE): at t->buf + t->n. */
static inline char *textbuf_room(struct textbuf *t, size_t n) {
        if (TEXTBUF_SIZE - t->n < n)
                textbuf_flush(t);
        return t->buf + t->n;
}

void textbuf_put_long(struct textbuf *t, const char *s, size_t len);

static inline void textbuf_put(struct textbuf *t, const char *s, size_t len) {
        if (len > 4096) {
                textbuf_put_long(t, s, len);
                return;
        }
        memcpy(textbuf_room(t, len), s, len);
        t->n += len;
}

static inline void textbuf_puts(struct textbuf *t, const char *s) {
        textbuf_put(t, s, strlen(s));
}

static inline void textbuf_char(struct textbuf *t, char c) {
        *textbuf_room(t, 1) = c;
        t->n++;
}

/* n spaces. */
void textbuf_pad(struct textbuf *t, size_t n);
/* v in decimal; signed with a '-' when negative. */
void textbuf_u64(struct textbuf *t, uint64_t v);
void textbuf_i64(struct textbuf *t, int64_t v);
/* v / 10^digits exactly, as a JSON number with a fraction: "90.5",
 * "45.123456", "3.0" (never an integer: a reader must see a real). The
 * double a reader makes of it is the one (double) v / 10^digits is, both
 * being the nearest to the same decimal. digits at most 9. */
void textbuf_decimal(struct textbuf *t, uint64_t v, unsigned digits);
/* A JSON string of s (quotes included), escaped as jansson escapes: '"'
 * and '\\', control characters as \b \f \n \r \t or \u00XX; the rest as
 * it is (s must be valid UTF-8: names pass through escape.h first). */
void textbuf_json_string(struct textbuf *t, const char *s);
/* seconds since the epoch as UTC in ISO 8601: "2026-11-24T09:00:00Z". */
void textbuf_utc(struct textbuf *t, int64_t seconds);

