/* The hypervisor's command-line options (Multiboot2 command line), parsed
 * once at boot by options_parse(). Each key is listed in the README. */
#ifndef UMBRA_VMM_OPTIONS_H
#define UMBRA_VMM_OPTIONS_H

#include "include/types.h"

enum vmxtest { VMXTEST_NONE, VMXTEST_GUEST_STATE, VMXTEST_HOST_STATE, VMXTEST_CONTROL,
	       VMXTEST_EPT_MISCONFIG };
enum mmu_choice { MMU_AUTO, MMU_EPT, MMU_SHADOW };
enum selftest { SELFTEST_NONE, SELFTEST_PAGEFAULT, SELFTEST_UD };

struct options {
	int log_level;		/* log=error|warn|info|debug (enum log_level) */
	int selftest;		/* selftest=none|pagefault|ud: provoke a host exception */
	/* VMX (vmm/): */
	int ept;		/* ept=auto|4|5|off (enum vmx_ept_choice, same order) */
	bool vpid;		/* vpid=on|off: use VPID when the CPU has it */
	bool ug;		/* ug=on|off: use unrestricted guest when the CPU has it */
	int mmu;		/* mmu=auto|ept|shadow (enum mmu_choice) */
	uint64_t shadow_pool;	/* shadow_pool=<pages>: shadow table pages per guest */
	uint64_t mem;		/* mem=<size>: RAM per guest, default 64M */
	int vmxtest;		/* vmxtest=none|guest-state|host-state|control|ept-misconfig */
	uint64_t budget;	/* budget=<TSC ticks>: run time per guest, 0 = unlimited */
	bool exitstats;		/* exitstats=on: handler time per exit class, per guest */
};

extern struct options opts;

/* Parses @cmdline into opts; on error prints which key or value is wrong
 * and returns false. */
bool options_parse(const char *cmdline);
void options_print_help(void);

#endif
