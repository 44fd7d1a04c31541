/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sock_diag reply parser, header validation included (libmnl 1.0.4
 * alone would read past the end on an nlmsg_len >= 2^31). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fuzz.h"

static int count(const struct fw_sock *s, void *userdata) {
        (*(size_t *) userdata)++;
        return s->id.family == 0 ? -1 : 0; /* never: the parser checked it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* the parser wants an aligned buffer of exactly size bytes */
        uint8_t *buf = malloc(size ? size : 1);
        size_t n = 0;

        memcpy(buf, data, size);
        /* seq 0 and portid 0 switch those checks off: every header gets through to the rest */
        (void) diag_parse_dump(buf, size, 0, 0, count, &n);
        (void) diag_parse_ack(buf, size, 0, 0);
        free(buf);
        return 0;
}
