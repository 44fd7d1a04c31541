/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sockfmt.h"
#include "util.h"

static const char *const state_names[FW_TCP_MAX_STATES] = {
        [FW_TCP_ESTABLISHED] = "ESTABLISHED",
        [FW_TCP_SYN_SENT] = "SYN_SENT",
        [FW_TCP_SYN_RECV] = "SYN_RECV",
        [FW_TCP_FIN_WAIT1] = "FIN_WAIT_1",
        [FW_TCP_FIN_WAIT2] = "FIN_WAIT_2",
        [FW_TCP_TIME_WAIT] = "TIME_WAIT",
        [FW_TCP_CLOSE] = "CLOSE",
        [FW_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
        [FW_TCP_LAST_ACK] = "LAST_ACK",
        [FW_TCP_LISTEN] = "LISTEN",
        [FW_TCP_CLOSING] = "CLOSING",
        [FW_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

const char *sockfmt_state_or_null(uint8_t state) {
        return state < FW_TCP_MAX_STATES ? state_names[state] : NULL;
}

const char *sockfmt_state_name(uint8_t state) {
        const char *s = sockfmt_state_or_null(state);

        return s ? s : "?";
}

/* The states a user may ask finwatch about, by their command line names. */
static const struct {
        const char *name;
        uint8_t state;
} closing_states[] = {
        { "fin-wait-1", FW_TCP_FIN_WAIT1 },
        { "last-ack",   FW_TCP_LAST_ACK },
        { "closing",    FW_TCP_CLOSING },
        { "fin-wait-2", FW_TCP_FIN_WAIT2 },
        { "close-wait", FW_TCP_CLOSE_WAIT },
};

static bool word_matches(const char *word, size_t len, const char *name) {
        if (strlen(name) != len)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = (char) tolower((unsigned char) word[i]);

                if (c == '_')
                        c = '-';
                if (c != name[i])
                        return false;
        }
        return true;
}

int sockfmt_states_parse(const char *list, uint32_t *ret_mask, const char **ret_bad, size_t *ret_bad_len) {
        uint32_t mask = 0;
        const char *p = list;

        for (;;) {
                size_t len = strcspn(p, ",");
                size_t i;

                for (i = 0; i < ELEMENTSOF(closing_states); i++)
                        if (word_matches(p, len, closing_states[i].name))
                                break;
                if (i >= ELEMENTSOF(closing_states)) {
                        if (ret_bad)
                                *ret_bad = p;
                        if (ret_bad_len)
                                *ret_bad_len = len;
                        return -EINVAL;
                }
                mask |= DIAG_STATE_BIT(closing_states[i].state);
                if (p[len] == '\0')
                        break;
                p += len + 1;
        }

        *ret_mask = mask;
        return 0;
}

char *sockfmt_states_format(char *buf, size_t size, uint32_t mask) {
        size_t off = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(closing_states); i++) {
                int r;

                if (!(mask & DIAG_STATE_BIT(closing_states[i].state)))
                        continue;
                r = snprintf(buf + off, size - off, "%s%s", off ? "," : "", closing_states[i].name);
                if (r < 0 || (size_t) r >= size - off)
                        break;
                off += (size_t) r;
        }
        return buf;
}

const char *sockfmt_timer_name(uint8_t timer) {
        switch (timer) {
        case DIAG_TIMER_OFF:
                return "off";
        case DIAG_TIMER_RETRANS:
                return "retransmit";
        case DIAG_TIMER_KEEPALIVE:
                return "keepalive";
        case DIAG_TIMER_TIMEWAIT:
                return "timewait";
        case DIAG_TIMER_PERSIST:
                return "persist";
        default:
                return "unknown";
        }
}

/* An octet's digits, no leading zero (finwatch list writes 8 a row). */
static char *put_octet(char *p, unsigned v) {
        if (v >= 100) {
                *p++ = (char) ('0' + v / 100);
                v %= 100;
                *p++ = (char) ('0' + v / 10);
        } else if (v >= 10)
                *p++ = (char) ('0' + v / 10);
        *p++ = (char) ('0' + v % 10);
        return p;
}

static char *put_ipv4(char *p, const uint8_t a[4]) {
        p = put_octet(p, a[0]);
        *p++ = '.';
        p = put_octet(p, a[1]);
        *p++ = '.';
        p = put_octet(p, a[2]);
        *p++ = '.';
        return put_octet(p, a[3]);
}

/* As glibc's inet_ntop (and so ss) writes it: RFC 5952 (lowercase, the
 * longest run of two or more zero groups as "::", the first of equals), and
 * ::a.b.c.d for an address with only its last 32 bits set. */
static char *put_ipv6(char *p, const uint8_t a[16]) {
        static const char hex[] = "0123456789abcdef";
        unsigned w[8];
        int best = -1, best_len = 0;

        for (int i = 0; i < 8; i++)
                w[i] = (unsigned) a[2 * i] << 8 | a[2 * i + 1];
        for (int i = 0; i < 8;) {
                int j = i;

                while (j < 8 && w[j] == 0)
                        j++;
                if (j - i > best_len) {
                        best = i;
                        best_len = j - i;
                }
                i = j > i ? j : i + 1;
        }
        if (best_len < 2)
                best = -1;

        for (int i = 0; i < 8; i++) {
                if (i == best) {
                        *p++ = ':';
                        if (i == 0)
                                *p++ = ':';
                        i += best_len - 1;
                        continue;
                }
                if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
                        return put_ipv4(p, a + 12);
                {
                        bool lead = true;

                        for (int shift = 12; shift >= 0; shift -= 4) {
                                unsigned d = (w[i] >> shift) & 0xf;

                                if (d == 0 && lead && shift > 0)
                                        continue;
                                lead = false;
                                *p++ = hex[d];
                        }
                }
                if (i < 7)
                        *p++ = ':';
        }
        return p;
}

/* The address as shown: v4-mapped IPv6 as IPv4. No NUL; returns the end
 * (room for INET6_ADDRSTRLEN). */
static char *put_address(char *p, uint8_t family, const uint8_t addr[16], bool *bracket) {
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

        *bracket = false;
        if (family != AF_INET6)
                return put_ipv4(p, addr);
        if (memcmp(addr, mapped, sizeof(mapped)) == 0)
                return put_ipv4(p, addr + 12);
        *bracket = true;
        return put_ipv6(p, addr);
}

char *sockfmt_address(char *buf, size_t size, uint8_t family, const uint8_t addr[16]) {
        char tmp[INET6_ADDRSTRLEN + 8], *p;
        bool bracket;

        p = put_address(tmp, family, addr, &bracket);
        *p = '\0';
        return copy_cut(buf, size, tmp);
}

/* Hot in finwatch list: no printf. */
char *sockfmt_put_endpoint(char *p, uint8_t family, const uint8_t addr[16], uint16_t port) {
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        bool bracket = family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) != 0;

        if (bracket)
                *p++ = '[';
        p = put_address(p, family, addr, &bracket);
        if (bracket)
                *p++ = ']';
        *p++ = ':';
        return put_u64(p, port);
}

char *sockfmt_endpoint(char *buf, size_t size, uint8_t family, const uint8_t addr[16], uint16_t port) {
        char tmp[ENDPOINT_STRLEN + 8];

        *sockfmt_put_endpoint(tmp, family, addr, port) = '\0';
        return copy_cut(buf, size, tmp);
}

const char *sockfmt_proto(const struct fw_sock *s) {
        return s->id.family == AF_INET6 ? "tcp6" : "tcp";
}

char *sockfmt_put_timer(char *p, const struct fw_sock *s) {
        const char *name;
        size_t l;

        if (s->timer == DIAG_TIMER_OFF)
                return mempcpy(p, "off", 3);
        name = sockfmt_timer_name(s->timer);
        l = strnlen(name, TIMER_STRLEN - 8);
        p = mempcpy(p, name, l);
        *p++ = '(';
        p = put_u64(p, s->timer_count);
        *p++ = ')';
        return p;
}

char *sockfmt_timer(char *buf, size_t size, const struct fw_sock *s) {
        char tmp[TIMER_STRLEN + 8];

        *sockfmt_put_timer(tmp, s) = '\0';
        return copy_cut(buf, size, tmp);
}
