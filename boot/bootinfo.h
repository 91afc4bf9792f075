/* Multiboot2 information -> struct boot_info. The only file that knows the
 * Multiboot2 format; pure logic, host-tested against hand-built buffers. */
#ifndef UMBRA_BOOT_BOOTINFO_H
#define UMBRA_BOOT_BOOTINFO_H

#include "include/bits.h"
#include "include/boot_info.h"

#define MB2_BOOTLOADER_MAGIC	0x36d76289u
#define MB2_INFO_MAX		(1u << 20)	/* sanity bound on total_size */

enum bootinfo_status {
	BOOTINFO_OK = 0,
	BOOTINFO_BAD_MAGIC,	/* EAX was not the Multiboot2 magic */
	BOOTINFO_MALFORMED,	/* sizes, alignment or strings do not add up */
	BOOTINFO_TOO_MANY,	/* more memory ranges or modules than we hold */
	BOOTINFO_NO_MMAP,	/* no memory-map tag: we cannot trust anything else */
};

/* Parse the info block at @mbi (host-physical address @mbi_hpa, of which
 * @avail bytes may be read) into @bi. On failure writes a one-line reason to
 * @err. Every size is checked before it is used: truncated or malformed input
 * gives an error, never an out-of-bounds read. */
enum bootinfo_status bootinfo_parse(uint32_t magic, const void *mbi, size_t avail,
				    hpa_t mbi_hpa, struct boot_info *bi, char *err,
				    size_t errlen) __must_check;

const char *mem_type_name(uint32_t type);

#endif
