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

const char *tcp_state_to_string(uint8_t state) {
        return state < FW_TCP_MAX_STATES ? state_names[state] : NULL;
}

const char *tcp_state_name(uint8_t state) {
        const char *s = tcp_state_to_string(state);

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

int tcp_states_parse(const char *list, uint32_t *ret_mask, const char **ret_bad, size_t *ret_bad_len) {
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

char *tcp_states_format(char *buf, size_t size, uint32_t mask) {
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

const char *diag_timer_to_string(uint8_t timer) {
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

char *format_address(char *buf, size_t size, uint8_t family, const uint8_t addr[16]) {
        char tmp[INET6_ADDRSTRLEN];
        struct in6_addr a6;

        memcpy(&a6, addr, sizeof(a6));
        if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6))
                inet_ntop(AF_INET, addr + 12, tmp, sizeof(tmp));
        else if (family == AF_INET6)
                inet_ntop(AF_INET6, addr, tmp, sizeof(tmp));
        else
                inet_ntop(AF_INET, addr, tmp, sizeof(tmp));
        snprintf(buf, size, "%s", tmp);
        return buf;
}

char *format_endpoint(char *buf, size_t size, uint8_t family, const uint8_t addr[16], uint16_t port) {
        char a[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        bool bracket;

        memcpy(&a6, addr, sizeof(a6));
        bracket = family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&a6);
        format_address(a, sizeof(a), family, addr);
        snprintf(buf, size, bracket ? "[%s]:%u" : "%s:%u", a, (unsigned) port);
        return buf;
}

const char *fw_sock_proto(const struct fw_sock *s) {
        return s->family == AF_INET6 ? "tcp6" : "tcp";
}

char *format_timer(char *buf, size_t size, const struct fw_sock *s) {
        if (s->timer == DIAG_TIMER_OFF)
                snprintf(buf, size, "off");
        else
                snprintf(buf, size, "%s(%u)", diag_timer_to_string(s->timer), (unsigned) s->timer_count);
        return buf;
}
