/* EPT builder: map and unmap guest-physical ranges at 4 or 5 levels with
 * 4 KiB, 2 MiB and 1 GiB pages (SDM Vol. 3C 29.3). */
#ifndef UMBRA_MMU_EPT_H
#define UMBRA_MMU_EPT_H

#include "mmu/ops.h"

#define EPT_R		BIT(0)
#define EPT_W		BIT(1)
#define EPT_X		BIT(2)
#define EPT_RWX		(EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT	3
#define EPT_IGNORE_PAT	BIT(6)
#define EPT_LEAF	BIT(7)	/* PS in a PDE or PDPTE */
#define EPT_A		BIT(8)
#define EPT_D		BIT(9)
#define EPT_X_USER	BIT(10)	/* mode-based execute control */

#define EPT_MT_UC	0
#define EPT_MT_WC	1
#define EPT_MT_WT	4
#define EPT_MT_WP	5
#define EPT_MT_WB	6

/* Page sizes a map may use (bit mask). */
#define EPT_SIZE_4K	BIT(0)
#define EPT_SIZE_2M	BIT(1)
#define EPT_SIZE_1G	BIT(2)

enum ept_status {
	EPT_OK = 0,
	EPT_ENOMEM,		/* alloc_page returned 0 */
	EPT_EINVAL,		/* misaligned, out of range, bad type or permissions */
};

struct ept {
	const struct mmu_ops *ops;
	hpa_t root;		/* PML4 or PML5 table */
	unsigned levels;	/* 4 or 5 */
	unsigned page_sizes;	/* EPT_SIZE_* the CPU supports */
	bool exec_only;		/* CPU allows execute-only (X without R) */
	uint64_t maxpa;		/* guest-physical width limit: 1 << MAXPHYADDR */
	uint64_t table_pages;	/* tables currently allocated, root included */
};

enum ept_status ept_init(struct ept *ept, const struct mmu_ops *ops, unsigned levels,
			 unsigned page_sizes, bool exec_only, unsigned maxphyaddr) __must_check;
/* Map [gpa, gpa+size) to [hpa, hpa+size) with @perm (EPT_R|W|X) and memory
 * type @mt, using the largest allowed pages that fit; existing mappings in the
 * range are replaced (large pages split as needed). All of gpa, hpa, size are
 * 4 KiB aligned. */
enum ept_status ept_map(struct ept *ept, gpa_t gpa, hpa_t hpa, uint64_t size,
			uint64_t perm, unsigned mt) __must_check;
/* Remove mappings in [gpa, gpa+size), splitting large pages at the edges. */
enum ept_status ept_unmap(struct ept *ept, gpa_t gpa, uint64_t size) __must_check;
/* Replace fully populated tables of identical, contiguous leaves by large pages. */
void ept_merge(struct ept *ept);
/* EPTP value (SDM Vol. 3C 25.6.11): memory type WB, walk length - 1, A/D enable. */
uint64_t ept_eptp(const struct ept *ept, bool ad);
/* Look up one gpa: true and the leaf entry and its size when mapped. */
bool ept_lookup(const struct ept *ept, gpa_t gpa, uint64_t *entry, uint64_t *page_size);
/* Free every table. */
void ept_destroy(struct ept *ept);

#endif
