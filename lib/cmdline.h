/* key=value command-line parsing against a table of option specs. Pure logic:
 * host-tested. Words are separated by spaces; a word without '=' is a key
 * with an empty value. */
#ifndef UMBRA_LIB_CMDLINE_H
#define UMBRA_LIB_CMDLINE_H

#include "include/bits.h"
#include "include/types.h"

enum opt_kind {
	OPT_CHOICE,	/* value is one of choices[]; *(int *)dst = its index */
	OPT_UINT,	/* decimal or 0x hex, in [min, max]; *(uint64_t *)dst */
	OPT_SIZE,	/* like OPT_UINT with an optional K/M/G suffix (binary units) */
	OPT_BOOL,	/* 0/1/no/yes/off/on/false/true; *(bool *)dst */
};

struct opt_spec {
	const char *key;
	enum opt_kind kind;
	void *dst;
	const char *const *choices;	/* OPT_CHOICE: NULL-terminated */
	uint64_t min, max;		/* OPT_UINT, OPT_SIZE */
	const char *help;
};

enum cmdline_status {
	CMDLINE_OK = 0,
	CMDLINE_UNKNOWN_KEY,
	CMDLINE_BAD_VALUE,
	CMDLINE_TOO_LONG,
};

/* Apply every word of @cmdline to @specs. Stops at the first error and writes
 * a message naming the key (and the value and what was expected) to @err. */
enum cmdline_status cmdline_parse(const char *cmdline, const struct opt_spec *specs,
				  unsigned nspecs, char *err, size_t errlen) __must_check;

/* Split @cmdline into the words that start with @prefix (into @mine) and
 * the others (into @rest), each space-separated in their original order.
 * Used for a guest module's "umbra.<key>=<value>" words, which are Umbra's
 * and must not reach the guest. Returns false when either part does not
 * fit its buffer. */
bool cmdline_split_prefix(const char *cmdline, const char *prefix, char *mine, size_t mine_len,
			  char *rest, size_t rest_len) __must_check;

#endif
