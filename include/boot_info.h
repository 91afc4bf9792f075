/* The neutral description of what the boot loader handed over. Only
 * boot/bootinfo.c knows Multiboot2; everything else reads this. */
#ifndef UMBRA_BOOT_INFO_H
#define UMBRA_BOOT_INFO_H

#include "include/types.h"

#define BOOT_MAX_MMAP		128
#define BOOT_MAX_MODULES	16
#define BOOT_CMDLINE_MAX	512

enum mem_type {
	MEM_USABLE = 1,		/* Multiboot2 type 1 */
	MEM_RESERVED = 2,
	MEM_ACPI_RECLAIM = 3,
	MEM_ACPI_NVS = 4,
	MEM_BAD = 5,
};

struct mem_range {
	uint64_t base;
	uint64_t len;
	uint32_t type;		/* enum mem_type; other values are treated as reserved */
};

struct boot_module {
	hpa_t start;		/* first byte */
	hpa_t end;		/* one past the last byte */
	char cmdline[BOOT_CMDLINE_MAX];
};

struct boot_info {
	char cmdline[BOOT_CMDLINE_MAX];
	char loader_name[64];
	struct mem_range mmap[BOOT_MAX_MMAP];
	uint32_t mmap_count;
	struct boot_module modules[BOOT_MAX_MODULES];
	uint32_t module_count;
	hpa_t mbi_start, mbi_end;	/* the Multiboot2 info block itself */
	hpa_t rsdp_v1, rsdp_v2;		/* copies inside the MBI; 0 when absent */
	hpa_t efi64_system_table;	/* 0 when absent */
	hpa_t efi32_system_table;
	bool efi_mmap_present;
	bool efi_boot_services_not_exited;
	uint32_t basic_mem_lower_kib, basic_mem_upper_kib;	/* informative only */
};

#endif
