/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The state file loader: any bytes, with the boot id the file names (so
 * the checks after it are reached) and with another. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "statefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct statefile_clock clock = {};
        struct tracker *t;
        char err[256];

        if (size >= 32)
                memcpy(clock.boot_id, data + 16, sizeof(clock.boot_id)); /* where the header keeps it */
        if (tracker_new(&t) < 0)
                return 0;
        (void) statefile_parse(data, size, &clock, UINT64_MAX / 2, t, err, sizeof(err));
        tracker_free(t);
        return 0;
}
