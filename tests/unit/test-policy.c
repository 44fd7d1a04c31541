/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The auto-kill policy and its budget, with an injected clock. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "peer.h"
#include "policy.h"
#include "test.h"
#include "util.h"

#define S USEC_PER_SEC

static struct config conf(const char *text) {
        struct config c;
        char err[256];
        FILE *f = fmemopen((void *) text, strlen(text), "r");

        CHECK_INT(config_parse(f, "t.conf", &c, err, sizeof(err)), 0);
        fclose(f);
        return c;
}

static struct tracked entry(uint8_t state, uint16_t sport, uint16_t dport, const char *peer) {
        struct tracked e = { .id.cookie = 1, .state = state, .id.sport = sport, .id.dport = dport, .id.family = AF_INET };

        if (strchr(peer, ':')) {
                e.id.family = AF_INET6;
                inet_pton(AF_INET6, peer, e.id.dst);
        } else
                inet_pton(AF_INET, peer, e.id.dst);
        return e;
}

int main(void) {
        struct config c;
        struct tracked e;
        struct kill_budget b = {};

        /* off by default */
        c = conf("");
        e = entry(FW_TCP_LAST_ACK, 445, 1094, "10.0.0.2");
        CHECK(!policy_wants_kill(&c, &e, 1000 * 60 * S));

        c = conf("[kill]\nauto = yes\nafter = 15min\nafter_last_ack = 1min\n");
        CHECK(!policy_wants_kill(&c, &e, 59 * S));
        CHECK(policy_wants_kill(&c, &e, 60 * S));
        e.state = FW_TCP_FIN_WAIT1;
        CHECK(!policy_wants_kill(&c, &e, 60 * S));
        CHECK(policy_wants_kill(&c, &e, 15 * 60 * S));
        /* never outside the closing states */
        e.state = FW_TCP_ESTABLISHED;
        CHECK(!policy_wants_kill(&c, &e, 100 * 60 * S));
        /* a clock before the state began (restored entry, clock oddity) */
        e = entry(FW_TCP_LAST_ACK, 445, 1094, "10.0.0.2");
        e.state_since = 100 * S;
        CHECK(!policy_wants_kill(&c, &e, 50 * S));

        /* [kill] blocking: a socket whose peer is reconnecting goes at once,
         * with auto = no too; nothing else does; the exclusions still hold */
        c = conf("[kill]\nblocking = yes\nafter = 1h\nexclude_ports = 22\n");
        e = entry(FW_TCP_FIN_WAIT1, 9000, 30000, "127.0.0.1");
        CHECK(!policy_wants_kill(&c, &e, 2 * S));
        e.peer = PEER_ANSWERING;
        CHECK(!policy_wants_kill(&c, &e, 2 * S));
        e.peer = PEER_RECONNECTING;
        CHECK(policy_wants_kill(&c, &e, 0));
        e.id.sport = 22;
        CHECK(!policy_wants_kill(&c, &e, 2 * S));
        e = entry(FW_TCP_ESTABLISHED, 9000, 30000, "127.0.0.1");
        e.peer = PEER_RECONNECTING;
        CHECK(!policy_wants_kill(&c, &e, 2 * S));
        c = conf("[kill]\nauto = yes\nafter = 1h\n");
        e = entry(FW_TCP_FIN_WAIT1, 9000, 30000, "127.0.0.1");
        e.peer = PEER_RECONNECTING;
        CHECK(!policy_wants_kill(&c, &e, 2 * S)); /* off by default */

        c = conf("[kill]\nauto = dry-run\nafter = 1s\nexclude_ports = 22, 8000-8100\n"
                 "exclude_peers = 10.0.0.0/8, 2001:db8::/32, 192.0.2.7\n");
        CHECK(policy_wants_kill(&c, &(struct tracked) { .state = FW_TCP_LAST_ACK, .id.sport = 445, .id.family = AF_INET,
                                                         .id.dst = { 192, 0, 2, 8 } }, 2 * S));
        e = entry(FW_TCP_LAST_ACK, 22, 5000, "192.0.2.9");
        CHECK(!policy_wants_kill(&c, &e, 2 * S));          /* local port excluded */
        e = entry(FW_TCP_LAST_ACK, 445, 8050, "192.0.2.9");
        CHECK(!policy_wants_kill(&c, &e, 2 * S));          /* peer port in the range */
        e = entry(FW_TCP_LAST_ACK, 445, 8101, "192.0.2.9");
        CHECK(policy_wants_kill(&c, &e, 2 * S));
        e = entry(FW_TCP_LAST_ACK, 445, 1094, "10.200.3.4");
        CHECK(!policy_wants_kill(&c, &e, 2 * S));          /* peer in 10/8 */
        e = entry(FW_TCP_LAST_ACK, 445, 1094, "11.0.0.1");
        CHECK(policy_wants_kill(&c, &e, 2 * S));
        e = entry(FW_TCP_LAST_ACK, 445, 1094, "192.0.2.7");
        CHECK(!policy_wants_kill(&c, &e, 2 * S));          /* a single address */
        e = entry(FW_TCP_LAST_ACK, 445, 1094, "::ffff:10.1.1.1");
        CHECK(!policy_wants_kill(&c, &e, 2 * S));          /* v4-mapped counts as IPv4 */
        e = entry(FW_TCP_LAST_ACK, 445, 1094, "2001:db8:ffff::1");
        CHECK(!policy_wants_kill(&c, &e, 2 * S));
        e = entry(FW_TCP_LAST_ACK, 445, 1094, "2001:db9::1");
        CHECK(policy_wants_kill(&c, &e, 2 * S));

        c = conf("[kill]\nauto = yes\nafter = 1s\nonly_ports = 445\n");
        e = entry(FW_TCP_LAST_ACK, 445, 1094, "10.0.0.2");
        CHECK(policy_wants_kill(&c, &e, 2 * S));
        e = entry(FW_TCP_LAST_ACK, 80, 1094, "10.0.0.2");
        CHECK(!policy_wants_kill(&c, &e, 2 * S));

        /* the budget: 3 a minute, then the next minute */
        for (int i = 0; i < 3; i++)
                CHECK(policy_budget_take(&b, 3, 10 * S));
        CHECK(!policy_budget_take(&b, 3, 30 * S));
        CHECK(!policy_budget_take(&b, 3, 69 * S));
        CHECK(policy_budget_take(&b, 3, 70 * S));
        return test_result("test-policy");
}
