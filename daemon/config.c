/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "netns.h"
#include "sockfmt.h"
#include "util.h"

/* Debian's inih cuts lines at INI_MAX_LINE (200) bytes and parses the rest
 * as a new line; our reader refuses such lines instead. */
#define LINE_MAX_LEN (INI_MAX_LINE - 2)

struct parse_state {
        FILE *f;
        const char *path;
        unsigned line;              /* number of the line inih is handling */
        struct config *c;
        uint32_t seen;              /* bit per key table entry, for duplicates */
        char *err;
        size_t errsize;
        bool failed;
        unsigned error_line;        /* line of the error in err */
};

static void __attribute__((format(printf, 2, 3))) parse_error(struct parse_state *p, const char *fmt, ...) {
        va_list ap;
        int n;

        if (p->failed)
                return; /* keep the first error */
        p->failed = true;
        p->error_line = p->line;
        n = snprintf(p->err, p->errsize, "%s:%u: ", p->path, p->line);
        if (n < 0 || (size_t) n >= p->errsize)
                return;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errsize - (size_t) n, fmt, ap);
        va_end(ap);
}

/* ---- value parsers: 0 or a reason ---- */

typedef const char *(*value_parser)(const char *value, struct config *c, size_t offset, size_t size);

#define FIELD(c, offset, type) ((type *) ((char *) (c) + (offset)))

/* A duration within [min, max]: 0, -EINVAL (not a duration) or -ERANGE. */
static int duration_in(const char *value, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v;

        if (parse_duration(value, &v) < 0)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

#define NOT_A_DURATION "not a duration (use e.g. 500ms, 30s, 5min, 2h)"

static const char *v_interval(const char *value, struct config *c, size_t offset, size_t size) {
        int r = duration_in(value, 10 * USEC_PER_MSEC, USEC_PER_HOUR, FIELD(c, offset, uint64_t));
        return r == 0 ? NULL : r == -ERANGE ? "out of range (10ms to 1h)" : NOT_A_DURATION;
}

static const char *v_after(const char *value, struct config *c, size_t offset, size_t size) {
        int r = duration_in(value, 0, 30 * USEC_PER_DAY, FIELD(c, offset, uint64_t));
        return r == 0 ? NULL : r == -ERANGE ? "out of range (0 to 30d)" : NOT_A_DURATION;
}

static const char *v_repeat(const char *value, struct config *c, size_t offset, size_t size) {
        int r;

        if (strcmp(value, "off") == 0) {
                *FIELD(c, offset, uint64_t) = 0;
                return NULL;
        }
        r = duration_in(value, USEC_PER_SEC, 30 * USEC_PER_DAY, FIELD(c, offset, uint64_t));
        return r == 0 ? NULL : r == -ERANGE ? "out of range (off, or 1s to 30d)" : NOT_A_DURATION " or off";
}

/* "50%", "0.5%", "off": a share in hundredths of a percent. */
static const char *v_share(const char *value, struct config *c, size_t offset, size_t size) {
        uint64_t whole = 0, frac = 0;
        const char *p = value;
        unsigned digits = 0;

        if (strcmp(value, "off") == 0) {
                *FIELD(c, offset, unsigned) = 0;
                return NULL;
        }
        if (*p < '0' || *p > '9')
                return "not a share (e.g. 50%, 0.5%, off)";
        for (; *p >= '0' && *p <= '9' && whole <= 100; p++)
                whole = whole * 10 + (uint64_t) (*p - '0');
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                        if (digits < 2)
                                frac = frac * 10 + (uint64_t) (*p - '0');
        if (digits == 1)
                frac *= 10;
        if (strcmp(p, "%") != 0)
                return "not a share (e.g. 50%, 0.5%, off)";
        if (whole * 100 + frac < 1 || whole * 100 + frac > 10000)
                return "out of range (0.01% to 100%, or off)";
        *FIELD(c, offset, unsigned) = (unsigned) (whole * 100 + frac);
        return NULL;
}

/* "host", "all", or names of /run/netns entries ("host" may be one). */
static const char *v_netns(const char *value, struct config *c, size_t offset, size_t size) {
        char names[sizeof(c->netns_names)] = "";
        size_t off = 0;

        if (strcmp(value, "host") == 0 || strcmp(value, "all") == 0) {
                c->netns_mode = value[0] == 'h' ? NETNS_HOST : NETNS_ALL;
                c->netns_names[0] = '\0';
                return NULL;
        }
        for (const char *p = value; *p;) {
                size_t l;

                p += strspn(p, ", ");
                l = strcspn(p, ", ");
                if (l == 0)
                        break;
                /* a name is a file in /run/netns: no slashes, not . or ..; and
                 * none that starts a comment when the printed config is read
                 * back (found by fuzz-config) */
                if (memchr(p, '/', l) || memchr(p, ';', l) || memchr(p, '#', l) || (l == 1 && p[0] == '.') ||
                    (l == 2 && p[0] == '.' && p[1] == '.'))
                        return "not host, all, or names of network namespaces (ip netns list)";
                if (off + l + 2 > sizeof(names))
                        return "too many names";
                off += (size_t) snprintf(names + off, sizeof(names) - off, "%s%.*s", off ? "," : "", (int) l, p);
                p += l;
        }
        if (off == 0)
                return "not host, all, or names of network namespaces (ip netns list)";
        c->netns_mode = NETNS_NAMED;
        strcpy(c->netns_names, names);
        return NULL;
}

static const char *v_states(const char *value, struct config *c, size_t offset, size_t size) {
        if (sockfmt_states_parse(value, FIELD(c, offset, uint32_t), NULL, NULL) < 0)
                return "not a list of states (fin-wait-1, last-ack, closing, fin-wait-2, close-wait)";
        return NULL;
}

static const char *v_families(const char *value, struct config *c, size_t offset, size_t size) {
        unsigned mask = 0;
        const char *p = value;

        for (;;) {
                size_t len = strcspn(p, ", ");

                if (len == 4 && strncmp(p, "ipv4", 4) == 0)
                        mask |= CONFIG_FAMILY_IPV4;
                else if (len == 4 && strncmp(p, "ipv6", 4) == 0)
                        mask |= CONFIG_FAMILY_IPV6;
                else if (len > 0)
                        return "not a list of families (ipv4, ipv6)";
                p += len;
                if (*p == '\0')
                        break;
                p++;
        }
        if (mask == 0)
                return "not a list of families (ipv4, ipv6)";
        *FIELD(c, offset, unsigned) = mask;
        return NULL;
}

/* A whole number from 1 to max; out_of_range says that range to people. */
static const char *parse_count(const char *value, uint64_t max, const char *out_of_range, unsigned *ret) {
        uint64_t v;

        if (parse_u64(value, &v) < 0)
                return "not a whole number";
        if (v < 1 || v > max)
                return out_of_range;
        *ret = (unsigned) v;
        return NULL;
}

static const char *v_rate(const char *value, struct config *c, size_t offset, size_t size) {
        return parse_count(value, 100000, "out of range (1 to 100000)", FIELD(c, offset, unsigned));
}

static const char *v_max_netns(const char *value, struct config *c, size_t offset, size_t size) {
        return parse_count(value, 1000000, "out of range (1 to 1000000)", FIELD(c, offset, unsigned));
}

static const char *v_path(const char *value, struct config *c, size_t offset, size_t size) {
        char *dst = FIELD(c, offset, char);

        if (value[0] != '\0' && value[0] != '/')
                return "not an absolute path";
        if (strlen(value) >= size)
                return "too long";
        strcpy(dst, value);
        return NULL;
}

/* Not empty: an empty path would bind an abstract socket named by NULs. */
static const char *v_socket_path(const char *value, struct config *c, size_t offset, size_t size) {
        if (value[0] != '/')
                return "not an absolute path (the control socket needs one)";
        return v_path(value, c, offset, size);
}

static const char *v_kill_auto(const char *value, struct config *c, size_t offset, size_t size) {
        static const char *const names[] = { [KILL_POLICY_NO] = "no", [KILL_POLICY_DRY_RUN] = "dry-run",
                                             [KILL_POLICY_YES] = "yes" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(value, names[i]) == 0) {
                        *FIELD(c, offset, int) = (int) i;
                        return NULL;
                }
        return "not one of no, dry-run, yes";
}

static const char *v_yes_no(const char *value, struct config *c, size_t offset, size_t size) {
        if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
                *FIELD(c, offset, bool) = value[0] == 'y';
                return NULL;
        }
        return "not one of yes, no";
}

static const char *v_kill_after(const char *value, struct config *c, size_t offset, size_t size) {
        int r = duration_in(value, USEC_PER_SEC, 30 * USEC_PER_DAY, FIELD(c, offset, uint64_t));
        return r == 0 ? NULL : r == -ERANGE ? "out of range (1s to 30d)" : NOT_A_DURATION;
}

/* A per-state threshold: a duration, or empty for "the general one". */
static const char *v_kill_after_state(const char *value, struct config *c, size_t offset, size_t size) {
        if (value[0] == '\0') {
                *FIELD(c, offset, uint64_t) = 0;
                return NULL;
        }
        return v_kill_after(value, c, offset, size);
}

/* Ports and ranges: "22, 443, 8000-8100"; empty for none. */
static const char *v_ports(const char *value, struct config *c, size_t offset, size_t size) {
        struct portset *ps = FIELD(c, offset, struct portset);
        struct portset set = {};
        const char *p = value;

        for (;;) {
                char word[32];
                size_t len;
                uint64_t lo, hi;
                char *dash;

                p += strspn(p, ", ");
                if (!*p)
                        break;
                len = strcspn(p, ", ");
                if (len >= sizeof(word))
                        return "not a list of ports (e.g. 22, 443, 8000-8100)";
                memcpy(word, p, len);
                word[len] = '\0';
                p += len;
                dash = strchr(word, '-');
                if (dash)
                        *dash = '\0';
                if (parse_u64(word, &lo) < 0 || (dash && parse_u64(dash + 1, &hi) < 0))
                        return "not a list of ports (e.g. 22, 443, 8000-8100)";
                if (!dash)
                        hi = lo;
                if (lo < 1 || hi > 65535 || lo > hi)
                        return "port out of range (1 to 65535, ranges low-high)";
                for (uint64_t port = lo; port <= hi; port++)
                        set.bits[port / 64] |= UINT64_C(1) << (port % 64);
                set.any = true;
        }
        *ps = set;
        return NULL;
}

/* CIDRs: "10.0.0.0/8, 2001:db8::/32, 192.0.2.7"; empty for none. */
static const char *v_cidrs(const char *value, struct config *c, size_t offset, size_t size) {
        struct cidr list[CONFIG_MAX_CIDRS] = {};
        unsigned n = 0;
        const char *p = value;

        for (;;) {
                char word[64];
                size_t len;
                char *slash;
                uint64_t prefix;
                struct cidr x = {};
                unsigned max;

                p += strspn(p, ", ");
                if (!*p)
                        break;
                if (n >= CONFIG_MAX_CIDRS)
                        return "too many networks (at most 32)";
                len = strcspn(p, ", ");
                if (len >= sizeof(word))
                        return "not a list of networks (e.g. 10.0.0.0/8, 2001:db8::/32)";
                memcpy(word, p, len);
                word[len] = '\0';
                p += len;
                slash = strchr(word, '/');
                if (slash)
                        *slash = '\0';
                if (inet_pton(AF_INET, word, x.addr) == 1)
                        x.family = AF_INET;
                else if (inet_pton(AF_INET6, word, x.addr) == 1)
                        x.family = AF_INET6;
                else
                        return "not a list of networks (e.g. 10.0.0.0/8, 2001:db8::/32)";
                max = x.family == AF_INET ? 32 : 128;
                if (slash) {
                        if (parse_u64(slash + 1, &prefix) < 0 || prefix > max)
                                return "bad prefix length";
                } else
                        prefix = max;
                x.prefix = (uint8_t) prefix;
                for (unsigned bit = x.prefix; bit < max; bit++)
                        x.addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
                list[n++] = x;
        }
        memcpy(FIELD(c, offset, struct cidr), list, sizeof(list));
        c->n_kill_exclude_peers = n;
        return NULL;
}

static const struct key {
        const char *section, *name;
        value_parser parse;
        size_t offset;
        size_t size;        /* of a string field */
} keys[] = {
        { "monitor", "interval",         v_interval,   offsetof(struct config, interval), 0 },
        { "monitor", "states",           v_states,     offsetof(struct config, states), 0 },
        { "monitor", "families",         v_families,   offsetof(struct config, families), 0 },
        { "monitor", "netns",            v_netns,      offsetof(struct config, netns_mode), 0 },
        { "monitor", "max_netns",        v_max_netns,  offsetof(struct config, max_netns), 0 },
        { "alert",   "after",            v_after,      offsetof(struct config, alert_after), 0 },
        { "alert",   "repeat",           v_repeat,     offsetof(struct config, alert_repeat), 0 },
        { "alert",   "max_per_minute",   v_rate,       offsetof(struct config, alert_max_per_minute), 0 },
        { "alert",   "orphan_budget",    v_share,      offsetof(struct config, orphan_budget_bp), 0 },
        { "kill",    "auto",             v_kill_auto,  offsetof(struct config, kill_auto), 0 },
        { "kill",    "after",            v_kill_after, offsetof(struct config, kill_after), 0 },
        { "kill",    "after_fin_wait_1", v_kill_after_state, offsetof(struct config, kill_after_fin_wait_1), 0 },
        { "kill",    "after_last_ack",   v_kill_after_state, offsetof(struct config, kill_after_last_ack), 0 },
        { "kill",    "max_per_minute",   v_rate,       offsetof(struct config, kill_max_per_minute), 0 },
        { "kill",    "blocking",         v_yes_no,     offsetof(struct config, kill_blocking), 0 },
        { "kill",    "exclude_ports",    v_ports,      offsetof(struct config, kill_exclude_ports), 0 },
        { "kill",    "only_ports",       v_ports,      offsetof(struct config, kill_only_ports), 0 },
        { "kill",    "exclude_peers",    v_cidrs,      offsetof(struct config, kill_exclude_peers), 0 },
        { "metrics", "textfile",         v_path,       offsetof(struct config, metrics_textfile),
          sizeof(((struct config *) NULL)->metrics_textfile) },
        { "daemon",  "state_file",       v_path,       offsetof(struct config, state_file),
          sizeof(((struct config *) NULL)->state_file) },
        { "daemon",  "control_socket",   v_socket_path, offsetof(struct config, control_socket),
          sizeof(((struct config *) NULL)->control_socket) },
};

static bool section_known(const char *name, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strlen(keys[i].section) == len && strncmp(keys[i].section, name, len) == 0)
                        return true;
        return false;
}

void config_defaults(struct config *c) {
        /* memset first: configs are compared with memcmp, padding included */
        memset(c, 0, sizeof(*c));
        c->interval = 5 * USEC_PER_SEC;
        c->states = DIAG_STATES_DEFAULT;
        c->families = CONFIG_FAMILY_IPV4 | CONFIG_FAMILY_IPV6;
        c->alert_after = 2 * USEC_PER_MIN;
        c->alert_repeat = 0;
        c->alert_max_per_minute = 60;
        c->orphan_budget_bp = 5000;
        c->kill_auto = KILL_POLICY_NO;
        c->kill_after = 15 * USEC_PER_MIN;
        c->kill_max_per_minute = 100;
        c->max_netns = CONFIG_DEFAULT_MAX_NETNS;
        strcpy(c->state_file, CONFIG_DEFAULT_STATE_FILE);
        strcpy(c->control_socket, CONFIG_DEFAULT_CONTROL_SOCKET);
}

uint64_t config_kill_after(const struct config *c, uint8_t state) {
        if (state == FW_TCP_FIN_WAIT1 && c->kill_after_fin_wait_1)
                return c->kill_after_fin_wait_1;
        if (state == FW_TCP_LAST_ACK && c->kill_after_last_ack)
                return c->kill_after_last_ack;
        return c->kill_after;
}

bool config_peer_excluded(const struct config *c, uint8_t family, const uint8_t addr[16]) {
        uint8_t a[16];

        memcpy(a, addr, sizeof(a));
        /* a v4-mapped IPv6 peer is an IPv4 peer */
        if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *) a)) {
                memmove(a, a + 12, 4);
                family = AF_INET;
        }
        for (unsigned i = 0; i < c->n_kill_exclude_peers; i++) {
                const struct cidr *x = &c->kill_exclude_peers[i];
                unsigned full = x->prefix / 8, rest = x->prefix % 8;

                if (x->family != family || memcmp(a, x->addr, full) != 0)
                        continue;
                if (rest && ((a[full] ^ x->addr[full]) & (uint8_t) (0xff00u >> rest)))
                        continue;
                return true;
        }
        return false;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        struct parse_state *p = user;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *reason;

                if (strcmp(keys[i].section, section) != 0 || strcmp(keys[i].name, name) != 0)
                        continue;
                if (p->seen & (UINT32_C(1) << i)) {
                        parse_error(p, "[%s] %s: set twice (or continued on an indented line)", section, name);
                        return 0;
                }
                p->seen |= UINT32_C(1) << i;
                reason = keys[i].parse(value, p->c, keys[i].offset, keys[i].size);
                if (reason) {
                        parse_error(p, "[%s] %s = %s: %s", section, name, value, reason);
                        return 0;
                }
                return 1;
        }
        if (!section[0])
                parse_error(p, "%s: key outside of any section", name);
        else if (!section_known(section, strlen(section)))
                parse_error(p, "[%s]: unknown section", section);
        else
                parse_error(p, "[%s] %s: unknown key", section, name);
        return 0;
}

/* inih's reader: one physical line at a time, so our count is inih's;
 * over-long lines and unknown (even empty) sections are errors here. */
static char *reader(char *str, int num, void *stream) {
        struct parse_state *p = stream;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        const char *s;

        n = getline(&line, &cap, p->f);
        if (n < 0) {
                free(line);
                return NULL;
        }
        p->line++;
        if ((size_t) n > LINE_MAX_LEN + 1 || (n == LINE_MAX_LEN + 1 && line[n - 1] != '\n') ||
            (size_t) n >= (size_t) num) {
                parse_error(p, "line too long (at most %d characters)", LINE_MAX_LEN);
                free(line);
                return NULL;
        }
        if (memchr(line, '\0', (size_t) n)) {
                parse_error(p, "NUL byte in line");
                free(line);
                return NULL;
        }

        s = line;
        /* inih drops a UTF-8 byte order mark before the first line */
        if (p->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
                s += 3;
        s += strspn(s, " \t");
        if (*s == '[') {
                const char *end = strchr(s, ']');

                if (end && !section_known(s + 1, (size_t) (end - s - 1))) {
                        parse_error(p, "[%.*s]: unknown section", (int) (end - s - 1), s + 1);
                        free(line);
                        return NULL;
                }
        }

        memcpy(str, line, (size_t) n + 1);
        free(line);
        return str;
}

int config_parse(FILE *f, const char *path, struct config *ret, char *errbuf, size_t errsize) {
        struct config staged;
        struct parse_state p = {
                .f = f,
                .path = path,
                .c = &staged,
                .err = errbuf,
                .errsize = errsize,
        };
        int r;

        config_defaults(&staged);
        r = ini_parse_stream(reader, &p, handler, &p);
        /* inih goes on after a syntax error and returns its line: report
         * whichever error came first. */
        if (r > 0 && (!p.failed || (unsigned) r < p.error_line)) {
                p.failed = false;
                p.line = (unsigned) r;
                parse_error(&p, "syntax error (expected [section] or key = value)");
        }
        if (p.failed || r != 0)
                return -EINVAL;
        if (ferror(f)) {
                snprintf(errbuf, errsize, "%s: read error", path);
                return -EIO;
        }
        *ret = staged;
        return 0;
}

int config_load(const char *path, struct config *ret, char *errbuf, size_t errsize) {
        FILE *f;
        int r;

        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                snprintf(errbuf, errsize, "%s: %s", path, strerror(-r));
                return r;
        }
        r = config_parse(f, path, ret, errbuf, errsize);
        fclose(f);
        return r;
}

static void print_ports(FILE *f, const struct portset *ps) {
        bool first = true;

        for (unsigned port = 1; port <= 65535; port++) {
                unsigned end = port;

                if (!portset_has(ps, (uint16_t) port))
                        continue;
                while (end < 65535 && portset_has(ps, (uint16_t) (end + 1)))
                        end++;
                /* compact, so the line is never longer than the one read */
                if (end == port)
                        fprintf(f, "%s%u", first ? " " : ",", port);
                else
                        fprintf(f, "%s%u-%u", first ? " " : ",", port, end);
                first = false;
                port = end;
        }
        fputc('\n', f);
}

void config_print(FILE *f, const struct config *c) {
        char buf[128];

        fprintf(f, "[monitor]\n");
        fprintf(f, "interval = %s\n", format_duration_exact(buf, sizeof(buf), c->interval));
        fprintf(f, "states = %s\n", sockfmt_states_format(buf, sizeof(buf), c->states));
        fprintf(f, "families = %s%s%s\n",
                c->families & CONFIG_FAMILY_IPV4 ? "ipv4" : "",
                c->families == (CONFIG_FAMILY_IPV4 | CONFIG_FAMILY_IPV6) ? "," : "",
                c->families & CONFIG_FAMILY_IPV6 ? "ipv6" : "");
        fprintf(f, "netns = %s\n", c->netns_mode == NETNS_HOST ? "host" : c->netns_mode == NETNS_ALL ? "all" : c->netns_names);
        fprintf(f, "max_netns = %u\n", c->max_netns);
        fprintf(f, "\n[alert]\n");
        fprintf(f, "after = %s\n", format_duration_exact(buf, sizeof(buf), c->alert_after));
        fprintf(f, "repeat = %s\n", c->alert_repeat ? format_duration_exact(buf, sizeof(buf), c->alert_repeat) : "off");
        fprintf(f, "max_per_minute = %u\n", c->alert_max_per_minute);
        if (c->orphan_budget_bp)
                fprintf(f, "orphan_budget = %u.%02u%%\n", c->orphan_budget_bp / 100, c->orphan_budget_bp % 100);
        else
                fprintf(f, "orphan_budget = off\n");
        fprintf(f, "\n[kill]\n");
        fprintf(f, "auto = %s\n", c->kill_auto == KILL_POLICY_YES ? "yes" : c->kill_auto == KILL_POLICY_DRY_RUN ? "dry-run" : "no");
        fprintf(f, "after = %s\n", format_duration_exact(buf, sizeof(buf), c->kill_after));
        fprintf(f, "after_fin_wait_1 = %s\n",
                c->kill_after_fin_wait_1 ? format_duration_exact(buf, sizeof(buf), c->kill_after_fin_wait_1) : "");
        fprintf(f, "after_last_ack = %s\n",
                c->kill_after_last_ack ? format_duration_exact(buf, sizeof(buf), c->kill_after_last_ack) : "");
        fprintf(f, "max_per_minute = %u\n", c->kill_max_per_minute);
        fprintf(f, "blocking = %s\n", c->kill_blocking ? "yes" : "no");
        fprintf(f, "exclude_ports =");
        print_ports(f, &c->kill_exclude_ports);
        fprintf(f, "only_ports =");
        print_ports(f, &c->kill_only_ports);
        fprintf(f, "exclude_peers =");
        for (unsigned i = 0; i < c->n_kill_exclude_peers; i++) {
                char a[INET6_ADDRSTRLEN];
                const struct cidr *x = &c->kill_exclude_peers[i];

                inet_ntop(x->family, x->addr, a, sizeof(a));
                if (x->prefix == (x->family == AF_INET ? 32 : 128))
                        fprintf(f, "%s%s", i ? "," : " ", a);
                else
                        fprintf(f, "%s%s/%u", i ? "," : " ", a, (unsigned) x->prefix);
        }
        fputc('\n', f);
        fprintf(f, "\n[metrics]\n");
        fprintf(f, "textfile = %s\n", c->metrics_textfile);
        fprintf(f, "\n[daemon]\n");
        fprintf(f, "state_file = %s\n", c->state_file);
        fprintf(f, "control_socket = %s\n", c->control_socket);
}
