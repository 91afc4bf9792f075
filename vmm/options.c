/* The hypervisor's command-line options: one table, parsed once at boot. */
#include "lib/cmdline.h"
#include "lib/printf.h"
#include "vmm/options.h"

struct options opts = {
	.log_level = LOG_INFO,
	.selftest = SELFTEST_NONE,
	.ept = 0,			/* auto */
	.vpid = true,
	.ug = true,
	.mem = 64ull << 20,
	.mmu = MMU_AUTO,
	.shadow_pool = 1024,
	.budget = 2000000000ull,
};

static const char *const log_choices[] = { "error", "warn", "info", "debug", NULL };
static const char *const selftest_choices[] = { "none", "pagefault", "ud", NULL };
static const char *const vmxtest_choices[] = { "none", "guest-state", "host-state", "control",
					       "ept-misconfig", NULL };
static const char *const ept_choices[] = { "auto", "4", "5", "off", NULL };

static const char *const mmu_choices[] = { "auto", "ept", "shadow", NULL };
static const struct opt_spec specs[] = {
	{ "log", OPT_CHOICE, &opts.log_level, log_choices, 0, 0, "error|warn|info|debug" },
	{ "selftest", OPT_CHOICE, &opts.selftest, selftest_choices, 0, 0, "none|pagefault|ud" },
	{ "ept", OPT_CHOICE, &opts.ept, ept_choices, 0, 0, "auto|4|5|off (EPT walk length)" },
	{ "mmu", OPT_CHOICE, &opts.mmu, mmu_choices, 0, 0,
	  "auto|ept|shadow (guest memory virtualisation; auto = EPT when present)" },
	{ "shadow_pool", OPT_UINT, &opts.shadow_pool, NULL, 16, 262144,
	  "<pages> shadow page-table pages per guest, default 1024" },
	{ "vpid", OPT_BOOL, &opts.vpid, NULL, 0, 0, "on|off (use VPID when present)" },
	{ "ug", OPT_BOOL, &opts.ug, NULL, 0, 0, "on|off (use unrestricted guest when present)" },
	{ "vmxtest", OPT_CHOICE, &opts.vmxtest, vmxtest_choices, 0, 0,
	  "none|guest-state|host-state|control|ept-misconfig (break the VMCS or EPT on purpose)" },
	{ "budget", OPT_UINT, &opts.budget, NULL, 0, ~0ull,
	  "<TSC ticks> run time per guest (VMX-preemption timer), 0 = unlimited" },
	{ "exitstats", OPT_BOOL, &opts.exitstats, NULL, 0, 0,
	  "on|off (print VM exits and handler TSC ticks per exit class)" },
	{ "mem", OPT_SIZE, &opts.mem, NULL, 2ull << 20, 3ull << 30, "<size> RAM per guest, 2M-3G, default 64M" },
};

bool options_parse(const char *cmdline)
{
	char err[160];

	if (cmdline_parse(cmdline, specs, ARRAY_SIZE(specs), err, sizeof(err)) != CMDLINE_OK) {
		pr_err("command line: %s\n", err);
		options_print_help();
		return false;
	}
	log_set_level((enum log_level)opts.log_level);
	return true;
}

void options_print_help(void)
{
	kprintf("options:");
	for (unsigned i = 0; i < ARRAY_SIZE(specs); i++)
		kprintf(" %s=%s", specs[i].key, specs[i].help);
	kprintf("\n");
}
