/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "sockfmt.h"
#include "test.h"
#include "util.h"

static void addr(uint8_t out[16], int family, const char *text) {
        memset(out, 0, 16);
        CHECK_INT(inet_pton(family, text, out), 1);
}

static void test_endpoints(void) {
        char buf[ENDPOINT_STRLEN];
        uint8_t a[16];

        addr(a, AF_INET, "10.0.0.1");
        CHECK_STR(sockfmt_endpoint(buf, sizeof(buf), AF_INET, a, 445), "10.0.0.1:445");
        addr(a, AF_INET6, "::1");
        CHECK_STR(sockfmt_endpoint(buf, sizeof(buf), AF_INET6, a, 9000), "[::1]:9000");
        addr(a, AF_INET6, "2001:db8::42");
        CHECK_STR(sockfmt_endpoint(buf, sizeof(buf), AF_INET6, a, 65535), "[2001:db8::42]:65535");
        /* v4-mapped IPv6 shows as IPv4 */
        addr(a, AF_INET6, "::ffff:127.0.0.1");
        CHECK_STR(sockfmt_endpoint(buf, sizeof(buf), AF_INET6, a, 80), "127.0.0.1:80");
        CHECK_STR(sockfmt_address(buf, sizeof(buf), AF_INET6, a), "127.0.0.1");
        /* the longest address fits */
        addr(a, AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        CHECK_STR(sockfmt_endpoint(buf, sizeof(buf), AF_INET6, a, 65535),
                  "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

static void test_states(void) {
        uint32_t mask = 0;
        const char *bad = NULL;
        size_t bad_len = 99;
        char buf[128];

        CHECK_STR(sockfmt_state_or_null(FW_TCP_FIN_WAIT1), "FIN_WAIT_1");
        CHECK_STR(sockfmt_state_or_null(FW_TCP_LAST_ACK), "LAST_ACK");
        CHECK_STR(sockfmt_state_or_null(FW_TCP_ESTABLISHED), "ESTABLISHED");
        CHECK(sockfmt_state_or_null(0) == NULL);
        CHECK(sockfmt_state_or_null(200) == NULL);

        CHECK_INT(sockfmt_states_parse("fin-wait-1,last-ack", &mask, NULL, NULL), 0);
        CHECK_INT(mask, DIAG_STATES_DEFAULT);
        CHECK_INT(sockfmt_states_parse("LAST_ACK", &mask, NULL, NULL), 0);
        CHECK_INT(mask, DIAG_STATE_BIT(FW_TCP_LAST_ACK));
        CHECK_INT(sockfmt_states_parse("closing,fin-wait-2,close-wait,fin-wait-1,last-ack", &mask, NULL, NULL), 0);
        CHECK_INT(mask, DIAG_STATES_CLOSING);
        CHECK_STR(sockfmt_states_format(buf, sizeof(buf), mask), "fin-wait-1,last-ack,closing,fin-wait-2,close-wait");

        CHECK_INT(sockfmt_states_parse("fin-wait-1,established", &mask, &bad, &bad_len), -EINVAL);
        CHECK_INT(bad_len, strlen("established"));
        CHECK(bad && strncmp(bad, "established", bad_len) == 0);
        CHECK_INT(sockfmt_states_parse("", &mask, &bad, &bad_len), -EINVAL);
        CHECK_INT(bad_len, 0);
        CHECK_INT(sockfmt_states_parse("last-ack,", &mask, &bad, &bad_len), -EINVAL);
        CHECK_INT(bad_len, 0);
        CHECK_INT(sockfmt_states_parse("fin-wait", &mask, NULL, NULL), -EINVAL);
        CHECK_INT(sockfmt_states_parse("fin-wait-11", &mask, NULL, NULL), -EINVAL);
}

static void test_timer(void) {
        struct fw_sock s = { .timer = DIAG_TIMER_RETRANS, .timer_count = 3 };
        char buf[TIMER_STRLEN];

        CHECK_STR(sockfmt_timer(buf, sizeof(buf), &s), "retransmit(3)");
        s.timer = DIAG_TIMER_PERSIST;
        s.timer_count = 12;
        CHECK_STR(sockfmt_timer(buf, sizeof(buf), &s), "persist(12)");
        s.timer = DIAG_TIMER_OFF;
        CHECK_STR(sockfmt_timer(buf, sizeof(buf), &s), "off");
        CHECK_STR(sockfmt_timer_name(9), "unknown");
        s.id.family = AF_INET6;
        CHECK_STR(sockfmt_proto(&s), "tcp6");
        s.id.family = AF_INET;
        CHECK_STR(sockfmt_proto(&s), "tcp");
}

/* The hand-written formatting against glibc's inet_ntop, which ss uses:
 * random addresses with random runs of zero groups, and the odd cases. */
static void test_addresses_like_inet_ntop(void) {
        static const char *const odd[] = {
                "::", "::1", "1::", "::2:3", "::ffff:0:1", "0:0:0:0:0:1:0:0", "1:0:0:1:0:0:0:1", "1:0:1:0:1:0:1:0",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1.2.3.4", "2001:db8::", "0:1::", "fe80::1:0:0:0",
                "::fffe:1.2.3.4", "::ffff:0:0", "1:2:3:4:5:6:7:8",
        };
        uint64_t x = 88172645463325252ull;
        unsigned mismatches = 0;

        for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]) + 200000; i++) {
                char want[INET6_ADDRSTRLEN], got[ENDPOINT_STRLEN], ep[ENDPOINT_STRLEN], ep_want[ENDPOINT_STRLEN + 8];
                uint8_t a[16];
                bool mapped;

                if (i < sizeof(odd) / sizeof(odd[0]))
                        CHECK(inet_pton(AF_INET6, odd[i], a) == 1);
                else
                        for (int g = 0; g < 8; g++) {
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                                /* mostly zero groups, so that runs of every length come up */
                                a[2 * g] = (x & 3) ? 0 : (uint8_t) (x >> 8);
                                a[2 * g + 1] = (x & 12) ? 0 : (uint8_t) (x >> 16);
                        }
                mapped = memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
                inet_ntop(mapped ? AF_INET : AF_INET6, mapped ? a + 12 : a, want, sizeof(want));
                sockfmt_address(got, sizeof(got), AF_INET6, a);
                snprintf(ep_want, sizeof(ep_want), mapped ? "%s:%u" : "[%s]:%u", want, (unsigned) (i % 65536));
                sockfmt_endpoint(ep, sizeof(ep), AF_INET6, a, (uint16_t) (i % 65536));
                if (strcmp(got, want) != 0 || strcmp(ep, ep_want) != 0) {
                        if (mismatches++ < 5)
                                fprintf(stderr, "address: got %s / %s, want %s / %s\n", got, ep, want, ep_want);
                }
                {
                        uint8_t v4[16] = {};

                        memcpy(v4, a + 4, 4);
                        inet_ntop(AF_INET, v4, want, sizeof(want));
                        sockfmt_address(got, sizeof(got), AF_INET, v4);
                }
                if (strcmp(got, want) != 0 && mismatches++ < 5)
                        fprintf(stderr, "IPv4: got %s, want %s\n", got, want);
        }
        CHECK_INT(mismatches, 0);
}

static void test_durations_cut(void) {
        static const uint8_t lo[16] = { 127, 0, 0, 1 };
        char b[8];

        CHECK_STR(format_duration(b, sizeof(b), 3 * USEC_PER_DAY + 5 * USEC_PER_HOUR), "3d 5h");
        CHECK_STR(format_duration(b, 4, 3 * USEC_PER_DAY + 5 * USEC_PER_HOUR), "3d ");
        CHECK_STR(format_duration(b, sizeof(b), 999), "0ms");
        CHECK_STR(sockfmt_endpoint(b, sizeof(b), AF_INET, lo, 9000), "127.0.0");
}

int main(void) {
        test_addresses_like_inet_ntop();
        test_durations_cut();
        test_endpoints();
        test_states();
        test_timer();
        return test_result("test-sockfmt");
}
