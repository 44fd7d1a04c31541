/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

int log_max_level = LOG_INFO;

void log_at(int level, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        if (level > log_max_level)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        /* one write per line, so lines from several sources never interleave */
        fprintf(stderr, "<%d>%s\n", level, buf);
}
