/* kmain: from the boot stub to the hypervisor. Order matters: the console
 * first (so every later failure can be reported), then the IDT (so a fault is
 * reported rather than a triple fault), then boot info, options, memory. */
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/trap.h"
#include "boot/bootinfo.h"
#include "drivers/power.h"
#include "drivers/serial.h"
#include "lib/frame.h"
#include "lib/printf.h"
#include "vmm/options.h"
#include "vmm/vmm.h"

#define UMBRA_VERSION "0.1"

extern uint8_t _kernel_start[], _kernel_end[];
static struct boot_info boot_info;

static void print_memory_map(const struct boot_info *bi)
{
	kprintf("memory map (%u ranges):\n", bi->mmap_count);
	for (unsigned i = 0; i < bi->mmap_count; i++) {
		const struct mem_range *m = &bi->mmap[i];
		kprintf("  %016llx-%016llx %s\n", (unsigned long long)m->base,
			(unsigned long long)(m->base + m->len - 1), mem_type_name(m->type));
	}
}

static void selftest_fault(int which)
{
	if (which == SELFTEST_PAGEFAULT) {
		pr_info("selftest: touching unmapped address 0x7ffffffff000\n");
		*(volatile uint64_t *)0x7ffffffff000ull = 1;
	} else if (which == SELFTEST_UD) {
		pr_info("selftest: executing ud2\n");
		__asm__ volatile("ud2");
	}
}

void kmain(uint32_t magic, uint64_t mbi_hpa);
void kmain(uint32_t magic, uint64_t mbi_hpa)
{
	struct boot_info *bi = &boot_info;
	char err[160];

	serial_init(COM1_PORT);
	console_set_sink(serial_write);
	kprintf("\nUmbra " UMBRA_VERSION " - x86-64 microhypervisor\n");
	trap_init();

	if (bootinfo_parse(magic, phys_to_virt(mbi_hpa), MB2_INFO_MAX, mbi_hpa, bi, err,
			   sizeof(err)) != BOOTINFO_OK) {
		pr_err("boot information: %s\n", err);
		power_off(POWER_FAIL);
	}
	kprintf("boot loader: %s\n", bi->loader_name[0] ? bi->loader_name : "(unnamed)");
	kprintf("command line: '%s'\n", bi->cmdline);
	if (!options_parse(bi->cmdline))
		power_off(POWER_FAIL);
	if (bi->efi64_system_table || bi->efi32_system_table)
		kprintf("firmware: UEFI (system table %#llx)\n",
			(unsigned long long)(bi->efi64_system_table ? bi->efi64_system_table
								    : bi->efi32_system_table));
	else
		kprintf("firmware: BIOS\n");
	if (bi->rsdp_v2 || bi->rsdp_v1)
		kprintf("ACPI: RSDP %s at %#llx\n", bi->rsdp_v2 ? "v2" : "v1",
			(unsigned long long)(bi->rsdp_v2 ? bi->rsdp_v2 : bi->rsdp_v1));

	cpu_identify();
	cpu_print();
	print_memory_map(bi);

	uint64_t mapped = paging_init(bi);
	struct mem_range excl[2 + BOOT_MAX_MODULES];
	unsigned nexcl = 0;
	excl[nexcl++] = (struct mem_range){ virt_to_phys(_kernel_start),
					    (uint64_t)(_kernel_end - _kernel_start), 0 };
	excl[nexcl++] = (struct mem_range){ bi->mbi_start, bi->mbi_end - bi->mbi_start, 0 };
	for (unsigned i = 0; i < bi->module_count; i++) {
		const struct boot_module *m = &bi->modules[i];
		excl[nexcl++] = (struct mem_range){ m->start, m->end - m->start, 0 };
		kprintf("module %u: %#llx-%#llx '%s'\n", i, (unsigned long long)m->start,
			(unsigned long long)m->end, m->cmdline);
	}
	frame_init(bi, excl, nexcl, mapped);

	struct frame_stats st;
	frame_get_stats(&st);
	kprintf("memory: %llu MiB usable, %llu MiB free for guests, %llu KiB withheld "
		"(kernel, modules, boot info, low MiB)\n",
		(unsigned long long)(st.total_frames >> 8), (unsigned long long)(st.free_frames >> 8),
		(unsigned long long)(st.reserved_bytes >> 10));
	if (st.free_frames < 1024) {
		pr_err("too little memory: %llu KiB free, Umbra needs at least 4 MiB\n",
		       (unsigned long long)(st.free_frames * 4));
		power_off(POWER_FAIL);
	}

	selftest_fault(opts.selftest);
	power_off((uint8_t)vmm_run(bi));
}
