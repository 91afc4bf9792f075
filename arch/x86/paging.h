/* The host's own address space: an identity map of physical memory. */
#ifndef UMBRA_ARCH_X86_PAGING_H
#define UMBRA_ARCH_X86_PAGING_H

#include "include/boot_info.h"

/* Extend the boot stub's 4 GiB identity map to cover all RAM in @bi (with
 * 1 GiB pages, when the CPU has them). Returns the end of the mapped range:
 * physical memory below it may be dereferenced. */
uint64_t paging_init(const struct boot_info *bi);

#endif
