/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ini.h>
#include <stdarg.h>
#include <string.h>

#include "config.h"
#include "diag.h"
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
};

static void __attribute__((format(printf, 2, 3))) parse_error(struct parse_state *p, const char *fmt, ...) {
        va_list ap;
        int n;

        if (p->failed)
                return; /* keep the first error */
        p->failed = true;
        n = snprintf(p->err, p->errsize, "%s:%u: ", p->path, p->line);
        if (n < 0 || (size_t) n >= p->errsize)
                return;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errsize - (size_t) n, fmt, ap);
        va_end(ap);
}

/* ---- value parsers: 0 or a reason ---- */

typedef const char *(*value_parser)(const char *value, struct config *c, size_t offset);

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

static const char *v_interval(const char *value, struct config *c, size_t offset) {
        int r = duration_in(value, 10 * USEC_PER_MSEC, USEC_PER_HOUR, FIELD(c, offset, uint64_t));
        return r == 0 ? NULL : r == -ERANGE ? "out of range (10ms to 1h)" : NOT_A_DURATION;
}

static const char *v_after(const char *value, struct config *c, size_t offset) {
        int r = duration_in(value, 0, 30 * USEC_PER_DAY, FIELD(c, offset, uint64_t));
        return r == 0 ? NULL : r == -ERANGE ? "out of range (0 to 30d)" : NOT_A_DURATION;
}

static const char *v_repeat(const char *value, struct config *c, size_t offset) {
        int r;

        if (strcmp(value, "off") == 0) {
                *FIELD(c, offset, uint64_t) = 0;
                return NULL;
        }
        r = duration_in(value, USEC_PER_SEC, 30 * USEC_PER_DAY, FIELD(c, offset, uint64_t));
        return r == 0 ? NULL : r == -ERANGE ? "out of range (off, or 1s to 30d)" : NOT_A_DURATION " or off";
}

static const char *v_states(const char *value, struct config *c, size_t offset) {
        if (tcp_states_parse(value, FIELD(c, offset, uint32_t), NULL, NULL) < 0)
                return "not a list of states (fin-wait-1, last-ack, closing, fin-wait-2, close-wait)";
        return NULL;
}

static const char *v_families(const char *value, struct config *c, size_t offset) {
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

static const char *v_rate(const char *value, struct config *c, size_t offset) {
        uint64_t v;

        if (parse_u64(value, &v) < 0)
                return "not a whole number";
        if (v < 1 || v > 100000)
                return "out of range (1 to 100000)";
        *FIELD(c, offset, unsigned) = (unsigned) v;
        return NULL;
}

static const char *v_path(const char *value, struct config *c, size_t offset) {
        char *dst = FIELD(c, offset, char);

        if (value[0] != '\0' && value[0] != '/')
                return "not an absolute path";
        if (strlen(value) >= sizeof(c->state_file))
                return "too long";
        strcpy(dst, value);
        return NULL;
}

static const struct key {
        const char *section, *name;
        value_parser parse;
        size_t offset;
} keys[] = {
        { "monitor", "interval",       v_interval, offsetof(struct config, interval) },
        { "monitor", "states",         v_states,   offsetof(struct config, states) },
        { "monitor", "families",       v_families, offsetof(struct config, families) },
        { "alert",   "after",          v_after,    offsetof(struct config, alert_after) },
        { "alert",   "repeat",         v_repeat,   offsetof(struct config, alert_repeat) },
        { "alert",   "max_per_minute", v_rate,     offsetof(struct config, alert_max_per_minute) },
        { "daemon",  "state_file",     v_path,     offsetof(struct config, state_file) },
};

static bool section_known(const char *name, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strlen(keys[i].section) == len && strncmp(keys[i].section, name, len) == 0)
                        return true;
        return false;
}

void config_defaults(struct config *c) {
        *c = (struct config) {
                .interval = 5 * USEC_PER_SEC,
                .states = DIAG_STATES_DEFAULT,
                .families = CONFIG_FAMILY_IPV4 | CONFIG_FAMILY_IPV6,
                .alert_after = 2 * USEC_PER_MIN,
                .alert_repeat = 0,
                .alert_max_per_minute = 60,
        };
        strcpy(c->state_file, CONFIG_DEFAULT_STATE_FILE);
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
                reason = keys[i].parse(value, p->c, keys[i].offset);
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

        s = line + strspn(line, " \t");
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
        if (p.failed)
                return -EINVAL;
        if (r != 0) {
                /* inih's own complaint: the line has no '=' or ']' */
                p.line = r > 0 ? (unsigned) r : p.line;
                parse_error(&p, "syntax error (expected [section] or key = value)");
                return -EINVAL;
        }
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

void config_print(FILE *f, const struct config *c) {
        char buf[128];

        fprintf(f, "[monitor]\n");
        fprintf(f, "interval = %s\n", format_duration_exact(buf, sizeof(buf), c->interval));
        fprintf(f, "states = %s\n", tcp_states_format(buf, sizeof(buf), c->states));
        fprintf(f, "families = %s%s%s\n",
                c->families & CONFIG_FAMILY_IPV4 ? "ipv4" : "",
                c->families == (CONFIG_FAMILY_IPV4 | CONFIG_FAMILY_IPV6) ? "," : "",
                c->families & CONFIG_FAMILY_IPV6 ? "ipv6" : "");
        fprintf(f, "\n[alert]\n");
        fprintf(f, "after = %s\n", format_duration_exact(buf, sizeof(buf), c->alert_after));
        fprintf(f, "repeat = %s\n", c->alert_repeat ? format_duration_exact(buf, sizeof(buf), c->alert_repeat) : "off");
        fprintf(f, "max_per_minute = %u\n", c->alert_max_per_minute);
        fprintf(f, "\n[daemon]\n");
        fprintf(f, "state_file = %s\n", c->state_file);
}
