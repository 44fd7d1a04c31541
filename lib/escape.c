/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "util.h"

/* The length of the valid UTF-8 sequence that starts at s (1-4) and its
 * code point, or 0 when the byte at s starts none (RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF). s is NUL-terminated and a
 * NUL is no continuation byte, so nothing past it is read. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret) {
        unsigned char c = s[0];
        uint32_t cp, min;
        size_t n;

        if (c < 0x80) {
                *ret = c;
                return 1;
        }
        if (c < 0xc2) /* a continuation byte, or the overlong C0 and C1 */
                return 0;
        if (c < 0xe0) {
                n = 2;
                cp = c & 0x1f;
                min = 0x80;
        } else if (c < 0xf0) {
                n = 3;
                cp = c & 0x0f;
                min = 0x800;
        } else if (c < 0xf5) {
                n = 4;
                cp = c & 0x07;
                min = 0x10000;
        } else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret = cp;
        return n;
}

static bool is_control(uint32_t cp) {
        return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static bool plain_ascii(unsigned char c) {
        return c >= 0x20 && c < 0x7f && c != '\\';
}

/* The escaped form of the character (or the one invalid byte) at *p into
 * out (room for 2 * ESCAPE_MAX_PER_BYTE), *p moved past it; its length. */
static size_t escape_next(const unsigned char **p, char out[static 2 * ESCAPE_MAX_PER_BYTE]) {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *s = *p;
        uint32_t cp = 0;
        size_t n = utf8_decode(s, &cp), len = 0;

        if (n == 1 && plain_ascii(s[0])) {
                out[0] = (char) s[0];
                *p = s + 1;
                return 1;
        }
        if (n == 1 && s[0] == '\\') {
                out[0] = out[1] = '\\';
                *p = s + 1;
                return 2;
        }
        if (n > 1 && !is_control(cp)) {
                memcpy(out, s, n);
                *p = s + n;
                return n;
        }
        /* a control character (1 byte, or 2 for C1), or an invalid byte alone */
        if (n == 0)
                n = 1;
        for (size_t i = 0; i < n; i++) {
                out[len++] = '\\';
                out[len++] = 'x';
                out[len++] = hex[s[i] >> 4];
                out[len++] = hex[s[i] & 0xf];
        }
        *p = s + n;
        return len;
}

bool escape_needed(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                uint32_t cp;
                size_t n;

                if (plain_ascii(*p)) {
                        p++;
                        continue;
                }
                n = utf8_decode(p, &cp);
                if (n <= 1 || is_control(cp)) /* n == 1: a backslash or an ASCII control */
                        return true;
                p += n;
        }
        return false;
}

char *escape_cut(char *buf, size_t size, const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        size_t off = 0;

        if (size == 0)
                return buf;
        while (*p) {
                char unit[2 * ESCAPE_MAX_PER_BYTE];
                size_t len = escape_next(&p, unit);

                if (len >= size - off) /* and the NUL */
                        break;
                memcpy(buf + off, unit, len);
                off += len;
        }
        buf[off] = '\0';
        return buf;
}

char *escape_dup(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        size_t len = 1;
        char *buf;

        while (*p) {
                char unit[2 * ESCAPE_MAX_PER_BYTE];

                len += escape_next(&p, unit);
        }
        buf = malloc(len);
        return buf ? escape_cut(buf, len, s) : NULL;
}

static bool in_ranges(uint32_t cp, const uint32_t (*r)[2], size_t n) {
        for (size_t i = 0; i < n; i++)
                if (cp >= r[i][0] && cp <= r[i][1])
                        return true;
        return false;
}

size_t utf8_width(const char *s) {
        static const uint32_t wide[][2] = {
                { 0x1100, 0x115f },   /* Hangul Jamo initial consonants */
                { 0x2329, 0x232a },   /* angle brackets */
                { 0x2e80, 0x303e },   /* CJK radicals ... CJK symbols and punctuation */
                { 0x3040, 0xa4cf },   /* Hiragana ... Yi */
                { 0xac00, 0xd7a3 },   /* Hangul syllables */
                { 0xf900, 0xfaff },   /* CJK compatibility ideographs */
                { 0xfe10, 0xfe19 },   /* vertical forms */
                { 0xfe30, 0xfe6f },   /* CJK compatibility forms */
                { 0xff00, 0xff60 },   /* fullwidth forms */
                { 0xffe0, 0xffe6 },
                { 0x1f300, 0x1f64f }, /* pictographs, emoticons */
                { 0x1f900, 0x1f9ff },
                { 0x20000, 0x2fffd }, /* CJK extensions */
                { 0x30000, 0x3fffd },
        };
        static const uint32_t zero[][2] = {
                { 0x0300, 0x036f },   /* combining diacritical marks */
                { 0x1ab0, 0x1aff },
                { 0x1dc0, 0x1dff },
                { 0x200b, 0x200f },   /* zero width space, joiners, direction marks */
                { 0x20d0, 0x20ff },   /* combining marks for symbols */
                { 0xfe00, 0xfe0f },   /* variation selectors */
                { 0xfe20, 0xfe2f },   /* combining half marks */
                { 0xfeff, 0xfeff },   /* zero width no-break space */
        };
        const unsigned char *p = (const unsigned char *) s;
        size_t w = 0;

        while (*p) {
                uint32_t cp;
                size_t n;

                if (*p < 0x80) {
                        p++;
                        w++;
                        continue;
                }
                n = utf8_decode(p, &cp);
                if (n == 0) { /* not ours to get: as escape_cut would show it */
                        p++;
                        w += ESCAPE_MAX_PER_BYTE;
                        continue;
                }
                p += n;
                if (in_ranges(cp, zero, ELEMENTSOF(zero)))
                        continue;
                w += in_ranges(cp, wide, ELEMENTSOF(wide)) ? 2 : 1;
        }
        return w;
}
