/* Placeholder until VMX bring-up lands: reports the guest modules it was
 * given and that it cannot run them yet. */
#include "arch/x86/cpu.h"
#include "drivers/power.h"
#include "lib/printf.h"
#include "vmm/vmm.h"

int vmm_run(const struct boot_info *bi)
{
	kprintf("vmm: %u guest module(s); running guests is not implemented yet\n",
		bi->module_count);
	return bi->module_count ? POWER_FAIL : POWER_OK;
}

#include "lib/panic.h"
#include "mmu/ops.h"

void mmu_bug(const char *file, int line, const char *what)
{
	panic_at(file, line, "mmu: %s", what);
}
