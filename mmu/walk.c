/* The guest walker. One walk loop, walk_entries(), is written once and
 * instantiated per entry format: each public format calls it with a constant
 * format descriptor, and since it is always inlined the compiler folds the
 * descriptor away (the template of KVM's paging_tmpl.h, without macros). */
#include "mmu/walk.h"
#include "mmu/ept.h"

/* What distinguishes the entry formats beyond the per-mode tables. */
struct gwalk_format {
	unsigned entry_size;	/* bytes: 4 (32-bit paging) or 8 */
	unsigned index_bits;	/* linear-address bits per level: 10 or 9 */
	bool ept;		/* EPT entries: XWR rights, present if XWR != 0 */
	bool pdpte_regs;	/* PAE: the top level comes from the PDPTE registers */
	uint64_t table_mask;	/* next-table address in a non-leaf entry */
	uint64_t a_bit, d_bit;
};

static const struct gwalk_format fmt_32 = {
	.entry_size = 4, .index_bits = 10, .table_mask = GENMASK(31, 12),
	.a_bit = PTE_A, .d_bit = PTE_D,
};
static const struct gwalk_format fmt_pae = {
	.entry_size = 8, .index_bits = 9, .pdpte_regs = true, .table_mask = GENMASK(51, 12),
	.a_bit = PTE_A, .d_bit = PTE_D,
};
static const struct gwalk_format fmt_long = {
	.entry_size = 8, .index_bits = 9, .table_mask = GENMASK(51, 12),
	.a_bit = PTE_A, .d_bit = PTE_D,
};
static const struct gwalk_format fmt_ept = {
	.entry_size = 8, .index_bits = 9, .ept = true, .table_mask = GENMASK(51, 12),
	.a_bit = EPT_A, .d_bit = EPT_D,
};

void gwalk_mode_init(struct gwalk_mode *gm, const struct paging_mode *m)
{
	gm->mode = *m;
	gm->format = paging_mode_format(m);
	gm->levels = paging_format_levels(gm->format);
	gm->phys_mask = GENMASK(m->maxphyaddr - 1, 12);
	switch (gm->format) {
	case PAGING_32:
		gm->root_mask = GENMASK(31, 12);
		break;
	case PAGING_PAE:
		gm->root_mask = GENMASK(31, 5);
		break;
	default:
		gm->root_mask = gm->phys_mask;
	}
	/* I/D is reported for fetches when SMEP = 1, or PAE = 1 and NXE = 1. */
	gm->pfec_fetch = m->cr4_smep || (m->cr4_pae && m->efer_nx) ? PFEC_I : 0;
	rsvd_build(&gm->rsvd, m);
	perm_build(&gm->perm, m);
}

static inline unsigned entry_perm(const struct gwalk_format *f, uint64_t pte)
{
	if (f->ept)
		return (unsigned)(pte & (EPT_R | EPT_W | EPT_X)) | PERM_U;
	return PERM_R | (pte & PTE_W ? PERM_W : 0) | (pte & PTE_U ? PERM_U : 0) |
	       (pte & PTE_NX ? 0 : PERM_X);
}

static inline bool entry_present(const struct gwalk_format *f, uint64_t pte)
{
	return f->ept ? (pte & EPT_RWX) != 0 : (pte & PTE_P) != 0;
}

/* EPT misconfiguration (SDM Vol. 3C 29.3.3.1): bad XWR combination, a
 * reserved bit in a present entry, or a reserved memory type in a leaf. */
static inline bool ept_misconfigured(const struct rsvd_table *rt, uint64_t pte, unsigned level,
				     bool ps, bool leaf)
{
	return ((rt->ept_xwr_bad >> (pte & EPT_RWX)) & 1) || (pte & rt->mask[level][ps]) ||
	       (leaf && ((rt->ept_mt_bad >> ((pte >> EPT_MT_SHIFT) & 7)) & 1));
}

static inline bool read_entry(const struct gwalk_format *f, const struct mmu_ops *ops,
			      gpa_t gpa, uint64_t *pte)
{
	if (f->entry_size == 4) {
		uint32_t v;

		if (!ops->read_gpa(ops->ctx, gpa, &v, 4))
			return false;
		*pte = v;
		return true;
	}
	return ops->read_gpa(ops->ctx, gpa, pte, 8);
}

/* Fault reports. @perm holds the rights ANDed so far, including the entry
 * that ended the walk (XWR = 000 for a not-present EPT entry). */
static enum gwalk_status pf(const struct gwalk_mode *gm, unsigned access, uint32_t bits,
			    struct gwalk_result *res)
{
	res->error_code = bits | (access & ACC_WRITE ? PFEC_W : 0) |
			  ((access & ACC_USER) && !(access & ACC_IMPLICIT) ? PFEC_U : 0) |
			  (access & ACC_FETCH ? gm->pfec_fetch : 0);
	return GWALK_PAGE_FAULT;
}

static enum gwalk_status ept_violation(const struct gwalk_mode *gm, unsigned access, unsigned perm,
				       struct gwalk_result *res)
{
	uint64_t qual;

	if (access & ACC_FETCH)
		qual = EPT_QUAL_FETCH;
	else if (access & ACC_WRITE)
		qual = EPT_QUAL_WRITE;
	else
		qual = EPT_QUAL_READ;
	/* Paging-structure accesses count as writes with EPT A/D (29.3.5);
	 * the SDM reports both bits 0 and 1 for them. */
	if ((access & ACC_PAGING) && gm->mode.ept_ad && !(access & ACC_FETCH))
		qual |= EPT_QUAL_READ | EPT_QUAL_WRITE;
	qual |= (uint64_t)(perm & (PERM_R | PERM_W | PERM_X)) << 3;
	if (access & ACC_GLA)
		qual |= EPT_QUAL_GLA_VALID | (access & ACC_PAGING ? 0 : EPT_QUAL_GLA_XLAT);
	res->exit_qual = qual;
	return GWALK_EPT_VIOLATION;
}

/* The walk proper (SDM Vol. 3A 4.3-4.5, Vol. 3C 29.3.2):
 *  1. From the root down, read the entry indexed by the address bits of
 *     each level; stop at a non-present entry (#PF P=0 / EPT violation) or
 *     at one with a reserved bit (#PF P=1 RSVD=1 / EPT misconfiguration);
 *     a set PS bit (where the mode allows pages at that level) or level 1
 *     ends the walk at a leaf.
 *  2. Check the access against the rights ANDed over all levels.
 *  3. Only then set A in every entry used and D in the leaf for writes
 *     (EPT: only with EPT A/D, where paging-structure accesses are writes),
 *     restarting if an entry changed meanwhile.
 * Invariants: res->pte[] always holds the values the decision was based on,
 * updated to what was written back. */
static inline __attribute__((always_inline)) enum gwalk_status
walk_entries(const struct gwalk_format *f, const struct gwalk_mode *gm, const struct mmu_ops *ops,
	     uint64_t root, const uint64_t *pdptes, uint64_t addr, unsigned access,
	     struct gwalk_result *res)
{
	const struct rsvd_table *rt = &gm->rsvd;
	bool ad = !f->ept || gm->mode.ept_ad;
	bool write_access;

	if (access & ACC_FETCH)
		access &= ~ACC_WRITE;
	/* Writes for rights and dirty flags; with EPT A/D that includes the
	 * data accesses to guest paging structures (SDM Vol. 3C 29.3.5). */
	write_access = (access & ACC_WRITE) ||
		       (f->ept && gm->mode.ept_ad && (access & ACC_PAGING) && !(access & ACC_FETCH));
	if (!f->ept && (f->entry_size == 4 || f->pdpte_regs))
		addr = (uint32_t)addr;

	for (unsigned attempt = 0; attempt < GWALK_MAX_RESTARTS; attempt++) {
		unsigned level = gm->levels, top = gm->levels;
		unsigned perm = PERM_ALL;
		gpa_t table = root & gm->root_mask;
		uint64_t pte, size;
		bool ps;

		*res = (struct gwalk_result){ 0 };
		if (f->pdpte_regs) {
			unsigned i = (addr >> 30) & 3;

			MMU_BUG_ON(!pdptes);
			res->pte_gpa[2] = table + 8 * i;
			res->pte[2] = pte = pdptes[i];
			res->last_level = 3;
			if (!(pte & PTE_P)) {
				res->fault_level = 3;
				return pf(gm, access, 0, res);
			}
			table = pte & gm->phys_mask;
			level = top = 2;
		}
		for (;;) {
			unsigned shift = PAGE_SHIFT + f->index_bits * (level - 1);
			gpa_t pte_gpa = table + ((addr >> shift) & (BIT(f->index_bits) - 1)) * f->entry_size;

			res->last_level = level;
			if (!read_entry(f, ops, pte_gpa, &pte)) {
				res->fault_level = level;
				res->fault_gpa = pte_gpa;
				return GWALK_NO_MEMORY;
			}
			res->pte_gpa[level - 1] = pte_gpa;
			res->pte[level - 1] = pte;
			if (!entry_present(f, pte)) {
				res->fault_level = level;
				return f->ept ? ept_violation(gm, access, 0, res) : pf(gm, access, 0, res);
			}
			ps = (pte & rt->ps_bit[level]) != 0;
			if (f->ept ? ept_misconfigured(rt, pte, level, ps, level == 1 || ps)
				   : (pte & rt->mask[level][ps]) != 0) {
				res->fault_level = level;
				return f->ept ? GWALK_EPT_MISCONFIG : pf(gm, access, PFEC_P | PFEC_RSVD, res);
			}
			perm &= entry_perm(f, pte);
			if (level == 1 || ps)
				break;
			table = pte & f->table_mask;
			level--;
		}

		size = BIT(PAGE_SHIFT + f->index_bits * (level - 1));
		if (f->entry_size == 4 && level == 2)
			res->gpa = (pte & GENMASK(31, 22)) |
				   ((pte & PDE32_PSE36_MASK) >> PDE32_PSE36_SHIFT << 32);
		else
			res->gpa = pte & GENMASK(51, 12) & ~(size - 1);
		res->gpa |= addr & (size - 1);
		res->page_size = size;
		res->perm = perm;

		if (f->ept) {
			unsigned need = access & ACC_FETCH ? PERM_X : write_access ? PERM_W : PERM_R;

			if (need & ~perm)
				return ept_violation(gm, access, perm, res);
		} else {
			/* A PKRU denial sets PK whether or not the rights also
			 * fault (SDM 4.7); pk_fault is empty without PKE. */
			bool pk = (perm & PERM_U) &&
				  perm_pk_faults(&gm->perm, access, gm->mode.pkru,
						 (pte & PTE_PKEY_MASK) >> PTE_PKEY_SHIFT);

			if (pk || perm_faults(&gm->perm, access, perm))
				return pf(gm, access, PFEC_P | (pk ? PFEC_PK : 0), res);
		}
		if (!ad)
			return GWALK_OK;

		for (unsigned l = top; l >= level; l--) {
			uint64_t old = res->pte[l - 1];
			uint64_t new_val = old | f->a_bit | (l == level && write_access ? f->d_bit : 0);

			if (new_val == old)
				continue;
			if (!ops->cmpxchg_gpa(ops->ctx, res->pte_gpa[l - 1], old, new_val, f->entry_size))
				goto restart;
			res->pte[l - 1] = new_val;
		}
		return GWALK_OK;
restart:;
	}
	return GWALK_RETRY;
}

static enum gwalk_status walk_none(uint64_t addr, struct gwalk_result *res)
{
	*res = (struct gwalk_result){ 0 };
	res->gpa = addr;
	res->page_size = PAGE_SIZE_4K;
	res->perm = PERM_ALL;
	return GWALK_OK;
}

enum gwalk_status gwalk(const struct gwalk_mode *gm, const struct mmu_ops *ops, uint64_t root,
			const uint64_t *pdptes, uint64_t addr, unsigned access,
			struct gwalk_result *res)
{
	switch (gm->format) {
	case PAGING_NONE:
		return walk_none(addr, res);
	case PAGING_32:
		return walk_entries(&fmt_32, gm, ops, root, NULL, addr, access, res);
	case PAGING_PAE:
		return walk_entries(&fmt_pae, gm, ops, root, pdptes, addr, access, res);
	case PAGING_4LEVEL:
	case PAGING_5LEVEL:
		return walk_entries(&fmt_long, gm, ops, root, NULL, addr, access, res);
	case PAGING_EPT4:
	case PAGING_EPT5:
		return walk_entries(&fmt_ept, gm, ops, root, NULL, addr, access, res);
	default:
		MMU_BUG_ON(1);
	}
	return GWALK_RETRY;
}

_Static_assert(EPT_A == BIT(8) && EPT_D == BIT(9) && EPT_LEAF == PTE_PS, "EPT A/D/leaf bits");
_Static_assert(EPT_R == PERM_R && EPT_W == PERM_W && EPT_X == PERM_X, "EPT XWR are PERM_R/W/X");
