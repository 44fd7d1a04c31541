/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "orphans.h"
#include "util.h"

int orphans_parse_sockstat(const char *text, uint64_t *ret) {
        const char *p = strstr(text, "\nTCP: ");
        const char *o;
        unsigned long long v;

        if (!p && strncmp(text, "TCP: ", 5) == 0)
                p = text;
        else if (p)
                p++;
        if (!p)
                return -EBADMSG;
        o = strstr(p, " orphan ");
        if (!o || o > strchr(p, '\n') || sscanf(o, " orphan %llu", &v) != 1)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int orphans_count_read(struct orphan_count *ret) {
        char text[1024];
        size_t n;
        FILE *f;
        unsigned long long max;

        f = fopen("/proc/net/sockstat", "re");
        if (!f)
                return -errno;
        n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        if (orphans_parse_sockstat(text, &ret->orphans) < 0)
                return -EBADMSG;

        f = fopen("/proc/sys/net/ipv4/tcp_max_orphans", "re");
        if (!f)
                return -errno;
        if (fscanf(f, "%llu", &max) != 1) {
                fclose(f);
                return -EBADMSG;
        }
        fclose(f);
        ret->max_orphans = max;
        return 0;
}

bool orphans_budget_check(const struct orphan_count *c, unsigned budget_bp, bool *armed) {
        /* compare orphans / max with budget / 10000 without division */
        uint64_t have = c->orphans * 10000;
        uint64_t limit = c->max_orphans * budget_bp;

        if (budget_bp == 0 || c->max_orphans == 0)
                return false;
        if (*armed && have >= limit) {
                *armed = false;
                return true;
        }
        if (!*armed && have * 10 < limit * 9)
                *armed = true;
        return false;
}
