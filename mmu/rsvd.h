/* Reserved-bit tables per paging mode (SDM Vol. 3A 4.3-4.5, Vol. 3C 29.3.3.1),
 * computed once per mode so that a walk checks an entry with one AND. */
#ifndef UMBRA_MMU_RSVD_H
#define UMBRA_MMU_RSVD_H

#include "mmu/paging.h"

#define RSVD_MAX_LEVEL	5

struct rsvd_table {
	/* [level][ps]: bits that must be 0 in a present entry at @level; ps is
	 * 1 when (entry & ps_bit[level]) selects a page at a non-leaf level.
	 * Level 1 uses [1][0]. Levels beyond the mode's depth are 0. Where a
	 * PS bit is itself reserved (PML4E, PDPTE without 1 GiB pages, EPT
	 * PML4E), it is in [level][0] and ps_bit[level] is 0. */
	uint64_t mask[RSVD_MAX_LEVEL + 1][2];
	uint64_t ps_bit[RSVD_MAX_LEVEL + 1];
	uint64_t pae_pdpte;	/* PAE PDPTE register: checked on load (SDM 4.4.1) */
	uint8_t ept_xwr_bad;	/* EPT: bit n set if bits 2:0 == n misconfigure */
	uint8_t ept_mt_bad;	/* EPT: bit n set if leaf memory type n misconfigures */
};

/* Fill @t for @m (any format, PAGING_NONE gives an empty table). */
void rsvd_build(struct rsvd_table *t, const struct paging_mode *m);

/* PAE PDPTE reserved bits for physical-address width @maxphyaddr (Table 4-8):
 * 2:1, 8:5 and 63:MAXPHYADDR. */
uint64_t rsvd_pae_pdpte_mask(unsigned maxphyaddr);

/* True when @pdpte may be loaded into a PDPTE register by MOV to CR0/CR3/CR4
 * in PAE mode: either P = 0 or no reserved bit is set (SDM Vol. 3A 4.4.1;
 * otherwise the MOV raises #GP and the caller must inject it). */
bool pae_pdpte_valid(const struct paging_mode *m, uint64_t pdpte) __must_check;

#endif
