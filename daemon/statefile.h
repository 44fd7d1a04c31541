/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The tracker saved across daemon restarts (under /run, so never across a
 * reboot): how long each socket has been stuck and whether it was alerted.
 * The file carries the boot id; one from another boot, or one that fails any
 * check, is reported and ignored whole. */

#include <stddef.h>
#include <stdint.h>

#include "tracker.h"

/* Which clock the tracker's times are on. They are CLOCK_BOOTTIME as the
 * daemon reads it, which a time namespace shifts by a fixed offset; the file
 * holds the host's CLOCK_BOOTTIME (ours minus the offset), so a daemon
 * restarted into another time namespace reads the same ages. */
struct statefile_clock {
        uint8_t boot_id[16];
        int64_t timens_offset;   /* usec: our CLOCK_BOOTTIME minus the host's */
};

/* Fill in the boot id; the offset is 0 (see statefile_timens_offset()). */
int statefile_clock_get(struct statefile_clock *ret);

/* This process's time namespace offset of CLOCK_BOOTTIME in usec, from
 * /proc/self/timens_offsets (0 without time namespaces). On -errno *ret_usec
 * is 0. */
int statefile_timens_offset(int64_t *ret_usec);

/* Write atomically (temporary file in the same directory, then rename).
 * The temporary file is made with O_CREAT|O_EXCL (mkostemp), so a link
 * planted at its name is never followed; the rename replaces a symbolic
 * link at path itself, never the file it points to. */
int statefile_save(const char *path, const struct statefile_clock *clock, const struct tracker *t);

/* Validate the bytes of a state file and restore its entries into t (which
 * must be empty). now (our clock) bounds the timestamps. Returns the number of entries
 * restored, or -errno with a reason in errbuf: -ESTALE another boot,
 * -EBADMSG corrupt. On failure t may hold part of the file: the caller
 * discards it. */
int statefile_parse(const void *buf, size_t len, const struct statefile_clock *clock, uint64_t now,
                    struct tracker *t, char *errbuf, size_t errsize);

/* Read path and statefile_parse() it. -ENOENT when there is no file.
 * Only a regular file is read: a symbolic link is not followed (-ELOOP),
 * a FIFO, directory or device is not opened for reading or waited on
 * (-EBADMSG, "not a regular file (a FIFO)"); either way errbuf says what is
 * there, and the caller goes on without the state, as without a file. */
int statefile_load(const char *path, const struct statefile_clock *clock, uint64_t now, struct tracker *t,
                   char *errbuf, size_t errsize);
