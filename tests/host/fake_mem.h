/* Fake host and guest memory for host tests: one arena of host frames backs
 * both page-table pages handed out by alloc_page and the guest's RAM, so a
 * struct mmu_ops can be exercised without hardware.
 *
 * Host frame numbers start at @base_hfn (so tests can place the arena above
 * or below 4 GiB). Guest frames 0 .. guest_pages-1 are RAM, backed by host
 * frames in a scrambled order so that code confusing gfn with hfn fails. */
#ifndef UMBRA_TESTS_FAKE_MEM_H
#define UMBRA_TESTS_FAKE_MEM_H

#include "mmu/ops.h"

struct fake_mem {
	struct mmu_ops ops;
	uint8_t *arena;		/* npages * 4 KiB */
	uint64_t npages;
	hfn_t base_hfn;
	uint8_t *in_use;	/* per arena page: 0 free, 1 table page, 2 guest RAM */
	uint64_t guest_pages;
	hfn_t *guest_hfn;	/* gfn -> hfn for guest RAM */
	uint64_t outstanding;	/* alloc_page minus free_page */
	uint64_t allocs;	/* successful alloc_page calls */
	uint64_t fail_after;	/* alloc_page fails once allocs reaches this (0: never) */
	uint64_t next_hint;
};

/* Arena of @npages host frames, @guest_pages of which become guest RAM.
 * Aborts on allocation failure (tests only). */
void fake_mem_init(struct fake_mem *fm, uint64_t npages, hfn_t base_hfn, uint64_t guest_pages,
		   uint64_t seed);
void fake_mem_destroy(struct fake_mem *fm);
/* Pointer to guest RAM at @gpa (NULL if not RAM). */
void *fake_mem_gpa_ptr(struct fake_mem *fm, gpa_t gpa);
/* Guest RAM write helpers for building guest page tables. */
void fake_mem_write32(struct fake_mem *fm, gpa_t gpa, uint32_t val);
void fake_mem_write64(struct fake_mem *fm, gpa_t gpa, uint64_t val);
uint64_t fake_mem_read64(struct fake_mem *fm, gpa_t gpa);
uint32_t fake_mem_read32(struct fake_mem *fm, gpa_t gpa);
/* Pointer to any host frame in the arena (NULL outside it). */
void *fake_mem_hpa_ptr(struct fake_mem *fm, hpa_t hpa);

#endif
