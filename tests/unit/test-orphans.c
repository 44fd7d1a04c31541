/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "orphans.h"
#include "test.h"
#include "util.h"

int main(void) {
        uint64_t v = 0;
        struct orphan_count c = { .orphans = 10, .max_orphans = 1000 };
        bool armed = true;

        CHECK_INT(orphans_parse_sockstat("sockets: used 13\nTCP: inuse 1 orphan 2 tw 0 alloc 20 mem 232\n"
                                              "UDP: inuse 0 mem 0\n", &v), 0);
        CHECK_INT(v, 2);
        CHECK_INT(orphans_parse_sockstat("TCP: inuse 1 orphan 77 tw 0\n", &v), 0);
        CHECK_INT(v, 77);
        CHECK_INT(orphans_parse_sockstat("sockets: used 13\nUDP: inuse 0 orphan 5\n", &v), -EBADMSG);
        CHECK_INT(orphans_parse_sockstat("", &v), -EBADMSG);
        CHECK_INT(orphans_parse_sockstat("TCP: inuse 1 orphan x\n", &v), -EBADMSG);

        /* 50% of 1000: nothing at 10, an alert once at 500, re-armed below 450 */
        CHECK(!orphans_budget_check(&c, 5000, &armed));
        c.orphans = 500;
        CHECK(orphans_budget_check(&c, 5000, &armed));
        CHECK(!orphans_budget_check(&c, 5000, &armed));
        c.orphans = 460;
        CHECK(!orphans_budget_check(&c, 5000, &armed));
        CHECK(!armed);
        c.orphans = 449;
        CHECK(!orphans_budget_check(&c, 5000, &armed));
        CHECK(armed);
        c.orphans = 600;
        CHECK(orphans_budget_check(&c, 5000, &armed));
        /* off, or the limit unknown: never */
        armed = true;
        CHECK(!orphans_budget_check(&c, 0, &armed));
        c.max_orphans = 0;
        CHECK(!orphans_budget_check(&c, 5000, &armed));
        return test_result("test-orphans");
}
