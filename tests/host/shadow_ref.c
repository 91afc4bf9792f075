/* Test support for the shadow MMU; see shadow_ref.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/shadow_ref.h"

#define E_P	0x1ull
#define E_W	0x2ull
#define E_U	0x4ull
#define E_PWT	0x8ull
#define E_PCD	0x10ull
#define E_A	0x20ull
#define E_D	0x40ull
#define E_PS	0x80ull
#define E_G	0x100ull
#define E_XD	0x8000000000000000ull

uint64_t gtest_rand(struct gtest *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

bool gtest_access_ok(unsigned perm, unsigned acc, bool wp, bool smep, bool smap, bool nx)
{
	bool user_page = perm & ACC_U;

	if (!nx)
		perm |= ACC_X;
	if (acc & ACC_U) {
		if (!user_page)
			return false;
		if ((acc & ACC_W) && !(perm & ACC_W))
			return false;
		if ((acc & ACC_X) && !(perm & ACC_X))
			return false;
		return true;
	}
	if (acc & ACC_X)
		return (perm & ACC_X) && !(smep && user_page);
	if (smap && user_page)
		return false;
	if ((acc & ACC_W) && !(perm & ACC_W) && wp)
		return false;
	return true;
}

/* Guest tables may point outside RAM (random or reused frames): such an
 * entry reads as not present here. */
static uint64_t rd(struct fake_mem *fm, gpa_t gpa, unsigned size)
{
	if (!fake_mem_gpa_ptr(fm, gpa))
		return 0;
	return size == 4 ? fake_mem_read32(fm, gpa) : fake_mem_read64(fm, gpa);
}

static void wr(struct fake_mem *fm, gpa_t gpa, unsigned size, uint64_t v)
{
	if (size == 4)
		fake_mem_write32(fm, gpa, (uint32_t)v);
	else
		fake_mem_write64(fm, gpa, v);
}

static unsigned entry_perm(uint64_t e, bool xd_valid)
{
	unsigned p = ACC_X;

	if (e & E_U)
		p |= ACC_U;
	if (e & E_W)
		p |= ACC_W;
	if (xd_valid && (e & E_XD))
		p &= ~ACC_X;
	return p;
}

int gtest_walk(struct gtest *g, gva_t gva, unsigned acc, bool set_ad, struct shadow_gwalk *w,
	       unsigned *perm_out)
{
	const struct shadow_mode *m = &g->mode;
	unsigned levels = m->guest_levels, esize = levels == 2 ? 4 : 8;
	uint64_t amask = GENMASK(m->guest_maxphyaddr - 1, 12);
	uint64_t rsvd_hi = m->guest_maxphyaddr < 52 ? GENMASK(51, m->guest_maxphyaddr) : 0;
	unsigned perm = ACC_ALL;
	gpa_t table, visited[6] = { 0 };
	int level;
	uint64_t e = 0;

	memset(w, 0, sizeof(*w));
	if (levels == 0) {
		w->gfn = (gva & 0xffffffffu) >> 12;
		w->access = ACC_ALL;
		w->dirty = true;
		*perm_out = ACC_ALL;
		return GW_OK;
	}
	if (levels == 3) {
		uint64_t pdpte = g->pdptes[(gva >> 30) & 3];
		if (!(pdpte & E_P))
			return GW_NOT_PRESENT;
		if (pdpte & (0x6 | 0x1e0 | rsvd_hi | E_XD))
			return GW_RSVD;
		w->gpte[3] = pdpte;
		table = pdpte & amask;
		level = 2;
	} else {
		table = levels == 2 ? (g->cr3 & 0xfffff000u) : (g->cr3 & amask);
		level = (int)levels;
	}
	for (;; level--) {
		unsigned idx;
		bool leaf;

		if (levels == 2)
			idx = level == 2 ? (gva >> 22) & 1023 : (gva >> 12) & 1023;
		else
			idx = (gva >> (12 + 9 * (level - 1))) & 511;
		visited[level] = table + idx * esize;
		e = rd(g->fm, visited[level], esize);
		w->gpte[level] = e;
		w->table_gfn[level] = table >> 12;
		if (!(e & E_P))
			return GW_NOT_PRESENT;
		if (esize == 8) {
			if ((e & rsvd_hi) || ((e & E_XD) && !m->efer_nx) ||
			    (level >= 4 && (e & E_PS)) ||
			    (level == 3 && (e & E_PS) && (e & GENMASK(29, 13))) ||
			    (level == 2 && (e & E_PS) && (e & GENMASK(20, 13))))
				return GW_RSVD;
		} else if (level == 2 && (e & E_PS) && m->cr4_pse && (e & (1u << 21))) {
			return GW_RSVD;
		}
		perm &= entry_perm(e, esize == 8 && m->efer_nx);
		leaf = level == 1 || ((e & E_PS) && ((level == 2 && (levels != 2 || m->cr4_pse)) ||
						     (level == 3 && levels >= 4)));
		if (leaf)
			break;
		table = esize == 4 ? (e & 0xfffff000u) : (e & amask);
	}
	if (level == 1) {
		w->gfn = (esize == 4 ? (e & 0xfffff000u) : (e & amask)) >> 12;
	} else if (esize == 4) {
		/* 4 MiB page: address bits 31:22, and 39:32 in PDE bits 20:13 (PSE-36) */
		uint64_t base = (e & 0xffc00000u) | (((e >> 13) & 0xff) << 32);
		w->gfn = (base >> 12) + ((gva >> 12) & 1023);
	} else {
		uint64_t size = 1ull << (12 + 9 * (level - 1));
		w->gfn = ((e & amask & ~(size - 1)) + (gva & (size - 1))) >> 12;
	}
	w->leaf_level = (unsigned)level;
	w->access = perm;
	*perm_out = perm;
	if (!gtest_access_ok(perm, acc, m->cr0_wp, m->cr4_smep, m->cr4_smap, m->efer_nx))
		return GW_PROT;
	if (set_ad) {
		for (int l = (int)levels; l >= level; l--) {
			if (!visited[l])
				continue;
			uint64_t v = rd(g->fm, visited[l], esize) | E_A;
			if (l == level && (acc & ACC_W))
				v |= E_D;
			wr(g->fm, visited[l], esize, v);
			w->gpte[l] = v;
		}
	}
	w->dirty = w->gpte[level] & E_D;
	return GW_OK;
}

int sref_walk(struct fake_mem *fm, hpa_t root, unsigned fmt, unsigned maxphyaddr, bool nx,
	      gva_t gva, hpa_t *hpa, unsigned *perm_out)
{
	uint64_t amask = GENMASK(maxphyaddr - 1, 12);
	uint64_t rsvd_hi = maxphyaddr < 52 ? GENMASK(51, maxphyaddr) : 0;
	unsigned perm = ACC_ALL;
	hpa_t table;
	int level;

	if (fmt == 3) {
		/* PAE: CR3 bits 31:5 locate four PDPTEs (SDM Vol. 3A 4.4.1). */
		uint64_t *pd = fake_mem_hpa_ptr(fm, root & 0xffffffe0u);
		uint64_t pdpte;
		if (!pd || root >= (1ull << 32))
			return GW_RSVD;
		pdpte = pd[(gva >> 30) & 3];
		if (!(pdpte & E_P))
			return GW_NOT_PRESENT;
		if (pdpte & (0x6 | 0x1e0 | rsvd_hi | GENMASK(63, 52)))
			return GW_RSVD;
		table = pdpte & amask;
		level = 2;
	} else {
		table = root & amask;
		level = (int)fmt;
	}
	for (;; level--) {
		uint64_t *t = fake_mem_hpa_ptr(fm, table);
		uint64_t e;
		if (!t) {
			fprintf(stderr, "sref_walk: table 0x%llx outside the arena\n",
				(unsigned long long)table);
			abort();
		}
		e = t[(gva >> (12 + 9 * (level - 1))) & 511];
		if (!(e & E_P))
			return GW_NOT_PRESENT;
		if ((e & rsvd_hi) || ((e & E_XD) && !nx) || (level >= 4 && (e & E_PS)))
			return GW_RSVD;
		perm &= entry_perm(e, nx);
		if (level == 1 || ((level == 2 || level == 3) && (e & E_PS))) {
			uint64_t size = 1ull << (12 + 9 * (level - 1));
			if (level > 1 && (e & GENMASK(12 + 9 * (level - 1) - 1, 13)))
				return GW_RSVD;
			*hpa = (e & amask & ~(size - 1)) + (gva & (size - 1));
			*perm_out = perm;
			return GW_OK;
		}
		table = e & amask;
	}
}

unsigned gtest_shadow_fmt(const struct shadow_mode *mode)
{
	return mode->guest_levels >= 4 ? mode->guest_levels : 3;
}

/* ---- random guest tables ------------------------------------------------------- */

static unsigned table_entries(const struct gtest *g)
{
	return g->mode.guest_levels == 2 ? 1024 : 512;
}

static gfn_t new_table(struct gtest *g)
{
	if (g->next_table >= g->table_end)
		return g->table_end - 1 - gtest_rand(g) % 4;	/* reuse: shared tables */
	gfn_t gfn = g->next_table++;
	memset(fake_mem_gpa_ptr(g->fm, gfn << 12), 0, PAGE_SIZE);
	return gfn;
}

/* A random target frame: usually guest RAM, sometimes a table frame (to
 * exercise write protection), rarely beyond RAM. */
static gfn_t random_target(struct gtest *g)
{
	unsigned r = gtest_rand(g) % 16;

	if (r == 0)
		return g->data_pages + gtest_rand(g) % 8;
	if (r < 5)
		return 1 + gtest_rand(g) % (g->table_end - 1);
	return gtest_rand(g) % g->data_pages;
}

/* Random flag bits: mostly permissive, sometimes narrowing; rarely reserved. */
static uint64_t random_flags(struct gtest *g, bool leaf, bool is8)
{
	uint64_t e = E_P;
	uint64_t r = gtest_rand(g);

	if (r % 8)
		e |= E_W;
	if ((r >> 3) % 8)
		e |= E_U;
	if (leaf) {
		if ((r >> 6) % 2)
			e |= E_A;
		if ((r >> 7) % 2)
			e |= E_D;
		if ((r >> 8) % 8 == 0)
			e |= E_G;
		if ((r >> 11) % 16 == 0)
			e |= E_PWT | E_PCD;
	} else if ((r >> 6) % 2) {
		e |= E_A;
	}
	if (is8 && g->mode.efer_nx && (r >> 15) % 6 == 0)
		e |= E_XD;
	if (is8 && (r >> 20) % 64 == 0)
		e |= BIT(51);	/* reserved with guest MAXPHYADDR < 52 */
	if ((r >> 26) % 32 == 0)
		e &= ~E_P;
	return e;
}

/* Fill about a dozen entries of @table (guest level @level). */
static void fill_table(struct gtest *g, gfn_t table, int level, int depth)
{
	unsigned levels = g->mode.guest_levels, esize = levels == 2 ? 4 : 8;
	unsigned n = 6 + gtest_rand(g) % 10;

	for (unsigned k = 0; k < n; k++) {
		unsigned idx = gtest_rand(g) % table_entries(g);
		if (k < 3)
			idx = k;	/* keep low gvas busy */
		gpa_t gpa = (table << 12) + idx * esize;
		uint64_t e;
		bool large_ok = (level == 2 && (levels != 2 || g->mode.cr4_pse)) ||
				(level == 3 && levels >= 4);
		if (level == 1 || (large_ok && gtest_rand(g) % 4 == 0)) {
			e = random_flags(g, true, esize == 8);
			if (level == 1) {
				e |= random_target(g) << 12;
			} else {
				e |= E_PS;
				uint64_t span = level == 2 ? (levels == 2 ? 1024 : 512) : 1u << 18;
				e |= (gtest_rand(g) % (g->data_pages / span + 1)) * span << 12;
				if (gtest_rand(g) % 8 == 0)
					e |= 0x1000;	/* PAT bit of a large page */
			}
		} else {
			gfn_t child = new_table(g);
			e = random_flags(g, false, esize == 8) | (child << 12);
			if (depth < 6 && child + 1 == g->next_table)
				fill_table(g, child, level - 1, depth + 1);
		}
		wr(g->fm, gpa, esize, e);
	}
}

void gtest_build(struct gtest *g, struct fake_mem *fm, const struct shadow_mode *mode,
		 uint64_t seed, unsigned tables)
{
	memset(g, 0, sizeof(*g));
	g->fm = fm;
	g->mode = *mode;
	g->rng = seed * 0x9e3779b97f4a7c15ull + 12345;
	g->next_table = 1;
	g->table_end = 1 + tables;
	g->data_pages = fm->guest_pages;
	if (mode->guest_levels == 0)
		return;
	if (mode->guest_levels == 3) {
		for (unsigned i = 0; i < 4; i++) {
			if (gtest_rand(g) % 8 == 0)
				continue;
			gfn_t pd = new_table(g);
			g->pdptes[i] = E_P | (pd << 12);
			fill_table(g, pd, 2, 1);
		}
		g->cr3 = 0x20;	/* PDPT address; the PDPTEs are registers here */
		return;
	}
	gfn_t top = new_table(g);
	g->cr3 = top << 12;
	fill_table(g, top, (int)mode->guest_levels, 1);
}

/* Descend through present entries where there are some. */
gva_t gtest_random_gva(struct gtest *g)
{
	unsigned levels = g->mode.guest_levels, esize = levels == 2 ? 4 : 8;
	uint64_t amask = GENMASK(g->mode.guest_maxphyaddr - 1, 12);
	gva_t gva = 0;
	gpa_t table;
	int level;

	if (levels == 0)
		return (gtest_rand(g) % ((uint64_t)g->data_pages + 16)) << 12 | (gtest_rand(g) & 0xfff);
	if (levels == 3) {
		unsigned i = gtest_rand(g) % 4;
		gva = (gva_t)i << 30;
		if (!(g->pdptes[i] & E_P))
			return gva | (gtest_rand(g) & 0x3fffffff);
		table = g->pdptes[i] & amask;
		level = 2;
	} else {
		table = levels == 2 ? g->cr3 & 0xfffff000u : g->cr3 & amask;
		level = (int)levels;
	}
	for (; level >= 1; level--) {
		unsigned n = table_entries(g), shift = levels == 2 ? 12 + 10 * (level - 1)
								 : 12 + 9 * (level - 1);
		unsigned idx = gtest_rand(g) % n;
		for (unsigned tries = 0; tries < 64; tries++) {
			unsigned j = gtest_rand(g) % (tries < 32 ? 16 : n);
			if (rd(g->fm, table + j * esize, esize) & E_P) {
				idx = j;
				break;
			}
		}
		gva |= (gva_t)idx << shift;
		uint64_t e = rd(g->fm, table + idx * esize, esize);
		if (!(e & E_P) || level == 1 || (e & E_PS)) {
			gva |= gtest_rand(g) & ((1ull << shift) - 1);
			break;
		}
		table = esize == 4 ? (e & 0xfffff000u) : (e & amask);
	}
	/* canonical */
	if (levels == 4 && (gva & BIT(47)))
		gva |= GENMASK(63, 48);
	if (levels == 5 && (gva & BIT(56)))
		gva |= GENMASK(63, 57);
	if (levels <= 3)
		gva &= 0xffffffffu;
	return gva;
}

gpa_t gtest_mutate(struct gtest *g, unsigned *len)
{
	unsigned levels = g->mode.guest_levels, esize = levels == 2 ? 4 : 8;
	/* No tables at all (a PAE guest without present PDPTEs): edit frame 1. */
	gfn_t table = g->next_table > 1 ? 1 + gtest_rand(g) % (g->next_table - 1) : 1;
	unsigned idx = gtest_rand(g) % 16;
	gpa_t gpa = (table << 12) + idx * esize;
	uint64_t e = rd(g->fm, gpa, esize);

	switch (gtest_rand(g) % 6) {
	case 0: e ^= E_P; break;
	case 1: e ^= E_W; break;
	case 2: e ^= E_U; break;
	case 3: e = (e & 0xfff) | (random_target(g) << 12); break;
	case 4: e &= ~(E_D | E_A); break;
	default: e ^= (esize == 8 && g->mode.efer_nx) ? E_XD : E_PS; break;
	}
	wr(g->fm, gpa, esize, e);
	*len = esize;
	return gpa;
}
