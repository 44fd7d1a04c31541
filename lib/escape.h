/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Names finwatch did not write - a process's command name, a cgroup's or a
 * unit's name, a network namespace's - are another user's bytes: a process
 * may name itself "\e[2K\r..." and a cgroup may be named with any byte but
 * '/'. Everywhere finwatch shows such a name (table, JSON, metrics, journal
 * records) it shows it escaped, one way, the way systemd shows what it did
 * not write (cescape, xescape): valid UTF-8 passes as it is, and
 *   - a control character (U+0000-U+001F, U+007F, the C1 controls
 *     U+0080-U+009F) becomes \xNN for each of its bytes,
 *   - every byte that is not part of a valid UTF-8 sequence (a lone
 *     continuation byte, an overlong form, a surrogate, a truncated
 *     sequence, 0xC0, 0xC1, 0xF5-0xFF) becomes \xNN,
 *   - a backslash becomes \\,
 * with NN two lower-case hex digits. The result is always valid UTF-8,
 * holds no control character, and tells the original bytes back exactly. */

#include <stdbool.h>
#include <stddef.h>

/* The most bytes one input byte becomes: "\xNN". */
#define ESCAPE_MAX_PER_BYTE 4

/* Does s need escaping? false for nearly every real name, which is then
 * used as it is. */
bool escape_needed(const char *s);

/* The escaped s into buf of size: whole escapes and whole characters only
 * (cut before the first that does not fit), always NUL-terminated (size >
 * 0); returns buf. A buffer of ESCAPE_MAX_PER_BYTE * strlen(s) + 1 is never
 * too small. */
char *escape_cut(char *buf, size_t size, const char *s);

/* The escaped s, newly allocated; NULL when out of memory. */
char *escape_dup(const char *s);

/* How many terminal columns the valid UTF-8 text s takes (escaped text, or
 * our own): a column for each character, two for the East Asian wide and
 * fullwidth ones, none for combining marks (after Markus Kuhn's wcwidth;
 * no locale involved). */
size_t utf8_width(const char *s);
