/* The hypervisor's command-line options (Multiboot2 command line), parsed
 * once at boot by options_parse(). Each key is listed in the README. */
#ifndef UMBRA_VMM_OPTIONS_H
#define UMBRA_VMM_OPTIONS_H

#include "include/types.h"

enum selftest { SELFTEST_NONE, SELFTEST_PAGEFAULT, SELFTEST_UD };

struct options {
	int log_level;		/* log=error|warn|info|debug (enum log_level) */
	int selftest;		/* selftest=none|pagefault|ud: provoke a host exception */
};

extern struct options opts;

/* Parses @cmdline into opts; on error prints which key or value is wrong
 * and returns false. */
bool options_parse(const char *cmdline);
void options_print_help(void);

#endif
