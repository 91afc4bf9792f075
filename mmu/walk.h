/* The guest page-table walker: one walk loop for 32-bit, PAE, 4-level,
 * 5-level and EPT (4/5-level) entries, driven by precomputed reserved-bit
 * and permission tables (SDM Vol. 3A chapter 4, Vol. 3C 29.3). */
#ifndef UMBRA_MMU_WALK_H
#define UMBRA_MMU_WALK_H

#include "mmu/ops.h"
#include "mmu/paging.h"
#include "mmu/perm.h"
#include "mmu/rsvd.h"

#define GWALK_MAX_LEVELS	5
/* Walks restarted because an entry changed under the A/D update before the
 * walker gives up with GWALK_RETRY. */
#define GWALK_MAX_RESTARTS	8

enum gwalk_status {
	GWALK_OK = 0,
	GWALK_PAGE_FAULT,	/* guest #PF with res->error_code */
	GWALK_EPT_VIOLATION,	/* res->exit_qual */
	GWALK_EPT_MISCONFIG,	/* res->fault_level names the bad entry */
	GWALK_NO_MEMORY,	/* an entry's gpa is not guest RAM: res->fault_gpa */
	GWALK_RETRY,		/* entries kept changing: re-execute the access */
};

/* A paging mode with its derived tables; build once per mode change. */
struct gwalk_mode {
	struct paging_mode mode;
	enum paging_format format;
	unsigned levels;	/* 0 (no paging), 2, 3, 4 or 5 */
	uint64_t root_mask;	/* address bits of CR3 or EPTP */
	uint64_t phys_mask;	/* bits (MAXPHYADDR-1):12 */
	uint32_t pfec_fetch;	/* PFEC_I when fetches report I/D (SDM 4.7) */
	struct rsvd_table rsvd;
	struct perm_table perm;
};

struct gwalk_result {
	gpa_t gpa;		/* translation of the address, offset included */
	uint64_t page_size;	/* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	unsigned perm;		/* PERM_* ANDed over the levels used (EPT:
				   R/W/X of the EPT entries, PERM_U always set) */
	/* Entries visited, indexed by level - 1, for levels last_level..levels
	 * (root first). The value is the one left in memory, A/D included.
	 * For PAE, level 3 is the PDPTE register and its gpa in the CR3 page. */
	gpa_t pte_gpa[GWALK_MAX_LEVELS];
	uint64_t pte[GWALK_MAX_LEVELS];
	unsigned last_level;	/* leaf, or the entry that ended the walk */
	unsigned fault_level;	/* entry that faulted; 0 for rights faults */
	uint32_t error_code;	/* GWALK_PAGE_FAULT: PFEC_* (P, W, U, RSVD, I, PK) */
	uint64_t exit_qual;	/* GWALK_EPT_VIOLATION: EPT_QUAL_* */
	gpa_t fault_gpa;	/* GWALK_NO_MEMORY */
};

/* Derive format, reserved-bit masks and permission table of @m. */
void gwalk_mode_init(struct gwalk_mode *gm, const struct paging_mode *m);

/* Translate @addr (linear address, or guest-physical for EPT) for an access
 * of type @access (ACC_*), reading tables through @ops.
 *   @root:   CR3 (ordinary paging) or EPTP (EPT); only its address bits
 *            are used.
 *   @pdptes: the four PDPTE registers for PAE paging, as loaded (and
 *            checked with pae_pdpte_valid()) at CR3 load time; else NULL.
 * Linear addresses are truncated to 32 bits in 32-bit and PAE paging; the
 * caller checks canonicality (#GP, not #PF) in 4- and 5-level paging.
 * Faults are reported in the order the hardware finds them: a non-present
 * or reserved-bit entry from the root down, then the access rights of the
 * complete translation (including PKRU with CR4.PKE).
 * For EPT, @addr is a guest-physical address and ACC_PAGING / ACC_GLA
 * describe the access for the exit qualification.
 * On success the accessed flags of all entries used and, for writes, the
 * dirty flag of the leaf are set with ops->cmpxchg_gpa (SDM Vol. 3A 4.8,
 * Vol. 3C 29.3.5); nothing is written when the walk faults. If an entry
 * changed under the update the walk restarts (up to GWALK_MAX_RESTARTS). */
enum gwalk_status gwalk(const struct gwalk_mode *gm, const struct mmu_ops *ops, uint64_t root,
			const uint64_t *pdptes, uint64_t addr, unsigned access,
			struct gwalk_result *res) __must_check;

#endif
