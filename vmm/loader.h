/* Guest kernel loader: a GRUB module that is a Multiboot (v1) kernel, as an
 * ELF32/ELF64 image loaded by its program headers or, with header flag bit
 * 16, by the a.out-kludge address fields. Pure logic over byte buffers (the
 * module image and the guest's RAM seen from the host), so it is
 * host-tested. */
#ifndef UMBRA_VMM_LOADER_H
#define UMBRA_VMM_LOADER_H

#include "include/bits.h"
#include "include/types.h"

#define MB1_HEADER_MAGIC	0x1badb002u
#define MB1_BOOT_MAGIC		0x2badb002u
#define MB1_SEARCH_LEN		8192
#define MB1_FLAG_PAGE_ALIGN	BIT(0)
#define MB1_FLAG_MEMINFO	BIT(1)
#define MB1_FLAG_VIDEO		BIT(2)
#define MB1_FLAG_AOUT_KLUDGE	BIT(16)

/* Multiboot v1 information flags (Multiboot 0.6.96 section 3.3). */
#define MB1_INFO_MEM		BIT(0)
#define MB1_INFO_CMDLINE	BIT(2)
#define MB1_INFO_MMAP		BIT(6)
#define MB1_INFO_LOADER_NAME	BIT(9)

/* Guest-physical layout of what the loader writes besides the kernel. The
 * kernel's segments must not overlap [LOADER_LOW_BASE, LOADER_LOW_END). */
#define LOADER_LOW_BASE		0x8000u
#define LOADER_GDT		0x8000u		/* flat GDT: null, code 0x08, data 0x10 */
#define LOADER_MBI		0x8100u		/* Multiboot info block */
#define LOADER_MMAP		0x8200u
#define LOADER_NAME		0x8300u
#define LOADER_CMDLINE		0x8400u
#define LOADER_CMDLINE_MAX	0xc00u
#define LOADER_STACK_TOP	0x8000u		/* initial ESP, grows down */
#define LOADER_LOW_END		0x9000u
#define LOADER_MEM_LOWER_KIB	639u		/* conventional memory: [0, 0x9fc00) */

enum load_status {
	LOAD_OK = 0,
	LOAD_NO_HEADER,		/* no Multiboot v1 header in the first 8 KiB */
	LOAD_BAD_HEADER,	/* checksum, unsupported required flags */
	LOAD_BAD_ELF,		/* not a loadable ELF32/ELF64 x86 executable */
	LOAD_TOO_BIG,		/* a segment falls outside guest RAM or on the loader area */
	LOAD_BAD_ENTRY,		/* entry point outside the loaded image or above 4 GiB */
};

struct load_result {
	uint32_t entry;		/* guest-physical entry point (32-bit protected mode) */
	uint64_t image_lo, image_hi;	/* guest-physical extent written */
	uint32_t mb_flags;
	bool elf64;
	bool aout_kludge;
};

/* Load @img (@len bytes) into guest RAM @gmem (@gmem_size bytes, guest-
 * physical address 0 at gmem[0]). On failure writes why to @err. */
enum load_status loader_load(const uint8_t *img, size_t len, uint8_t *gmem, uint64_t gmem_size,
			     struct load_result *res, char *err, size_t errlen) __must_check;

/* Write the Multiboot v1 information block, memory map, boot-loader name,
 * command line @cmdline and flat GDT into guest RAM. Returns the
 * guest-physical address of the info block (the EBX value). */
uint32_t loader_write_mbi(uint8_t *gmem, uint64_t gmem_size, const char *cmdline);

#endif
