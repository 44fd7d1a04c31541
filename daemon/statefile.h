/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The tracker saved across daemon restarts (under /run, so never across a
 * reboot): how long each socket has been stuck and whether it was alerted.
 * The file carries the boot id; one from another boot, or one that fails any
 * check, is reported and ignored whole. */

#include <stddef.h>
#include <stdint.h>

#include "tracker.h"

/* Write atomically (temporary file in the same directory, then rename). */
int statefile_save(const char *path, const uint8_t boot_id[16], const struct tracker *t);

/* Validate the bytes of a state file and restore its entries into t (which
 * must be empty). now bounds the timestamps. Returns the number of entries
 * restored, or -errno with a reason in errbuf: -ESTALE another boot,
 * -EBADMSG corrupt. On failure t may hold part of the file: the caller
 * discards it. */
int statefile_parse(const void *buf, size_t len, const uint8_t boot_id[16], uint64_t now,
                    struct tracker *t, char *errbuf, size_t errsize);

/* Read path and statefile_parse() it. -ENOENT when there is no file. */
int statefile_load(const char *path, const uint8_t boot_id[16], uint64_t now, struct tracker *t,
                   char *errbuf, size_t errsize);
