/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* finwatch.conf: a table of keys, typed and range-checked values, parsed
 * into a staging config that replaces the running one only when the whole
 * file is valid. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH FW_SYSCONFDIR "/finwatch/finwatch.conf"
#define CONFIG_DEFAULT_STATE_FILE "/run/finwatch/state"

enum {
        CONFIG_FAMILY_IPV4 = 1 << 0,
        CONFIG_FAMILY_IPV6 = 1 << 1,
};

struct config {
        /* [monitor] */
        uint64_t interval;          /* usec between polls */
        uint32_t states;            /* DIAG_STATE_BIT mask */
        unsigned families;          /* CONFIG_FAMILY_* */
        /* [alert] */
        uint64_t alert_after;       /* usec stuck before the first alert */
        uint64_t alert_repeat;      /* usec between repeated alerts, 0 = never */
        unsigned alert_max_per_minute;
        /* [daemon] */
        char state_file[256];       /* where ages are kept across restarts, "" = nowhere */
};

void config_defaults(struct config *c);

/* Parse FILE (path for messages) into *ret. On failure returns -errno and,
 * for a bad file, a message "PATH:LINE: ..." in errbuf. -ENOENT when the
 * file does not exist (callers use the defaults). */
int config_load(const char *path, struct config *ret, char *errbuf, size_t errsize);

/* Parse from an open stream; path is used in messages only. */
int config_parse(FILE *f, const char *path, struct config *ret, char *errbuf, size_t errsize);

/* Print the effective config in the file's own syntax. */
void config_print(FILE *f, const struct config *c);
