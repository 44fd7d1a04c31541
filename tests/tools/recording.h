/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Recorded sock_diag replies, for replay in unit tests (the trick from
 * iproute2's ss): "FWNLREC1", u32 seq, u32 portid (host order), then for each
 * datagram a u32 length and the bytes as received. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RECORDING_MAGIC "FWNLREC1"

struct recording {
        uint32_t seq;
        uint32_t portid;
        size_t n;
        struct {
                uint8_t *data; /* malloc'd, so aligned for the parser */
                size_t len;
        } dgram[64];
};

int recording_write_header(FILE *f, uint32_t seq, uint32_t portid);
int recording_write_datagram(FILE *f, const void *buf, size_t len);
int recording_load(const char *path, struct recording *rec);
void recording_free(struct recording *rec);
