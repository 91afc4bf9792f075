/* Permission tables per paging mode (SDM Vol. 3A 4.6): CR0.WP, CR4.SMEP,
 * CR4.SMAP and IA32_EFER.NXE folded into one bitmap per access type, so the
 * walker decides "does this access fault?" with one lookup. */
#ifndef UMBRA_MMU_PERM_H
#define UMBRA_MMU_PERM_H

#include "mmu/paging.h"

struct perm_table {
	/* fault[access & ACC_PERM_MASK] bit perm_index(p) is set when an
	 * access of that type to a translation with effective permissions p
	 * (PERM_W, PERM_X, PERM_U) faults. */
	uint8_t fault[ACC_PERM_MASK + 1];
	/* pk_fault[access & ACC_PERM_MASK] bit (PKRU >> 2 * key) & 3 is set
	 * when PKRU's AD/WD bits for the key deny that access to a user-mode
	 * address. All zero unless CR4.PKE = 1 in 4/5-level paging. */
	uint8_t pk_fault[ACC_PERM_MASK + 1];
};

static inline unsigned perm_index(unsigned perm)
{
	return (perm & (PERM_W | PERM_X | PERM_U)) >> 1;
}

void perm_build(struct perm_table *t, const struct paging_mode *m);

static inline bool perm_faults(const struct perm_table *t, unsigned access, unsigned perm)
{
	return (t->fault[access & ACC_PERM_MASK] >> perm_index(perm)) & 1;
}

/* Does PKRU deny @access to a user-mode address with protection key @key? */
static inline bool perm_pk_faults(const struct perm_table *t, unsigned access, uint32_t pkru,
				  unsigned key)
{
	return (t->pk_fault[access & ACC_PERM_MASK] >> ((pkru >> (2 * key)) & 3)) & 1;
}

_Static_assert(PERM_W >> 1 == 1 && PERM_X >> 1 == 2 && PERM_U >> 1 == 4, "perm_index fits 8 bits");

#endif
