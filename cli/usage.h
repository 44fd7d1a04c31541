/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* finwatch's help texts (finwatch --help, finwatch VERB --help). */

#include <stdio.h>

/* The program's name, for messages. */
extern const char *const program;

void usage_main(FILE *f);
void usage_list(FILE *f);
void usage_kill(FILE *f);
void usage_status(FILE *f);
void usage_reload(FILE *f);
