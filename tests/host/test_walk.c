/* Walker tests: exhaustive cross-products of entry bits, paging modes and
 * access types, walker (mmu/walk.c) against the reference model
 * (tests/host/ref_walk.c), comparing outcome, translation, error code or
 * exit qualification, the entries visited and the A/D bits left in memory.
 * Plus a few hand-computed cases so that both cannot be wrong together. */
#include <stdlib.h>
#include <string.h>

#include "mmu/ept.h"
#include "mmu/walk.h"
#include "tests/host/check.h"
#include "tests/host/ref_walk.h"

#define MEM_SIZE	(16 * 4096)
#define TABLE(level)	((gpa_t)(level) * 0x1000)	/* table walked at @level */
#define PDPT_GPA	0x6040				/* PAE CR3 (32-byte aligned) */

static uint8_t mem_w[MEM_SIZE], mem_r[MEM_SIZE];
static struct fakemem fw, fr;	/* walker's and reference's copies */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* One walk to run on both models. e[level - 1] is the entry used at each
 * level (PAE: e[2] is the PDPTE register). */
struct scenario {
	const struct gwalk_mode *gm;
	uint64_t root;
	uint64_t pdpte[4];
	uint64_t addr;
	unsigned access;
	unsigned top, leaf;
	uint64_t e[5];
};

static unsigned entry_size(const struct gwalk_mode *gm)
{
	return gm->format == PAGING_32 ? 4 : 8;
}

static unsigned index_of(const struct gwalk_mode *gm, uint64_t addr, unsigned level)
{
	if (gm->format == PAGING_32)
		return (addr >> (12 + 10 * (level - 1))) & 0x3ff;
	return (addr >> (12 + 9 * (level - 1))) & 0x1ff;
}

static gpa_t entry_gpa(const struct scenario *s, unsigned level)
{
	return TABLE(level) + index_of(s->gm, s->addr, level) * entry_size(s->gm);
}

static uint64_t page_size_at(const struct gwalk_mode *gm, unsigned level)
{
	if (gm->format == PAGING_32)
		return level == 2 ? 4ull << 20 : 4096;
	return 1ull << (12 + 9 * (level - 1));
}

/* Fill both memories with the same random garbage, so that reading a wrong
 * slot changes the outcome. */
static void mem_reset(void)
{
	for (size_t i = 0; i < MEM_SIZE; i += 8) {
		uint64_t v = rnd();

		memcpy(mem_w + i, &v, 8);
	}
	memcpy(mem_r, mem_w, MEM_SIZE);
	fakemem_init(&fw, mem_w, MEM_SIZE);
	fakemem_init(&fr, mem_r, MEM_SIZE);
}

static void put(gpa_t gpa, uint64_t v, unsigned len)
{
	fakemem_write(&fw, gpa, v, len);
	fakemem_write(&fr, gpa, v, len);
}

/* Store s->e[] at the slots the address selects (PDPTEs into s->pdpte). */
static void install(struct scenario *s)
{
	unsigned esize = entry_size(s->gm);

	for (unsigned l = s->leaf; l <= s->top; l++) {
		if (s->gm->format == PAGING_PAE && l == 3)
			s->pdpte[(s->addr >> 30) & 3] = s->e[2];
		else
			put(entry_gpa(s, l), s->e[l - 1], esize);
	}
}

static const char *const format_name[PAGING_NR_FORMATS] = {
	"none", "32-bit", "PAE", "4-level", "5-level", "EPT4", "EPT5",
};

static void dump(const struct scenario *s)
{
	const struct paging_mode *m = &s->gm->mode;

	if (!check_verbose())
		return;
	printf("  %s wp%d pse%d smep%d smap%d nx%d 1g%d M%u ad%d xo%d acc 0x%x addr 0x%llx leaf %u\n",
	       format_name[s->gm->format], m->cr0_wp, m->cr4_pse, m->cr4_smep, m->cr4_smap,
	       m->efer_nx, m->gbpages, m->maxphyaddr, m->ept_ad, m->ept_exec_only, s->access,
	       (unsigned long long)s->addr, s->leaf);
	for (unsigned l = s->top; l >= s->leaf && l >= 1; l--)
		printf("  L%u 0x%016llx\n", l, (unsigned long long)s->e[l - 1]);
}

static const enum ref_status status_map[] = {
	[GWALK_OK] = REF_OK,
	[GWALK_PAGE_FAULT] = REF_PAGE_FAULT,
	[GWALK_EPT_VIOLATION] = REF_EPT_VIOLATION,
	[GWALK_EPT_MISCONFIG] = REF_EPT_MISCONFIG,
	[GWALK_NO_MEMORY] = REF_NO_MEMORY,
	[GWALK_RETRY] = 99,
};

/* Run both models on the installed scenario and compare everything. */
static unsigned long outcomes[GWALK_RETRY + 1];

static bool run_compare(const struct scenario *s, struct gwalk_result *out)
{
	struct gwalk_result w;
	struct ref_result r;
	enum gwalk_status ws;
	unsigned esize = entry_size(s->gm);
	bool ok = true;

	fw.nlog = fr.nlog = 0;
	ws = gwalk(s->gm, &fw.ops, s->root, s->pdpte, s->addr, s->access, &w);
	ref_walk(&s->gm->mode, &fr.ops, s->root, s->pdpte, s->addr, s->access, &r);

	ok &= CHECK_EQ(status_map[ws], r.status);
	outcomes[ws]++;
	if (ws == GWALK_OK && r.status == REF_OK) {
		ok &= CHECK_EQ(w.gpa, r.gpa);
		ok &= CHECK_EQ(w.page_size, r.page_size);
	}
	if (ws == GWALK_PAGE_FAULT)
		ok &= CHECK_EQ(w.error_code, r.error_code);
	if (ws == GWALK_EPT_VIOLATION)
		ok &= CHECK_EQ(w.exit_qual, r.exit_qual);
	if (ws == GWALK_NO_MEMORY)
		ok &= CHECK_EQ(w.fault_gpa, r.fault_gpa);
	if (ws != GWALK_OK)
		ok &= CHECK_EQ(w.fault_level, r.fault_level);
	if (s->gm->format != PAGING_NONE) {
		ok &= CHECK_EQ(w.last_level, r.last_level);
		for (unsigned l = r.last_level; l <= r.top_level && l >= 1; l++) {
			if (ws == GWALK_NO_MEMORY && l == r.last_level)
				continue;
			ok &= CHECK_EQ(w.pte_gpa[l - 1], r.entry_gpa[l - 1]);
			ok &= CHECK_EQ(w.pte[l - 1], r.entry[l - 1]);
		}
	}
	/* The A/D updates left in memory. */
	ok &= CHECK_EQ(fw.nlog, fr.nlog);
	for (unsigned i = 0; i < fw.nlog && i < FAKEMEM_LOG; i++)
		ok &= CHECK_EQ(fakemem_read(&fw, fw.log[i], esize), fakemem_read(&fr, fw.log[i], esize));
	for (unsigned i = 0; i < fr.nlog && i < FAKEMEM_LOG; i++)
		ok &= CHECK_EQ(fakemem_read(&fw, fr.log[i], esize), fakemem_read(&fr, fr.log[i], esize));
	if (!ok) {
		dump(s);
		memcpy(mem_w, mem_r, MEM_SIZE);
	}
	if (out)
		*out = w;
	return ok;
}

/* ---- building scenarios ---------------------------------------------- */

static struct paging_mode base_mode(enum paging_format f)
{
	struct paging_mode m = { .maxphyaddr = 46, .cr0_pg = true, .cr0_wp = true, .efer_nx = true,
				 .gbpages = true, .cr4_pse = true };

	switch (f) {
	case PAGING_NONE:
		m.cr0_pg = false;
		break;
	case PAGING_32:
		break;
	case PAGING_PAE:
		m.cr4_pae = true;
		break;
	case PAGING_5LEVEL:
		m.cr4_la57 = true;
		/* fall through */
	case PAGING_4LEVEL:
		m.cr4_pae = m.efer_lma = true;
		break;
	case PAGING_EPT4:
	case PAGING_EPT5:
		m.ept = true;
		m.ept_levels = f == PAGING_EPT5 ? 5 : 4;
		m.ept_ad = true;
		m.ept_exec_only = true;
		break;
	default:
		abort();
	}
	return m;
}

static bool is_ept(const struct gwalk_mode *gm)
{
	return paging_format_is_ept(gm->format);
}

/* A random address: 32 bits for 32-bit and PAE paging, else up to 57. */
static uint64_t random_addr(const struct gwalk_mode *gm)
{
	if (gm->format == PAGING_32 || gm->format == PAGING_PAE)
		return rnd() & 0xffffffffull;
	return rnd() & (gm->levels == 5 ? GENMASK(56, 0) : GENMASK(47, 0));
}

/* A random frame for a leaf at @level, aligned and below MAXPHYADDR. */
static uint64_t random_frame(const struct gwalk_mode *gm, unsigned level)
{
	unsigned maxpa = gm->mode.maxphyaddr;

	if (gm->format == PAGING_32) {
		if (level == 1)
			return rnd() & GENMASK(31, 12);
		/* 4 MiB: bits 31:22, plus PSE-36 bits 20:13 for address bits above 32. */
		return (rnd() & GENMASK(31, 22)) |
		       (MIN(maxpa, 40u) > 32 ? (rnd() & GENMASK(MIN(maxpa, 40u) - 20, 13)) : 0);
	}
	return rnd() & GENMASK(maxpa - 1, 0) & ~(page_size_at(gm, level) - 1);
}

/* A valid chain from the root to a leaf at @leaf: present, writable, user,
 * executable, nothing reserved; A and D clear; WB memory type for EPT. */
static void build_chain(struct scenario *s, const struct gwalk_mode *gm, unsigned leaf)
{
	memset(s, 0, sizeof(*s));
	s->gm = gm;
	s->top = gm->levels;
	s->leaf = leaf;
	s->addr = random_addr(gm);
	s->root = gm->format == PAGING_PAE ? PDPT_GPA : TABLE(s->top);
	if (is_ept(gm))
		s->root |= (gm->levels - 1) << 3 | 6;	/* EPTP walk length and WB */
	for (unsigned l = leaf; l <= s->top; l++) {
		uint64_t e;

		if (is_ept(gm)) {
			e = EPT_RWX;
			if (l == leaf)
				e |= (uint64_t)EPT_MT_WB << EPT_MT_SHIFT | (l > 1 ? EPT_LEAF : 0);
		} else if (gm->format == PAGING_PAE && l == 3) {
			e = PTE_P;
		} else {
			e = PTE_P | PTE_W | PTE_U;
			if (l == leaf && l > 1)
				e |= PTE_PS;
		}
		e |= l == leaf ? random_frame(gm, l) : TABLE(l - 1);
		s->e[l - 1] = e;
	}
}

static const unsigned x86_accesses[] = {
	0, ACC_WRITE, ACC_FETCH,
	ACC_USER, ACC_USER | ACC_WRITE, ACC_USER | ACC_FETCH,
	ACC_AC, ACC_AC | ACC_WRITE, ACC_AC | ACC_FETCH,
	ACC_IMPLICIT, ACC_IMPLICIT | ACC_WRITE,
	ACC_IMPLICIT | ACC_USER | ACC_AC, ACC_IMPLICIT | ACC_USER | ACC_AC | ACC_WRITE,
	ACC_USER | ACC_AC | ACC_WRITE,
};

static const unsigned ept_accesses[] = {
	0, ACC_WRITE, ACC_FETCH, ACC_PAGING, ACC_PAGING | ACC_GLA,
	ACC_GLA, ACC_GLA | ACC_WRITE, ACC_GLA | ACC_FETCH, ACC_PAGING | ACC_WRITE | ACC_GLA,
	ACC_PAGING | ACC_FETCH,
};

/* Leaf levels a format can map: 1, then large pages. */
static unsigned leaf_levels(enum paging_format f, unsigned *out)
{
	unsigned n = 0;

	out[n++] = 1;
	out[n++] = 2;
	if (f != PAGING_32 && f != PAGING_PAE)
		out[n++] = 3;
	return n;
}

static const enum paging_format walked_formats[] = {
	PAGING_32, PAGING_PAE, PAGING_4LEVEL, PAGING_5LEVEL, PAGING_EPT4, PAGING_EPT5,
};

/* ---- the cross-products ------------------------------------------------ */

/* Per-level rights bits (W, U, and XD where it exists) at every level of the
 * chain, for every combination of CR0.WP, CR4.SMEP, CR4.SMAP, EFER.NXE and
 * every access type; A and D vary with each walk. */
static void test_x86_rights(enum paging_format f)
{
	unsigned leaves[3], nleaves = leaf_levels(f, leaves);

	for (unsigned li = 0; li < nleaves; li++) {
		for (unsigned mv = 0; mv < 16; mv++) {
			struct paging_mode m = base_mode(f);
			struct gwalk_mode gm;
			struct scenario base;
			unsigned per_level = f == PAGING_32 ? 2 : 3, nlevels, ncombos;

			m.cr0_wp = mv & 1;
			m.cr4_smep = mv & 2;
			m.cr4_smap = mv & 4;
			m.efer_nx = mv & 8;
			if (f == PAGING_32 && m.efer_nx)
				continue;	/* no XD in 32-bit entries */
			gwalk_mode_init(&gm, &m);
			build_chain(&base, &gm, leaves[li]);
			nlevels = base.top - base.leaf + 1 - (f == PAGING_PAE);
			ncombos = 1u << (per_level * nlevels);
			for (unsigned c = 0; c < ncombos; c++) {
				for (unsigned ai = 0; ai < ARRAY_SIZE(x86_accesses); ai++) {
					struct scenario s = base;
					unsigned bits = c;
					uint64_t ad = rnd();

					s.access = x86_accesses[ai];
					for (unsigned l = s.leaf; l <= s.top; l++, ad >>= 2) {
						uint64_t *e = &s.e[l - 1];

						if (f == PAGING_PAE && l == 3)
							continue;
						*e &= ~(PTE_W | PTE_U);
						*e |= (bits & 1 ? PTE_W : 0) | (bits & 2 ? PTE_U : 0);
						if (per_level == 3 && (bits & 4))
							*e |= PTE_NX;
						bits >>= per_level;
						*e |= (ad & 1 ? PTE_A : 0) | (ad & 2 && l == s.leaf ? PTE_D : 0);
					}
					install(&s);
					run_compare(&s, NULL);
				}
			}
		}
	}
}

/* Each level not present in turn (other bits random), every access. */
static void test_not_present(enum paging_format f)
{
	unsigned leaves[3], nleaves = leaf_levels(f, leaves);
	struct paging_mode m = base_mode(f);
	struct gwalk_mode gm;

	gwalk_mode_init(&gm, &m);
	for (unsigned li = 0; li < nleaves; li++) {
		for (unsigned l = leaves[li]; l <= gm.levels; l++) {
			const unsigned *acc = is_ept(&gm) ? ept_accesses : x86_accesses;
			unsigned nacc = is_ept(&gm) ? ARRAY_SIZE(ept_accesses) : ARRAY_SIZE(x86_accesses);

			for (unsigned ai = 0; ai < nacc; ai++) {
				for (unsigned k = 0; k < 8; k++) {
					struct scenario s;

					build_chain(&s, &gm, leaves[li]);
					s.access = acc[ai];
					s.e[l - 1] = rnd() & (is_ept(&gm) ? ~(uint64_t)EPT_RWX : ~PTE_P);
					if (f == PAGING_32)
						s.e[l - 1] &= 0xffffffffull;
					install(&s);
					run_compare(&s, NULL);
				}
			}
		}
	}
}

/* Every bit of every entry of the chain set in turn, for several
 * MAXPHYADDRs and with NXE, PSE, 1 GiB pages and execute-only on and off:
 * checks every reserved-bit position (and ignored bits staying ignored). */
static void test_single_bits(enum paging_format f)
{
	static const uint8_t widths[] = { 32, 36, 39, 40, 46, 52 };
	unsigned leaves[3], nleaves = leaf_levels(f, leaves);

	for (unsigned wi = 0; wi < ARRAY_SIZE(widths); wi++) {
		for (unsigned mv = 0; mv < 4; mv++) {
			struct paging_mode m = base_mode(f);
			struct gwalk_mode gm;

			m.maxphyaddr = widths[wi];
			m.efer_nx = mv & 1;
			m.ept_exec_only = mv & 1;
			m.cr4_pse = mv & 2;
			m.gbpages = mv & 2;
			m.ept_ad = mv & 2;
			gwalk_mode_init(&gm, &m);
			for (unsigned li = 0; li < nleaves; li++) {
				for (unsigned l = leaves[li]; l <= gm.levels; l++) {
					unsigned nbits = f == PAGING_32 ? 32 : 64;

					if (f == PAGING_PAE && l == 3)
						continue;	/* PDPTEs: test_rsvd.c */
					for (unsigned b = 0; b < nbits; b++) {
						for (unsigned ai = 0; ai < 3; ai++) {
							static const unsigned acc[] = {
								ACC_USER, ACC_WRITE, ACC_FETCH };
							struct scenario s;

							build_chain(&s, &gm, leaves[li]);
							s.access = acc[ai];
							s.e[l - 1] |= BIT(b);
							install(&s);
							run_compare(&s, NULL);
						}
					}
				}
			}
		}
	}
}

/* EPT: XWR at every level, leaf sizes, A/D on/off, execute-only on/off. */
static void test_ept_rights(enum paging_format f)
{
	unsigned leaves[3], nleaves = leaf_levels(f, leaves);

	for (unsigned mv = 0; mv < 4; mv++) {
		struct paging_mode m = base_mode(f);
		struct gwalk_mode gm;

		m.ept_ad = mv & 1;
		m.ept_exec_only = mv & 2;
		gwalk_mode_init(&gm, &m);
		for (unsigned li = 0; li < nleaves; li++) {
			struct scenario base;
			unsigned ncombos;

			build_chain(&base, &gm, leaves[li]);
			ncombos = 1u << (3 * (base.top - base.leaf + 1));
			for (unsigned c = 0; c < ncombos; c++) {
				for (unsigned ai = 0; ai < ARRAY_SIZE(ept_accesses); ai++) {
					struct scenario s = base;
					unsigned bits = c;
					uint64_t ad = rnd();

					s.access = ept_accesses[ai];
					for (unsigned l = s.leaf; l <= s.top; l++, bits >>= 3, ad >>= 2) {
						s.e[l - 1] = (s.e[l - 1] & ~(uint64_t)(EPT_RWX | EPT_A | EPT_D)) | (bits & 7);
						s.e[l - 1] |= (ad & 1 ? EPT_A : 0) | (ad & 2 && l == s.leaf ? EPT_D : 0);
					}
					install(&s);
					run_compare(&s, NULL);
				}
			}
		}
	}
}

/* EPT leaf memory types 0-7 with and without ignore-PAT. */
static void test_ept_memtype(enum paging_format f)
{
	unsigned leaves[3], nleaves = leaf_levels(f, leaves);
	struct paging_mode m = base_mode(f);
	struct gwalk_mode gm;

	gwalk_mode_init(&gm, &m);
	for (unsigned li = 0; li < nleaves; li++)
		for (unsigned mt = 0; mt < 16; mt++)
			for (unsigned ai = 0; ai < ARRAY_SIZE(ept_accesses); ai++) {
				struct scenario s;
				uint64_t *leaf;

				build_chain(&s, &gm, leaves[li]);
				leaf = &s.e[s.leaf - 1];
				*leaf &= ~GENMASK(6, 3);
				*leaf |= (uint64_t)mt << EPT_MT_SHIFT;
				s.access = ept_accesses[ai];
				install(&s);
				run_compare(&s, NULL);
			}
}

/* Random entries (mostly valid with a few flipped bits, sometimes fully
 * random), random modes and accesses. */
static void test_random(unsigned iterations)
{
	for (unsigned i = 0; i < iterations; i++) {
		enum paging_format f = walked_formats[rnd() % ARRAY_SIZE(walked_formats)];
		struct paging_mode m = base_mode(f);
		struct gwalk_mode gm;
		unsigned leaves[3], nleaves = leaf_levels(f, leaves);
		struct scenario s;
		uint64_t flags = rnd();

		m.cr0_wp = flags & 1;
		m.cr4_pse = flags & 2;
		m.cr4_smep = flags & 4;
		m.cr4_smap = flags & 8;
		m.efer_nx = f != PAGING_32 && (flags & 16);
		m.gbpages = flags & 32;
		m.ept_ad = flags & 64;
		m.ept_exec_only = flags & 128;
		m.maxphyaddr = 32 + (flags >> 8) % 21;
		m.cr4_pke = flags & BIT(16);
		m.pkru = (uint32_t)rnd();
		gwalk_mode_init(&gm, &m);
		build_chain(&s, &gm, leaves[rnd() % nleaves]);
		for (unsigned l = s.leaf; l <= s.top; l++) {
			uint64_t r = rnd();

			if (r % 16 == 0)
				s.e[l - 1] = rnd();
			else if (r % 4 == 0)
				s.e[l - 1] ^= BIT(rnd() % 64);
			else if (r % 4 == 1)
				s.e[l - 1] ^= rnd() & (BIT(rnd() % 64) | BIT(rnd() % 12) | BIT(63));
			if (f == PAGING_32)
				s.e[l - 1] &= 0xffffffffull;
		}
		s.access = is_ept(&gm) ? ept_accesses[rnd() % ARRAY_SIZE(ept_accesses)]
				       : (unsigned)(rnd() & ACC_PERM_MASK);
		install(&s);
		run_compare(&s, NULL);
	}
}

/* A and D: every pattern of A over the chain, D on the leaf, read/write. */
static void test_accessed_dirty(enum paging_format f)
{
	unsigned leaves[3], nleaves = leaf_levels(f, leaves);
	struct paging_mode m = base_mode(f);
	struct gwalk_mode gm;

	gwalk_mode_init(&gm, &m);
	for (unsigned li = 0; li < nleaves; li++) {
		struct scenario base;

		build_chain(&base, &gm, leaves[li]);
		for (unsigned pat = 0; pat < (1u << (base.top - base.leaf + 2)); pat++) {
			for (unsigned w = 0; w < 3; w++) {
				struct scenario s = base;
				struct gwalk_result res;
				uint64_t a = is_ept(&gm) ? EPT_A : PTE_A, d = is_ept(&gm) ? EPT_D : PTE_D;

				s.access = w == 0 ? 0 : w == 1 ? ACC_WRITE : (is_ept(&gm) ? ACC_PAGING : ACC_FETCH);
				for (unsigned l = s.leaf; l <= s.top; l++)
					if (pat & BIT(l - s.leaf))
						s.e[l - 1] |= a;
				if (pat & BIT(s.top - s.leaf + 1))
					s.e[s.leaf - 1] |= d;
				install(&s);
				if (!run_compare(&s, &res))
					continue;
				/* Hand-checked: A everywhere walked (not the PAE PDPTE). */
				for (unsigned l = s.leaf; l <= s.top; l++)
					if (!(f == PAGING_PAE && l == 3))
						CHECK(res.pte[l - 1] & a);
				CHECK(!(res.pte[s.leaf - 1] & d) == !((s.e[s.leaf - 1] & d) || w == 1 ||
								       (w == 2 && is_ept(&gm))));
			}
		}
	}
}

/* An entry changes between the walk and its A/D update: the walker must
 * restart and end as if it had walked the new tables. The reference walks
 * the memory as it is after the change. */
static void test_race(enum paging_format f)
{
	struct paging_mode m = base_mode(f);
	struct gwalk_mode gm;

	gwalk_mode_init(&gm, &m);
	for (unsigned n = 1; n <= 6; n++) {
		for (unsigned k = 0; k < 64; k++) {
			struct scenario s;
			struct gwalk_result w;
			struct ref_result r;
			enum gwalk_status ws;
			uint64_t flip = k & 1 ? PTE_W : BIT(9 + k % 3);	/* rights or ignored bits */

			build_chain(&s, &gm, 1);
			s.access = k & 2 ? ACC_WRITE : 0;
			install(&s);
			fw.nlog = 0;
			fw.race_countdown = (int)n;
			fw.race_xor = is_ept(&gm) ? (k & 1 ? EPT_W : BIT(11)) : flip;
			ws = gwalk(&gm, &fw.ops, s.root, s.pdpte, s.addr, s.access, &w);
			if (fw.race_countdown == 0) {
				/* The race fired: replay on the reference memory the
				 * walker's writes before it, then the change. */
				unsigned len = entry_size(&gm);

				for (unsigned i = 0; i < fw.race_nlog && i < FAKEMEM_LOG; i++)
					fakemem_write(&fr, fw.log[i], fw.log_val[i], len);
				fakemem_write(&fr, fw.race_gpa,
					      fakemem_read(&fr, fw.race_gpa, len) ^ fw.race_xor, len);
			}
			fw.race_countdown = 0;
			ref_walk(&m, &fr.ops, s.root, s.pdpte, s.addr, s.access, &r);
			CHECK_EQ(status_map[ws], r.status);
			CHECK_EQ(w.error_code, r.error_code);
			for (unsigned l = 1; l <= s.top; l++) {
				unsigned len = entry_size(&gm);

				if (f == PAGING_PAE && l == 3)
					continue;
				CHECK_EQ(fakemem_read(&fw, entry_gpa(&s, l), len),
					 fakemem_read(&fr, entry_gpa(&s, l), len));
			}
			memcpy(mem_w, mem_r, MEM_SIZE);
		}
	}
	/* An entry that never settles: the walker gives up with GWALK_RETRY
	 * after GWALK_MAX_RESTARTS walks. */
	{
		struct scenario s;
		struct gwalk_result w;
		unsigned long reads;

		build_chain(&s, &gm, 1);
		install(&s);
		fw.race_always = true;
		fw.race_xor = is_ept(&gm) ? BIT(11) : BIT(9);
		reads = fw.reads;
		CHECK_EQ(gwalk(&gm, &fw.ops, s.root, s.pdpte, s.addr, ACC_WRITE, &w), GWALK_RETRY);
		CHECK_EQ(fw.reads - reads, GWALK_MAX_RESTARTS * (s.top - (f == PAGING_PAE)));
		fw.race_always = false;
	}
	memcpy(mem_r, mem_w, MEM_SIZE);
}

/* Protection keys (4/5-level): every key in the leaf (keys in upper levels
 * are ignored), AD/WD of that key and random other PKRU bits, CR0.WP, user
 * or supervisor pages, writable or not, every access type. */
static void test_pkeys(enum paging_format f)
{
	unsigned leaves[3], nleaves = leaf_levels(f, leaves);

	for (unsigned mv = 0; mv < 4; mv++) {
		struct paging_mode m = base_mode(f);
		struct gwalk_mode gm;

		m.cr4_pke = mv & 1;
		m.cr0_wp = mv & 2;
		m.cr4_smap = true;
		gwalk_mode_init(&gm, &m);
		for (unsigned li = 0; li < nleaves; li++)
			for (unsigned key = 0; key < 16; key++)
				for (unsigned bits = 0; bits < 16; bits++)
					for (unsigned ai = 0; ai < ARRAY_SIZE(x86_accesses); ai++) {
						struct scenario s;
						uint64_t *leaf;

						gm.mode.pkru = (uint32_t)rnd() & ~(3u << (2 * key));
						gm.mode.pkru |= (bits & 3) << (2 * key);
						build_chain(&s, &gm, leaves[li]);
						leaf = &s.e[s.leaf - 1];
						*leaf |= (uint64_t)key << PTE_PKEY_SHIFT;
						if (bits & 4)
							*leaf &= ~PTE_U;
						if (bits & 8)
							*leaf &= ~PTE_W;
						s.e[s.top - 1] |= rnd() & PTE_PKEY_MASK;
						s.access = x86_accesses[ai];
						install(&s);
						run_compare(&s, NULL);
					}
	}
}

/* ---- hand-computed cases ------------------------------------------------- */

static enum gwalk_status walk1(const struct gwalk_mode *gm, const struct scenario *s, unsigned access,
			       struct gwalk_result *res)
{
	return gwalk(gm, &fw.ops, s->root, s->pdpte, s->addr, access, res);
}

static void test_known(void)
{
	struct paging_mode m = base_mode(PAGING_4LEVEL);
	struct gwalk_mode gm;
	struct scenario s;
	struct gwalk_result res;

	/* 4-level, 4 KiB: user write to a read-only page: P|W|U. */
	gwalk_mode_init(&gm, &m);
	build_chain(&s, &gm, 1);
	s.addr = 0x00007f1234567abcull;
	s.e[0] = PTE_P | PTE_U | 0x1234000;
	install(&s);
	CHECK_EQ(walk1(&gm, &s, ACC_USER | ACC_WRITE, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 7);
	CHECK_EQ(fakemem_read(&fw, entry_gpa(&s, 1), 8), s.e[0]);	/* no A on fault */
	CHECK_EQ(walk1(&gm, &s, ACC_USER, &res), GWALK_OK);
	CHECK_EQ(res.gpa, 0x1234abcull);
	CHECK_EQ(res.page_size, 4096);
	CHECK_EQ(res.perm, PERM_R | PERM_X | PERM_U);
	/* CR3 bits other than the address (PCID, bit 63) are ignored. */
	CHECK_EQ(gwalk(&gm, &fw.ops, s.root | 0xabc | BIT(63), NULL, s.addr, ACC_USER, &res), GWALK_OK);
	CHECK_EQ(res.gpa, 0x1234abcull);
	CHECK_EQ(fakemem_read(&fw, entry_gpa(&s, 1), 8), s.e[0] | PTE_A);
	/* Supervisor fetch from the user page with SMEP: P|I. */
	m.cr4_smep = true;
	gwalk_mode_init(&gm, &m);
	CHECK_EQ(walk1(&gm, &s, ACC_FETCH, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 0x11);
	/* Supervisor write with WP=0 to the read-only page: allowed, D set. */
	m.cr0_wp = false;
	gwalk_mode_init(&gm, &m);
	CHECK_EQ(walk1(&gm, &s, ACC_WRITE, &res), GWALK_OK);
	CHECK_EQ(fakemem_read(&fw, entry_gpa(&s, 1), 8), s.e[0] | PTE_A | PTE_D);
	/* SMAP: supervisor read of a user page faults with AC=0, not with AC=1,
	 * and always for implicit accesses. */
	m.cr4_smap = true;
	gwalk_mode_init(&gm, &m);
	CHECK_EQ(walk1(&gm, &s, 0, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 1);
	CHECK_EQ(walk1(&gm, &s, ACC_AC, &res), GWALK_OK);
	CHECK_EQ(walk1(&gm, &s, ACC_AC | ACC_IMPLICIT | ACC_USER, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 1);
	/* XD set with NXE=0: reserved, P|RSVD (and I/D clear without SMEP). */
	m = base_mode(PAGING_4LEVEL);
	m.efer_nx = false;
	gwalk_mode_init(&gm, &m);
	s.e[0] = PTE_P | PTE_NX | 0x1234000;
	install(&s);
	CHECK_EQ(walk1(&gm, &s, ACC_FETCH, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 0x9);
	CHECK_EQ(res.fault_level, 1);
	/* PKRU: key 5 write-disabled: user write faults with P|W|U|PK; a
	 * supervisor write with WP=0 passes; AD denies even reads. */
	m = base_mode(PAGING_4LEVEL);
	m.cr4_pke = true;
	m.pkru = 2u << 10;
	gwalk_mode_init(&gm, &m);
	s.e[0] = PTE_P | PTE_W | PTE_U | (5ull << PTE_PKEY_SHIFT) | 0x1234000;
	install(&s);
	CHECK_EQ(walk1(&gm, &s, ACC_USER | ACC_WRITE, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 0x27);
	CHECK_EQ(walk1(&gm, &s, ACC_USER, &res), GWALK_OK);
	m.cr0_wp = false;
	gwalk_mode_init(&gm, &m);
	CHECK_EQ(walk1(&gm, &s, ACC_WRITE, &res), GWALK_OK);
	gm.mode.pkru = 1u << 10;
	CHECK_EQ(walk1(&gm, &s, ACC_FETCH | ACC_USER, &res), GWALK_OK);
	CHECK_EQ(walk1(&gm, &s, 0, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 0x21);

	/* 1 GiB page at a high address, MAXPHYADDR 46. */
	m = base_mode(PAGING_4LEVEL);
	gwalk_mode_init(&gm, &m);
	build_chain(&s, &gm, 3);
	s.addr = 0x0000123456789abcull;
	s.e[2] = PTE_P | PTE_W | PTE_PS | 0x3fffc0000000ull;
	install(&s);
	CHECK_EQ(walk1(&gm, &s, ACC_WRITE, &res), GWALK_OK);
	CHECK_EQ(res.gpa, 0x3fffc0000000ull | (s.addr & (PAGE_SIZE_1G - 1)));
	CHECK_EQ(res.page_size, PAGE_SIZE_1G);
	/* The same without 1 GiB support: PS in a PDPTE is reserved. */
	m.gbpages = false;
	gwalk_mode_init(&gm, &m);
	install(&s);
	CHECK_EQ(walk1(&gm, &s, 0, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 0x9);

	/* 32-bit PSE-36: 4 MiB page, PDE bits 20:13 = 0x85 -> address bits 39:32. */
	m = base_mode(PAGING_32);
	m.maxphyaddr = 40;
	m.efer_nx = false;
	gwalk_mode_init(&gm, &m);
	build_chain(&s, &gm, 2);
	s.addr = 0xc0312345;
	s.e[1] = PTE_P | PTE_PS | 0xc0000000u | (0x85u << 13);
	install(&s);
	CHECK_EQ(walk1(&gm, &s, ACC_FETCH | ACC_USER, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 0x5);	/* no I/D: no SMEP, no PAE */
	CHECK_EQ(walk1(&gm, &s, 0, &res), GWALK_OK);
	CHECK_EQ(res.gpa, 0x85c0312345ull);
	CHECK_EQ(res.page_size, PAGE_SIZE_4M);
	/* Without CR4.PSE the PS bit is ignored: the PDE points to a table. */
	m.cr4_pse = false;
	gwalk_mode_init(&gm, &m);
	install(&s);
	CHECK_EQ(walk1(&gm, &s, 0, &res), GWALK_NO_MEMORY);

	/* PAE: a PDPTE with P=0 faults with P=0; PDPTEs are never written. */
	m = base_mode(PAGING_PAE);
	gwalk_mode_init(&gm, &m);
	build_chain(&s, &gm, 1);
	s.addr = 0x80001000;
	install(&s);
	s.pdpte[2] = 0;
	CHECK_EQ(walk1(&gm, &s, ACC_WRITE | ACC_USER, &res), GWALK_PAGE_FAULT);
	CHECK_EQ(res.error_code, 0x6);
	CHECK_EQ(res.fault_level, 3);
	CHECK_EQ(res.pte_gpa[2], PDPT_GPA + 16);

	/* EPT: write to a read/execute page: violation, qual read-write bits. */
	m = base_mode(PAGING_EPT4);
	gwalk_mode_init(&gm, &m);
	build_chain(&s, &gm, 1);
	s.e[0] = (s.e[0] & ~(uint64_t)EPT_W);
	install(&s);
	CHECK_EQ(walk1(&gm, &s, ACC_WRITE | ACC_GLA, &res), GWALK_EPT_VIOLATION);
	CHECK_EQ(res.exit_qual, 0x2 | 0x8 | 0x20 | 0x80 | 0x100);
	/* A guest paging-structure read with EPT A/D counts as a write. */
	CHECK_EQ(walk1(&gm, &s, ACC_PAGING | ACC_GLA, &res), GWALK_EPT_VIOLATION);
	CHECK_EQ(res.exit_qual, 0x3 | 0x8 | 0x20 | 0x80);
	/* Write-only is a misconfiguration, memory type 2 too. */
	s.e[1] = (s.e[1] & ~(uint64_t)EPT_RWX) | EPT_W;
	install(&s);
	CHECK_EQ(walk1(&gm, &s, 0, &res), GWALK_EPT_MISCONFIG);
	CHECK_EQ(res.fault_level, 2);

	/* Paging off: identity. */
	m = base_mode(PAGING_NONE);
	gwalk_mode_init(&gm, &m);
	CHECK_EQ(gwalk(&gm, &fw.ops, 0, NULL, 0x12345678, ACC_WRITE, &res), GWALK_OK);
	CHECK_EQ(res.gpa, 0x12345678);

	/* Root outside guest RAM. */
	m = base_mode(PAGING_4LEVEL);
	gwalk_mode_init(&gm, &m);
	CHECK_EQ(gwalk(&gm, &fw.ops, 0x40000000, NULL, 0, 0, &res), GWALK_NO_MEMORY);
	CHECK_EQ(res.fault_gpa, 0x40000000);
	memcpy(mem_r, mem_w, MEM_SIZE);
}

int main(void)
{
	mem_reset();
	test_known();
	for (unsigned i = 0; i < ARRAY_SIZE(walked_formats); i++) {
		enum paging_format f = walked_formats[i];

		if (paging_format_is_ept(f)) {
			test_ept_rights(f);
			test_ept_memtype(f);
		} else {
			test_x86_rights(f);
		}
		test_not_present(f);
		test_single_bits(f);
		test_accessed_dirty(f);
		test_race(f);
		if (f == PAGING_4LEVEL || f == PAGING_5LEVEL)
			test_pkeys(f);
	}
	test_random(300000);
	printf("walk: %lu ok, %lu #PF, %lu EPT violations, %lu misconfigurations, %lu off-RAM walks compared\n",
	       outcomes[GWALK_OK], outcomes[GWALK_PAGE_FAULT], outcomes[GWALK_EPT_VIOLATION],
	       outcomes[GWALK_EPT_MISCONFIG], outcomes[GWALK_NO_MEMORY]);
	return check_done("walk");
}
