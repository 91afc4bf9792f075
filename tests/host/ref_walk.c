/* Reference model of the x86 page walk, written independently of mmu/ and
 * deliberately naive: one function per paging mode, every bit named by its
 * number as in the SDM entry-format tables, no precomputed masks or tables.
 *
 * Sources: SDM Vol. 3A 4.3 (32-bit, Tables 4-4..4-6), 4.4 (PAE, Tables
 * 4-8..4-11), 4.5 (4/5-level, Tables 4-14..4-20), 4.6 (access rights), 4.7
 * (#PF error code), 4.8 (accessed and dirty flags); Vol. 3C 29.3 (EPT) and
 * 28.2.1 (EPT violation exit qualification). */
#include <stdlib.h>
#include <string.h>

#include "tests/host/ref_walk.h"

struct access {
	bool read, write, fetch, user, implicit, ac, paging, gla;
};

static struct access decode(unsigned flags)
{
	struct access a = { 0 };

	a.fetch = flags & ACC_FETCH;
	a.write = !a.fetch && (flags & ACC_WRITE);
	a.read = !a.fetch && !a.write;
	a.implicit = flags & ACC_IMPLICIT;
	a.user = (flags & ACC_USER) && !a.implicit;
	a.ac = flags & ACC_AC;
	a.paging = flags & ACC_PAGING;
	a.gla = flags & ACC_GLA;
	return a;
}

static bool bit_set(uint64_t v, unsigned n)
{
	return (v >> n) & 1;
}

/* Is any of bits hi..lo set? (None when lo > hi.) */
static bool any_bits(uint64_t v, unsigned hi, unsigned lo)
{
	for (unsigned b = lo; b <= hi && b < 64; b++)
		if (bit_set(v, b))
			return true;
	return false;
}

/* Bits hi..lo of v, shifted down (0 when lo > hi). */
static uint64_t field(uint64_t v, unsigned hi, unsigned lo)
{
	uint64_t out = 0;

	for (unsigned b = hi + 1; b-- > lo;)
		out = (out << 1) | (uint64_t)bit_set(v, b);
	return lo > hi ? 0 : out;
}

static bool read_entry(const struct mmu_ops *ops, uint64_t gpa, unsigned len, uint64_t *v)
{
	*v = 0;
	if (len == 4) {
		uint32_t w;

		if (!ops->read_gpa(ops->ctx, gpa, &w, 4))
			return false;
		*v = w;
		return true;
	}
	return ops->read_gpa(ops->ctx, gpa, v, 8);
}

/* Section 4.6.1: may this access use a translation where "user" means U/S = 1
 * in every entry, "writable" R/W = 1 in every entry and "xd" XD = 1 in some
 * entry? */
static bool rights_allow(const struct paging_mode *m, struct access a, bool user_page,
			 bool writable, bool xd)
{
	bool no_exec = m->efer_nx && xd;

	if (a.user) {
		/* User-mode access: never to supervisor-mode addresses. */
		if (!user_page)
			return false;
		if (a.fetch)
			return !no_exec;
		if (a.write)
			return writable;
		return true;
	}
	/* Supervisor-mode access. */
	if (a.fetch) {
		if (user_page && m->cr4_smep)
			return false;
		return !no_exec;
	}
	if (user_page && m->cr4_smap && (a.implicit || !a.ac))
		return false;
	if (a.write && m->cr0_wp)
		return writable;
	return true;
}

static uint32_t error_code(const struct paging_mode *m, struct access a, bool p, bool rsvd)
{
	uint32_t ec = 0;

	if (p)
		ec |= 1u << 0;
	if (a.write)
		ec |= 1u << 1;
	if (a.user)
		ec |= 1u << 2;
	if (rsvd)
		ec |= 1u << 3;
	if (a.fetch && (m->cr4_smep || (m->cr4_pae && m->efer_nx)))
		ec |= 1u << 4;
	return ec;
}

/* Section 4.6.2 and the PK flag of 4.7: with CR4.PKE = 1 (4/5-level paging
 * only), a data access to a user-mode address whose leaf holds key i in
 * bits 62:59 is denied when PKRU.AD_i (bit 2i) = 1, or for a write when
 * PKRU.WD_i (bit 2i+1) = 1 and the access is user-mode or CR0.WP = 1. */
static bool pkru_denies(const struct paging_mode *m, struct access a, bool user_page, uint64_t leaf)
{
	unsigned key = (unsigned)field(leaf, 62, 59);
	bool ad = bit_set(m->pkru, 2 * key), wd = bit_set(m->pkru, 2 * key + 1);

	if (!m->cr4_pke || !user_page || a.fetch)
		return false;
	return ad || (wd && a.write && (a.user || m->cr0_wp));
}

static enum ref_status fault(struct ref_result *r, enum ref_status s, unsigned level)
{
	r->status = s;
	r->fault_level = level;
	return s;
}

static enum ref_status page_fault(const struct paging_mode *m, struct access a, struct ref_result *r,
				  unsigned level, bool p, bool rsvd)
{
	r->error_code = error_code(m, a, p, rsvd);
	return fault(r, REF_PAGE_FAULT, level);
}

static bool record(const struct mmu_ops *ops, struct ref_result *r, unsigned level, uint64_t gpa,
		   unsigned len, uint64_t *e)
{
	r->last_level = level;
	if (!read_entry(ops, gpa, len, e)) {
		r->fault_gpa = gpa;
		r->fault_level = level;
		r->status = REF_NO_MEMORY;
		return false;
	}
	r->entry_gpa[level - 1] = gpa;
	r->entry[level - 1] = *e;
	return true;
}

/* Section 4.8: set A (bit @a) in each entry from @top down to the leaf, and
 * D (bit @d) in the leaf for writes. Entries are re-read: with recursive
 * tables two levels may use the same entry. */
static void set_accessed_dirty(const struct mmu_ops *ops, struct ref_result *r, unsigned top,
			       unsigned len, unsigned a, unsigned d, bool dirty)
{
	for (unsigned level = top; level >= r->last_level; level--) {
		uint64_t old, val;

		if (!read_entry(ops, r->entry_gpa[level - 1], len, &old))
			abort();
		val = old | (1ull << a);
		if (level == r->last_level && dirty)
			val |= 1ull << d;
		if (val != old && !ops->cmpxchg_gpa(ops->ctx, r->entry_gpa[level - 1], old, val, len))
			abort();
		r->entry[level - 1] = val;
		if (level == 1)
			break;
	}
}

/* Section 4.3: 32-bit paging. */
static enum ref_status ref_32(const struct paging_mode *m, const struct mmu_ops *ops, uint64_t cr3,
			      uint64_t la, struct access a, struct ref_result *r)
{
	unsigned maxpa = m->maxphyaddr < 40 ? m->maxphyaddr : 40;
	uint64_t pde, pte, pde_gpa, pte_gpa;
	bool user_page, writable;

	la &= 0xffffffffull;
	r->top_level = 2;
	/* PDE: bits 31:12 from CR3, bits 11:2 are bits 31:22 of the address. */
	pde_gpa = (field(cr3, 31, 12) << 12) | (field(la, 31, 22) << 2);
	if (!record(ops, r, 2, pde_gpa, 4, &pde))
		return REF_NO_MEMORY;
	if (!bit_set(pde, 0))
		return page_fault(m, a, r, 2, false, false);
	user_page = bit_set(pde, 2);
	writable = bit_set(pde, 1);
	if (m->cr4_pse && bit_set(pde, 7)) {
		/* 4 MiB page: bits 21:(M-19) reserved, bits (M-20):13 are
		 * physical-address bits (M-1):32. */
		if (any_bits(pde, 21, maxpa - 19))
			return page_fault(m, a, r, 2, true, true);
		r->gpa = (field(pde, 31, 22) << 22) | (field(pde, maxpa - 20, 13) << 32) |
			 field(la, 21, 0);
		r->page_size = 4ull << 20;
	} else {
		pte_gpa = (field(pde, 31, 12) << 12) | (field(la, 21, 12) << 2);
		if (!record(ops, r, 1, pte_gpa, 4, &pte))
			return REF_NO_MEMORY;
		if (!bit_set(pte, 0))
			return page_fault(m, a, r, 1, false, false);
		user_page = user_page && bit_set(pte, 2);
		writable = writable && bit_set(pte, 1);
		r->gpa = (field(pte, 31, 12) << 12) | field(la, 11, 0);
		r->page_size = 4096;
	}
	if (!rights_allow(m, a, user_page, writable, false))
		return page_fault(m, a, r, 0, true, false);
	set_accessed_dirty(ops, r, 2, 4, 5, 6, a.write);
	return r->status = REF_OK;
}

/* Section 4.4: PAE paging, PDPTEs from the registers loaded with CR3. */
static enum ref_status ref_pae(const struct paging_mode *m, const struct mmu_ops *ops, uint64_t cr3,
			       const uint64_t pdpte[4], uint64_t la, struct access a,
			       struct ref_result *r)
{
	unsigned maxpa = m->maxphyaddr, i;
	uint64_t e, pde_gpa, pte_gpa;
	bool user_page, writable, xd;

	la &= 0xffffffffull;
	r->top_level = 3;
	i = (unsigned)field(la, 31, 30);
	r->entry_gpa[2] = (field(cr3, 31, 5) << 5) + 8 * i;
	r->entry[2] = pdpte[i];
	r->last_level = 3;
	if (!bit_set(pdpte[i], 0))
		return page_fault(m, a, r, 3, false, false);
	pde_gpa = (field(pdpte[i], maxpa - 1, 12) << 12) | (field(la, 29, 21) << 3);
	if (!record(ops, r, 2, pde_gpa, 8, &e))
		return REF_NO_MEMORY;
	if (!bit_set(e, 0))
		return page_fault(m, a, r, 2, false, false);
	if (any_bits(e, 62, maxpa) || (!m->efer_nx && bit_set(e, 63)) ||
	    (bit_set(e, 7) && any_bits(e, 20, 13)))
		return page_fault(m, a, r, 2, true, true);
	user_page = bit_set(e, 2);
	writable = bit_set(e, 1);
	xd = bit_set(e, 63);
	if (bit_set(e, 7)) {
		r->gpa = (field(e, maxpa - 1, 21) << 21) | field(la, 20, 0);
		r->page_size = 2ull << 20;
	} else {
		pte_gpa = (field(e, maxpa - 1, 12) << 12) | (field(la, 20, 12) << 3);
		if (!record(ops, r, 1, pte_gpa, 8, &e))
			return REF_NO_MEMORY;
		if (!bit_set(e, 0))
			return page_fault(m, a, r, 1, false, false);
		if (any_bits(e, 62, maxpa) || (!m->efer_nx && bit_set(e, 63)))
			return page_fault(m, a, r, 1, true, true);
		user_page = user_page && bit_set(e, 2);
		writable = writable && bit_set(e, 1);
		xd = xd || bit_set(e, 63);
		r->gpa = (field(e, maxpa - 1, 12) << 12) | field(la, 11, 0);
		r->page_size = 4096;
	}
	if (!rights_allow(m, a, user_page, writable, xd))
		return page_fault(m, a, r, 0, true, false);
	/* The PDPTE registers are not written back (Section 4.8). */
	set_accessed_dirty(ops, r, 2, 8, 5, 6, a.write);
	return r->status = REF_OK;
}

/* Section 4.5: 4-level and 5-level paging. */
static enum ref_status ref_long(const struct paging_mode *m, const struct mmu_ops *ops, uint64_t cr3,
				uint64_t la, struct access a, struct ref_result *r)
{
	unsigned maxpa = m->maxphyaddr, top = m->cr4_la57 ? 5 : 4;
	uint64_t table = field(cr3, maxpa - 1, 12) << 12, e;
	bool user_page = true, writable = true, xd = false;

	r->top_level = top;
	for (unsigned level = top;; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		bool rsvd, page = false;

		if (!record(ops, r, level, table | (field(la, shift + 8, shift) << 3), 8, &e))
			return REF_NO_MEMORY;
		if (!bit_set(e, 0))
			return page_fault(m, a, r, level, false, false);
		rsvd = any_bits(e, 51, maxpa) || (!m->efer_nx && bit_set(e, 63));
		if (level >= 4) {
			rsvd = rsvd || bit_set(e, 7);	/* PS must be 0 in PML5E/PML4E */
		} else if (level == 3) {
			if (bit_set(e, 7)) {
				if (!m->gbpages)
					rsvd = true;
				page = true;
				rsvd = rsvd || any_bits(e, 29, 13);
			}
		} else if (level == 2) {
			if (bit_set(e, 7)) {
				page = true;
				rsvd = rsvd || any_bits(e, 20, 13);
			}
		} else {
			page = true;
		}
		if (rsvd)
			return page_fault(m, a, r, level, true, true);
		user_page = user_page && bit_set(e, 2);
		writable = writable && bit_set(e, 1);
		xd = xd || bit_set(e, 63);
		if (page) {
			r->page_size = 1ull << shift;
			r->gpa = (field(e, maxpa - 1, shift) << shift) | field(la, shift - 1, 0);
			break;
		}
		table = field(e, maxpa - 1, 12) << 12;
	}
	if (pkru_denies(m, a, user_page, e)) {
		page_fault(m, a, r, 0, true, false);
		r->error_code |= 1u << 5;
		return REF_PAGE_FAULT;
	}
	if (!rights_allow(m, a, user_page, writable, xd))
		return page_fault(m, a, r, 0, true, false);
	set_accessed_dirty(ops, r, top, 8, 5, 6, a.write);
	return r->status = REF_OK;
}

/* Vol. 3C 28.2.1 / Table 28-7 (EPT violation exit qualification). */
static enum ref_status ept_violation(const struct paging_mode *m, struct access a, bool r_all,
				     bool w_all, bool x_all, struct ref_result *r, unsigned level)
{
	uint64_t q = 0;

	if (a.read)
		q |= 1;
	if (a.write)
		q |= 2;
	if (a.fetch)
		q |= 4;
	if (a.paging && m->ept_ad && !a.fetch)
		q |= 1 | 2;	/* treated as a write, reported as read and write */
	if (r_all)
		q |= 1ull << 3;
	if (w_all)
		q |= 1ull << 4;
	if (x_all)
		q |= 1ull << 5;
	if (a.gla) {
		q |= 1ull << 7;
		if (!a.paging)
			q |= 1ull << 8;
	}
	r->exit_qual = q;
	return fault(r, REF_EPT_VIOLATION, level);
}

/* Vol. 3C 29.3.2 (translation), 29.3.3 (misconfigurations and violations),
 * 29.3.5 (EPT accessed and dirty flags). */
static enum ref_status ref_ept(const struct paging_mode *m, const struct mmu_ops *ops, uint64_t eptp,
			       uint64_t gpa, struct access a, struct ref_result *r)
{
	unsigned maxpa = m->maxphyaddr, top = m->ept_levels;
	uint64_t table = field(eptp, maxpa - 1, 12) << 12, e;
	bool r_all = true, w_all = true, x_all = true, needs_write;

	r->top_level = top;
	for (unsigned level = top;; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		bool bad = false, page = false;

		if (!record(ops, r, level, table | (field(gpa, shift + 8, shift) << 3), 8, &e))
			return REF_NO_MEMORY;
		r_all = r_all && bit_set(e, 0);
		w_all = w_all && bit_set(e, 1);
		x_all = x_all && bit_set(e, 2);
		if (field(e, 2, 0) == 0)
			return ept_violation(m, a, r_all, w_all, x_all, r, level);
		if (bit_set(e, 1) && !bit_set(e, 0))
			bad = true;	/* write without read: 010b, 110b */
		if (field(e, 2, 0) == 4 && !m->ept_exec_only)
			bad = true;	/* execute-only without the capability */
		if (any_bits(e, 51, maxpa))
			bad = true;
		if (level >= 4) {
			bad = bad || any_bits(e, 7, 3);
		} else if (level == 3) {
			if (bit_set(e, 7)) {
				page = true;
				bad = bad || !m->gbpages || any_bits(e, 29, 12);
			} else {
				bad = bad || any_bits(e, 6, 3);
			}
		} else if (level == 2) {
			if (bit_set(e, 7)) {
				page = true;
				bad = bad || any_bits(e, 20, 12);
			} else {
				bad = bad || any_bits(e, 6, 3);
			}
		} else {
			page = true;
		}
		if (page) {
			uint64_t type = field(e, 5, 3);

			if (type == 2 || type == 3 || type == 7)
				bad = true;
		}
		if (bad)
			return fault(r, REF_EPT_MISCONFIG, level);
		if (page) {
			r->page_size = 1ull << shift;
			r->gpa = (field(e, maxpa - 1, shift) << shift) | field(gpa, shift - 1, 0);
			break;
		}
		table = field(e, maxpa - 1, 12) << 12;
	}
	needs_write = a.write || (a.paging && m->ept_ad && !a.fetch);
	if ((a.fetch && !x_all) || (needs_write && !w_all) || (!a.fetch && !needs_write && !r_all))
		return ept_violation(m, a, r_all, w_all, x_all, r, 0);
	if (m->ept_ad)
		set_accessed_dirty(ops, r, top, 8, 8, 9, needs_write);
	return r->status = REF_OK;
}

enum ref_status ref_walk(const struct paging_mode *m, const struct mmu_ops *ops, uint64_t root,
			 const uint64_t pdpte[4], uint64_t addr, unsigned access,
			 struct ref_result *r)
{
	struct access a = decode(access);

	memset(r, 0, sizeof(*r));
	if (m->ept)
		return ref_ept(m, ops, root, addr, a, r);
	if (!m->cr0_pg) {
		r->gpa = addr;
		r->page_size = 4096;
		return r->status = REF_OK;
	}
	if (!m->cr4_pae)
		return ref_32(m, ops, root, addr, a, r);
	if (!m->efer_lma)
		return ref_pae(m, ops, root, pdpte, addr, a, r);
	return ref_long(m, ops, root, addr, a, r);
}
