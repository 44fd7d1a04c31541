/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Names other users wrote, escaped (escape.c): what must pass as it is,
 * what must become \xNN, and that the result is whole and valid UTF-8. */
#include <locale.h>
#include <stdlib.h>
#include <wchar.h>
#include <wctype.h>

#include "escape.h"
#include "test.h"
#include "util.h"

static const struct {
        const char *in, *out;
} cases[] = {
        /* as they are: ASCII, valid multibyte UTF-8 (2, 3 and 4 bytes) */
        { "nginx.service", "nginx.service" },
        { "", "" },
        { "h\xc3\xa9llo", "h\xc3\xa9llo" },                     /* héllo */
        { "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac" }, /* 日本 */
        { "\xf0\x9f\x90\xa7", "\xf0\x9f\x90\xa7" },             /* U+1F427 */
        { "\xef\xbf\xbd", "\xef\xbf\xbd" },                     /* U+FFFD itself is valid */
        { "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },             /* U+10FFFF, the last */
        /* terminal commands: ESC, CR, LF, TAB, BEL, DEL */
        { "\x1b[2K\rforged", "\\x1b[2K\\x0dforged" },
        { "a\nb\tc\a", "a\\x0ab\\x09c\\x07" },
        { "\x7f", "\\x7f" },
        /* the C1 controls, valid UTF-8 (U+0085 NEL, U+009B CSI): each byte */
        { "\xc2\x85x\xc2\x9b", "\\xc2\\x85x\\xc2\\x9b" },
        /* U+00A0, the first after C1: printable */
        { "\xc2\xa0", "\xc2\xa0" },
        /* not UTF-8 at all */
        { "\xff\xfe", "\\xff\\xfe" },
        { "a\x80z", "a\\x80z" },                                /* a lone continuation byte */
        { "\xc0\xaf", "\\xc0\\xaf" },                           /* overlong '/' */
        { "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },                  /* overlong, 3 bytes */
        { "\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf" },         /* overlong, 4 bytes */
        { "\xc1\xbf", "\\xc1\\xbf" },
        { "\xe6\x97", "\\xe6\\x97" },                           /* truncated at the end */
        { "\xe6\x97z\xa5", "\\xe6\\x97z\\xa5" },                /* truncated in the middle */
        { "\xed\xa0\x80", "\\xed\\xa0\\x80" },                  /* a surrogate, U+D800 */
        { "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },         /* above U+10FFFF */
        { "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80" },
        /* a backslash doubled: the escaped text tells the bytes back */
        { "a\\b", "a\\\\b" },
        { "\\x1b", "\\\\x1b" },
        { "dev-disk-by\\x2duuid.device", "dev-disk-by\\\\x2duuid.device" },
        /* mixed: the valid part kept around the bad bytes */
        { "\xff" "caf\xc3\xa9\x1b", "\\xffcaf\xc3\xa9\\x1b" },
};

/* Valid UTF-8 with no control character, as glibc's own decoder sees it
 * (not ours): what json_string and a terminal take. */
static bool clean_utf8(const char *s) {
        mbstate_t st = {};
        size_t left = strlen(s);

        while (left > 0) {
                wchar_t wc;
                size_t n = mbrtowc(&wc, s, left, &st);

                if (n == (size_t) -1 || n == (size_t) -2 || n == 0 || iswcntrl((wint_t) wc))
                        return false;
                s += n;
                left -= n;
        }
        return true;
}

static void test_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[256], *dup = escape_dup(cases[i].in);

                CHECK_STR(escape_cut(buf, sizeof(buf), cases[i].in), cases[i].out);
                CHECK_STR(dup, cases[i].out);
                CHECK_INT(escape_needed(cases[i].in), strcmp(cases[i].in, cases[i].out) != 0);
                CHECK(clean_utf8(buf));
                free(dup);
        }
}

static void test_cut(void) {
        char buf[8];

        /* whole escapes only: "ab" and "\x1b" (4) fit in 7, the next does not */
        CHECK_STR(escape_cut(buf, sizeof(buf), "ab\x1b\x1b"), "ab\\x1b");
        /* whole characters only: 日本 is 6 bytes, a third does not fit in 7 */
        CHECK_STR(escape_cut(buf, sizeof(buf), "\xe6\x97\xa5\xe6\x9c\xac\xe6\x97\xa5"),
                  "\xe6\x97\xa5\xe6\x9c\xac");
        CHECK_STR(escape_cut(buf, 3, "a\\b"), "a");
        CHECK_STR(escape_cut(buf, 1, "abc"), "");
        /* the worst case fits in ESCAPE_MAX_PER_BYTE per byte */
        {
                char in[] = "\xff\xff\xff", out[ESCAPE_MAX_PER_BYTE * 3 + 1];

                CHECK_STR(escape_cut(out, sizeof(out), in), "\\xff\\xff\\xff");
        }
}

static void test_width(void) {
        CHECK_INT(utf8_width(""), 0);
        CHECK_INT(utf8_width("nginx"), 5);
        CHECK_INT(utf8_width("h\xc3\xa9llo"), 5);
        CHECK_INT(utf8_width("\xe6\x97\xa5\xe6\x9c\xac"), 4);          /* wide */
        CHECK_INT(utf8_width("e\xcc\x81"), 1);                         /* e + combining acute */
        CHECK_INT(utf8_width("\\x1b[2K"), 7);
}

int main(void) {
        if (!setlocale(LC_CTYPE, "C.UTF-8")) {
                fprintf(stderr, "no C.UTF-8 locale\n");
                return 1;
        }
        /* the checker itself: it must see the bad bytes as bad */
        CHECK(clean_utf8("h\xc3\xa9llo"));
        CHECK(!clean_utf8("\xff"));
        CHECK(!clean_utf8("\xc0\xaf"));
        CHECK(!clean_utf8("\xed\xa0\x80"));
        CHECK(!clean_utf8("\x1b"));
        CHECK(!clean_utf8("\xc2\x85"));
        test_cases();
        test_cut();
        test_width();
        return test_result("test-escape");
}
