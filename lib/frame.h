/* Physical frame allocator. Built from the boot memory map minus every range
 * that must never be handed out (kernel image, modules, Multiboot2 info,
 * firmware-reserved memory, the first MiB). Pure logic: host-tested. */
#ifndef UMBRA_LIB_FRAME_H
#define UMBRA_LIB_FRAME_H

#include "include/bits.h"
#include "include/boot_info.h"
#include "include/types.h"

struct frame_stats {
	uint64_t total_frames;	/* usable frames managed */
	uint64_t free_frames;
	uint64_t reserved_bytes; /* usable RAM withheld (kernel, modules, MBI, low MiB) */
};

/* Initialise from the usable ranges of @bi, excluding [excl[i].base, +len). */
void frame_init(const struct boot_info *bi, const struct mem_range *excl, unsigned nexcl,
		uint64_t limit);
/* One zeroed 4 KiB frame, or 0 when memory is exhausted. */
hpa_t frame_alloc(void) __must_check;
/* @count contiguous zeroed frames, aligned to @align bytes, entirely below
 * @below (0 = anywhere); 0 when impossible. */
hpa_t frame_alloc_contig(uint64_t count, uint64_t align, hpa_t below) __must_check;
void frame_free(hpa_t hpa);
void frame_free_contig(hpa_t hpa, uint64_t count);
void frame_get_stats(struct frame_stats *st);

/* Host memory is identity mapped: a host-physical address is a pointer. The
 * hosted build overrides this hook to point into a test arena. */
void *phys_to_virt(hpa_t hpa);
hpa_t virt_to_phys(const void *p);

#endif
