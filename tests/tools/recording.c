/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "recording.h"

int recording_write_header(FILE *f, uint32_t seq, uint32_t portid) {
        if (fwrite(RECORDING_MAGIC, 8, 1, f) != 1 || fwrite(&seq, 4, 1, f) != 1 ||
            fwrite(&portid, 4, 1, f) != 1)
                return -EIO;
        return 0;
}

int recording_write_datagram(FILE *f, const void *buf, size_t len) {
        uint32_t l = (uint32_t) len;

        if (fwrite(&l, 4, 1, f) != 1 || fwrite(buf, 1, len, f) != len)
                return -EIO;
        return 0;
}

int recording_load(const char *path, struct recording *rec) {
        char magic[8];
        FILE *f;
        int r = -EBADMSG;

        *rec = (struct recording) {};
        f = fopen(path, "re");
        if (!f)
                return -errno;
        if (fread(magic, 8, 1, f) != 1 || memcmp(magic, RECORDING_MAGIC, 8) != 0 ||
            fread(&rec->seq, 4, 1, f) != 1 || fread(&rec->portid, 4, 1, f) != 1)
                goto out;
        for (;;) {
                uint32_t len;

                if (fread(&len, 4, 1, f) != 1)
                        break;
                if (len > (1u << 20) || rec->n >= sizeof(rec->dgram) / sizeof(rec->dgram[0]))
                        goto out;
                rec->dgram[rec->n].data = malloc(len ? len : 1);
                if (!rec->dgram[rec->n].data) {
                        r = -ENOMEM;
                        goto out;
                }
                rec->dgram[rec->n].len = len;
                rec->n++;
                if (fread(rec->dgram[rec->n - 1].data, 1, len, f) != len)
                        goto out;
        }
        r = rec->n > 0 ? 0 : -EBADMSG;
out:
        fclose(f);
        if (r < 0)
                recording_free(rec);
        return r;
}

void recording_free(struct recording *rec) {
        for (size_t i = 0; i < rec->n; i++)
                free(rec->dgram[i].data);
        *rec = (struct recording) {};
}
