/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Without libFuzzer: run a fuzz target over files (the corpus, and the
 * crashes fuzzing found), so meson test replays them in every build. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
        FILE *f = fopen(path, "re");
        uint8_t *buf;
        long size;

        if (!f) {
                perror(path);
                return 1;
        }
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        rewind(f);
        buf = malloc(size > 0 ? (size_t) size : 1);
        if (size > 0 && fread(buf, 1, (size_t) size, f) != (size_t) size) {
                fclose(f);
                free(buf);
                return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t) (size > 0 ? size : 0));
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        unsigned files = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                DIR *d;
                struct dirent *de;

                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (run_file(argv[i]))
                                return 1;
                        files++;
                        continue;
                }
                d = opendir(argv[i]);
                while (d && (de = readdir(d))) {
                        char path[4096];

                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                        if (run_file(path))
                                return 1;
                        files++;
                }
                if (d)
                        closedir(d);
        }
        printf("replayed %u inputs\n", files);
        return files > 0 ? 0 : 1;
}
