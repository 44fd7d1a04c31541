/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The config loader: any bytes, and what it accepts prints back to a file
 * it accepts again, the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config c, back;
        char err[512];
        char *text = NULL;
        size_t len = 0;
        FILE *f;

        if (size == 0)
                return 0;
        f = fmemopen((void *) data, size, "r");
        if (!f)
                return 0;
        if (config_parse(f, "fuzz.conf", &c, err, sizeof(err)) == 0) {
                FILE *out = open_memstream(&text, &len);

                config_print(out, &c);
                fclose(out);
                out = fmemopen(text, len, "r");
                if (config_parse(out, "printed.conf", &back, err, sizeof(err)) != 0 || memcmp(&c, &back, sizeof(c)) != 0)
                        abort(); /* printed config that does not read back the same */
                fclose(out);
                free(text);
        }
        fclose(f);
        return 0;
}
