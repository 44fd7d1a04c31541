/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Operational logs on stderr with sd-daemon priority prefixes ("<4>..."),
 * which journald reads when the daemon runs as a service. */

#include <syslog.h>

extern int log_max_level; /* LOG_INFO unless changed */

void log_at(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   log_at(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_at(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_at(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_at(LOG_DEBUG, __VA_ARGS__)
