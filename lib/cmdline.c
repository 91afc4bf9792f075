/* key=value command-line parsing. */
#include "lib/cmdline.h"
#include "lib/printf.h"
#include "lib/string.h"

static bool parse_uint(const char *s, size_t n, uint64_t *out, bool allow_suffix)
{
	unsigned base = 10;
	uint64_t v = 0, mul = 1;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		n -= 2;
	}
	if (allow_suffix && n > 0) {
		char c = s[n - 1];
		if (c == 'K' || c == 'k') mul = 1ull << 10;
		else if (c == 'M' || c == 'm') mul = 1ull << 20;
		else if (c == 'G' || c == 'g') mul = 1ull << 30;
		if (mul != 1)
			n--;
	}
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d;
		char c = s[i];
		if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
		else return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (v > UINT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

static bool word_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncmp(s, word, n) == 0;
}

static enum cmdline_status apply(const struct opt_spec *o, const char *val, size_t vlen,
				 char *err, size_t errlen)
{
	uint64_t v;

	switch (o->kind) {
	case OPT_CHOICE:
		for (int i = 0; o->choices[i]; i++) {
			if (word_is(val, vlen, o->choices[i])) {
				*(int *)o->dst = i;
				return CMDLINE_OK;
			}
		}
		snprintf(err, errlen, "option '%s': bad value '%.*s' (expected %s)", o->key,
			 (int)vlen, val, o->help);
		return CMDLINE_BAD_VALUE;
	case OPT_UINT:
	case OPT_SIZE:
		if (!parse_uint(val, vlen, &v, o->kind == OPT_SIZE) || v < o->min || v > o->max) {
			snprintf(err, errlen, "option '%s': bad value '%.*s' (expected %s)",
				 o->key, (int)vlen, val, o->help);
			return CMDLINE_BAD_VALUE;
		}
		*(uint64_t *)o->dst = v;
		return CMDLINE_OK;
	case OPT_BOOL:
		if (word_is(val, vlen, "1") || word_is(val, vlen, "yes") || word_is(val, vlen, "on") ||
		    word_is(val, vlen, "true")) {
			*(bool *)o->dst = true;
			return CMDLINE_OK;
		}
		if (word_is(val, vlen, "0") || word_is(val, vlen, "no") || word_is(val, vlen, "off") ||
		    word_is(val, vlen, "false")) {
			*(bool *)o->dst = false;
			return CMDLINE_OK;
		}
		snprintf(err, errlen, "option '%s': bad value '%.*s' (expected on or off)", o->key,
			 (int)vlen, val);
		return CMDLINE_BAD_VALUE;
	}
	snprintf(err, errlen, "option '%s': bad option table", o->key);
	return CMDLINE_BAD_VALUE;
}

enum cmdline_status cmdline_parse(const char *cmdline, const struct opt_spec *specs,
				  unsigned nspecs, char *err, size_t errlen)
{
	const char *p = cmdline;

	if (errlen)
		err[0] = '\0';
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *word = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		size_t wlen = (size_t)(p - word);
		const char *eq = word;
		while (eq < p && *eq != '=')
			eq++;
		size_t klen = (size_t)(eq - word);
		const char *val = eq < p ? eq + 1 : p;
		size_t vlen = (size_t)(p - val);

		if (wlen > 256) {
			snprintf(err, errlen, "command-line word too long: '%.32s...'", word);
			return CMDLINE_TOO_LONG;
		}
		const struct opt_spec *o = NULL;
		for (unsigned i = 0; i < nspecs; i++) {
			if (word_is(word, klen, specs[i].key)) {
				o = &specs[i];
				break;
			}
		}
		if (!o) {
			snprintf(err, errlen, "unknown option '%.*s'", (int)klen, word);
			return CMDLINE_UNKNOWN_KEY;
		}
		enum cmdline_status st = apply(o, val, vlen, err, errlen);
		if (st != CMDLINE_OK)
			return st;
	}
	return CMDLINE_OK;
}

bool cmdline_split_prefix(const char *cmdline, const char *prefix, char *mine, size_t mine_len,
			  char *rest, size_t rest_len)
{
	size_t plen = strlen(prefix), n_mine = 0, n_rest = 0;

	if (!mine_len || !rest_len)
		return false;
	for (const char *s = cmdline; *s;) {
		const char *w;
		size_t len;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		w = s;
		while (*s && *s != ' ')
			s++;
		len = (size_t)(s - w);
		bool is_mine = len >= plen && memcmp(w, prefix, plen) == 0;
		char *dst = is_mine ? mine : rest;
		size_t *n = is_mine ? &n_mine : &n_rest;
		size_t cap = is_mine ? mine_len : rest_len;

		if (*n + (*n ? 1 : 0) + len + 1 > cap)
			return false;
		if (*n)
			dst[(*n)++] = ' ';
		memcpy(dst + *n, w, len);
		*n += len;
	}
	mine[n_mine] = '\0';
	rest[n_rest] = '\0';
	return true;
}
