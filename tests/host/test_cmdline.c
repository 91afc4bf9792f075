/* lib/cmdline.c: every option kind, and errors that name the key. */
#include <string.h>
#include "lib/cmdline.h"
#include "tests/host/check.h"

static int level, mode;
static uint64_t num, size;
static bool flag;
static const char *const levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const modes[] = { "auto", "4", "5", "off", NULL };
static const struct opt_spec specs[] = {
	{ "log", OPT_CHOICE, &level, levels, 0, 0, "error|warn|info|debug" },
	{ "ept", OPT_CHOICE, &mode, modes, 0, 0, "auto|4|5|off" },
	{ "count", OPT_UINT, &num, NULL, 1, 100, "1..100" },
	{ "mem", OPT_SIZE, &size, NULL, 1 << 20, 1ull << 40, "a size" },
	{ "vpid", OPT_BOOL, &flag, NULL, 0, 0, "on|off" },
};

static enum cmdline_status parse(const char *s, char *err)
{
	return cmdline_parse(s, specs, sizeof(specs) / sizeof(*specs), err, 160);
}

int main(void)
{
	char err[160];

	CHECK_EQ(parse("", err), CMDLINE_OK);
	CHECK_EQ(parse("   ", err), CMDLINE_OK);
	CHECK_EQ(parse("log=debug ept=5", err), CMDLINE_OK);
	CHECK_EQ(level, 3);
	CHECK_EQ(mode, 2);
	CHECK_EQ(parse("  log=error\tept=off  ", err), CMDLINE_OK);
	CHECK_EQ(level, 0);
	CHECK_EQ(mode, 3);
	CHECK_EQ(parse("count=0x10 mem=64M", err), CMDLINE_OK);
	CHECK_EQ(num, 16);
	CHECK_EQ(size, 64ull << 20);
	CHECK_EQ(parse("mem=2G", err), CMDLINE_OK);
	CHECK_EQ(size, 2ull << 30);
	CHECK_EQ(parse("mem=1048576", err), CMDLINE_OK);
	CHECK_EQ(size, 1ull << 20);
	CHECK_EQ(parse("vpid=off", err), CMDLINE_OK);
	CHECK_EQ(flag, false);
	CHECK_EQ(parse("vpid=yes", err), CMDLINE_OK);
	CHECK_EQ(flag, true);

	CHECK_EQ(parse("log=info bogus=1", err), CMDLINE_UNKNOWN_KEY);
	CHECK(strstr(err, "unknown option 'bogus'") != NULL);
	CHECK_EQ(parse("verbose", err), CMDLINE_UNKNOWN_KEY);
	CHECK(strstr(err, "'verbose'") != NULL);
	CHECK_EQ(parse("log=loud", err), CMDLINE_BAD_VALUE);
	CHECK(strstr(err, "'log'") && strstr(err, "'loud'") && strstr(err, "error|warn|info|debug"));
	CHECK_EQ(parse("log=", err), CMDLINE_BAD_VALUE);
	CHECK_EQ(parse("log=infox", err), CMDLINE_BAD_VALUE);
	CHECK_EQ(parse("count=0", err), CMDLINE_BAD_VALUE);	/* below min */
	CHECK_EQ(parse("count=101", err), CMDLINE_BAD_VALUE);	/* above max */
	CHECK_EQ(parse("count=12a", err), CMDLINE_BAD_VALUE);
	CHECK_EQ(parse("count=0x", err), CMDLINE_BAD_VALUE);
	CHECK_EQ(parse("count=99999999999999999999999", err), CMDLINE_BAD_VALUE);	/* overflow */
	CHECK_EQ(parse("mem=17179869184G", err), CMDLINE_BAD_VALUE);	/* overflow with suffix */
	CHECK_EQ(parse("mem=M", err), CMDLINE_BAD_VALUE);
	CHECK_EQ(parse("mem=4K", err), CMDLINE_BAD_VALUE);	/* below min */
	CHECK(strstr(err, "'mem'") && strstr(err, "'4K'"));
	CHECK_EQ(parse("vpid=maybe", err), CMDLINE_BAD_VALUE);
	CHECK(strstr(err, "'vpid'") != NULL);

	char longword[400];
	memset(longword, 'a', sizeof(longword) - 1);
	longword[sizeof(longword) - 1] = '\0';
	CHECK_EQ(parse(longword, err), CMDLINE_TOO_LONG);

	/* A module's umbra.* words split from the guest's. */
	char mine[64], rest[64];
	CHECK(cmdline_split_prefix("/boot/g.elf umbra.mmu=shadow  hello umbra.mem=16M x", "umbra.",
				   mine, sizeof(mine), rest, sizeof(rest)));
	CHECK(strcmp(mine, "umbra.mmu=shadow umbra.mem=16M") == 0);
	CHECK(strcmp(rest, "/boot/g.elf hello x") == 0);
	CHECK(cmdline_split_prefix("", "umbra.", mine, sizeof(mine), rest, sizeof(rest)));
	CHECK(mine[0] == '\0' && rest[0] == '\0');
	CHECK(cmdline_split_prefix("umbra", "umbra.", mine, sizeof(mine), rest, sizeof(rest)));
	CHECK(strcmp(rest, "umbra") == 0 && mine[0] == '\0');
	CHECK(!cmdline_split_prefix("abcdefgh umbra.x=1", "umbra.", mine, 4, rest, sizeof(rest)));
	CHECK(!cmdline_split_prefix("abcdefgh", "umbra.", mine, sizeof(mine), rest, 8));
	CHECK(cmdline_split_prefix("abcdefg", "umbra.", mine, sizeof(mine), rest, 8));
	return check_done("cmdline");
}
