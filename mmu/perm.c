/* Access rights (SDM Vol. 3A 4.6.1), evaluated once per mode and access type. */
#include "mmu/perm.h"

/* Does an access of type @access to a translation whose effective rights are
 * @perm (W: R/W = 1 at every level, X: XD = 0 at every level, U: U/S = 1 at
 * every level, i.e. a user-mode address) fault under @m?
 *  - User accesses (CPL 3, not implicit) need U, plus W to write and X to
 *    fetch.
 *  - Supervisor fetches: never from user-mode addresses when CR4.SMEP = 1;
 *    need X.
 *  - Supervisor data accesses to user-mode addresses fault when CR4.SMAP = 1
 *    and the access is implicit or EFLAGS.AC = 0. Supervisor writes need W
 *    only when CR0.WP = 1.
 *  - With IA32_EFER.NXE = 0 there is no execute-disable: X is not checked
 *    (XD itself is then a reserved bit, see rsvd.c). */
static bool access_faults(const struct paging_mode *m, unsigned access, unsigned perm)
{
	bool fetch = access & ACC_FETCH;
	bool write = (access & ACC_WRITE) && !fetch;
	bool user = (access & ACC_USER) && !(access & ACC_IMPLICIT);
	bool smap_checks = (access & ACC_IMPLICIT) || !(access & ACC_AC);
	bool w = perm & PERM_W, x = (perm & PERM_X) || !m->efer_nx, u = perm & PERM_U;

	if (user)
		return !u || (write && !w) || (fetch && !x);
	if (fetch)
		return (m->cr4_smep && u) || !x;
	if (u && m->cr4_smap && smap_checks)
		return true;
	return write && m->cr0_wp && !w;
}

/* Protection keys (SDM 4.6.2, 4.7): with CR4.PKE = 1 in 4/5-level paging,
 * data accesses to a user-mode address with key i fault when AD_i = 1, and
 * writes also when WD_i = 1 if the access is a user-mode one or CR0.WP = 1.
 * Instruction fetches are not affected. @pkru_bits is AD_i | WD_i << 1. */
static bool pk_faults(const struct paging_mode *m, unsigned access, unsigned pkru_bits)
{
	bool fetch = access & ACC_FETCH;
	bool write = (access & ACC_WRITE) && !fetch;
	bool user = (access & ACC_USER) && !(access & ACC_IMPLICIT);
	bool lma = m->cr0_pg && m->cr4_pae && m->efer_lma;

	if (!m->cr4_pke || !lma || m->ept || fetch)
		return false;
	return (pkru_bits & 1) || ((pkru_bits & 2) && write && (user || m->cr0_wp));
}

void perm_build(struct perm_table *t, const struct paging_mode *m)
{
	for (unsigned access = 0; access <= ACC_PERM_MASK; access++) {
		uint8_t bits = 0, pk_bits = 0;

		for (unsigned idx = 0; idx < 8; idx++)
			if (access_faults(m, access, idx << 1))
				bits |= 1u << idx;
		for (unsigned ad_wd = 0; ad_wd < 4; ad_wd++)
			if (pk_faults(m, access, ad_wd))
				pk_bits |= 1u << ad_wd;
		t->fault[access] = bits;
		t->pk_fault[access] = pk_bits;
	}
}
