/* The MMU core's only window on the world. The hypervisor supplies one ops
 * table backed by real memory; host tests supply fake memory that records
 * every access. mmu/ never touches hardware, never flushes a TLB itself, and
 * never includes anything outside include/ and mmu/. */
#ifndef UMBRA_MMU_OPS_H
#define UMBRA_MMU_OPS_H

#include "include/bits.h"
#include "include/types.h"

struct mmu_ops {
	void *ctx;
	/* Guest-physical memory as the guest sees it (for walking guest tables).
	 * Returns false when @gpa is not backed by guest RAM. 4- and 8-byte
	 * accesses are naturally aligned and single-copy atomic. */
	bool (*read_gpa)(void *ctx, gpa_t gpa, void *buf, unsigned len);
	/* Compare-and-exchange a guest entry (setting accessed/dirty bits as the
	 * hardware does, atomically with respect to other walkers). Returns
	 * false when the entry no longer held @old or @gpa is not RAM. */
	bool (*cmpxchg_gpa)(void *ctx, gpa_t gpa, uint64_t old, uint64_t new_val, unsigned len);
	/* Guest frame to host frame; false when the guest does not own @gfn. */
	bool (*gfn_to_hfn)(void *ctx, gfn_t gfn, hfn_t *hfn);
	/* Page-table pages for shadow and EPT tables: zeroed 4 KiB frames. */
	hpa_t (*alloc_page)(void *ctx);
	void (*free_page)(void *ctx, hpa_t hpa);
	/* Host-physical to a pointer the MMU may dereference (identity in the
	 * hypervisor, an arena in host tests). */
	void *(*hpa_to_ptr)(void *ctx, hpa_t hpa);
};

/* Invariant failure inside mmu/: the hypervisor links an implementation that
 * panics, host tests one that aborts (so sanitizers and fuzzers see it). */
__noreturn void mmu_bug(const char *file, int line, const char *what);
#define MMU_BUG_ON(cond) do { if (cond) mmu_bug(__FILE__, __LINE__, #cond); } while (0)

#endif
