/* suite=access: every combination that matters of paging-structure entry
 * bits, CR0.WP, EFER.NXE, CR4.SMEP/SMAP, EFLAGS.AC and access type (SDM
 * Vol. 3A 4.6 access rights, 4.7 #PF error code, 4.8 A/D flags). Each case
 * writes the test chain (the entries that translate one test address),
 * performs one access after INVLPG and records the outcome: the vector that
 * ended it, for #PF the error code and CR2, for reads the word read, and
 * the A/D flags left in every entry of the chain (for a faulting access only
 * the leaf's D flag: the SDM sets A/D for translations it uses, and whether
 * a faulting walk counts as used is not architectural).
 *
 * Blocks: for each shape (leaf size) and each level of the chain, the
 * cross-product of that entry's P/W/U/A/D/XD with W/U/XD of the leaf (or,
 * at the leaf, of its parent); then one block per shape that sets each
 * reserved or ignored bit alone, with P = 1 and P = 0. Each block runs
 * under all 16 settings of WP/NXE/SMEP/SMAP the CPU supports and 9
 * accesses: read/write/fetch at CPL 3, at CPL 0, at CPL 0 with AC = 1. */
#include "paging/pg.h"

struct shape {
	const char *name;
	unsigned leaf_level;
	uint64_t size;		/* bytes the leaf maps */
	uint64_t pde_extra;	/* PS in a PDE that must be ignored (no CR4.PSE) */
};

struct chain {
	unsigned n;		/* entries, [0] = top level */
	unsigned level[4];
	uint32_t slot[4];	/* physical address of the entry */
	uint64_t target[4];	/* address field: next table or page frame */
	uint64_t la;
};

struct tally {
	uint32_t hash, cases;
};

static struct tally block, total;
static unsigned block_no;
static uint64_t pdpte_loaded;	/* PAE: PDPTE value the last MOV CR3 loaded */

static const struct { enum probe_kind kind; uint32_t flags; const char *name; } accesses[9] = {
	{ PROBE_READ, PROBE_USER, "ur" }, { PROBE_WRITE, PROBE_USER, "uw" },
	{ PROBE_FETCH, PROBE_USER, "ux" }, { PROBE_READ, 0, "sr" }, { PROBE_WRITE, 0, "sw" },
	{ PROBE_FETCH, 0, "sx" }, { PROBE_READ, PROBE_AC, "sr+ac" },
	{ PROBE_WRITE, PROBE_AC, "sw+ac" }, { PROBE_FETCH, PROBE_AC, "sx+ac" },
};

static bool is_pdpte_pae(unsigned level)
{
	return mode.kind == MODE_PAE && level == 2;
}

/* The bits a level may vary: PAE PDPTEs have only P among them. */
static uint64_t level_vary_bits(unsigned level)
{
	if (is_pdpte_pae(level))
		return PTE_P;
	return PTE_P | PTE_W | PTE_U | PTE_A | PTE_D | (mode.wide ? PTE_XD : 0);
}

static uint64_t level_full_bits(unsigned level)
{
	return is_pdpte_pae(level) ? PTE_P : PTE_P | PTE_W | PTE_U;
}

static void chain_build(const struct shape *s, struct chain *c)
{
	uint32_t tag = tag_frame(0);
	uint64_t span = s->leaf_level == 2 ? (1ull << 30) : mode.wide ? (1u << 21) : (1u << 22);
	uint32_t table = root_table;

	c->la = test_base() + (tag & (span - 1)) + TAG_OFFSET;
	c->n = 0;
	for (unsigned l = mode.levels - 1;; l--) {
		unsigned i = c->n++;

		c->level[i] = l;
		c->slot[i] = table + ent_index(c->la, l) * (mode.wide ? 8 : 4);
		if (l == s->leaf_level) {
			c->target[i] = tag & ~(uint32_t)(s->size - 1);
			break;
		}
		table = pool_alloc();
		c->target[i] = table;
	}
}

static void record(uint32_t vector, uint32_t err, uint64_t cr2_off, uint32_t value, uint32_t ad)
{
	struct tally *t[2] = { &block, &total };

	for (unsigned i = 0; i < 2; i++) {
		fnv_mix(&t[i]->hash, vector, 1);
		fnv_mix(&t[i]->hash, err, 2);
		fnv_mix(&t[i]->hash, cr2_off, 8);
		fnv_mix(&t[i]->hash, value, 4);
		fnv_mix(&t[i]->hash, ad, 1);
		t[i]->cases++;
	}
	if (opt.verbose)
		gprintf(" -> vec %u err 0x%x cr2+0x%llx val 0x%x ad 0x%x\n", vector, err, cr2_off,
			value, ad);
}

static void print_case(const struct chain *c, const uint64_t *bits, unsigned env,
		       const char *access)
{
	gprintf("pg: case %u.%u env %x", block_no, block.cases, env);
	for (unsigned i = 0; i < c->n; i++)
		gprintf("%c0x%llx", i ? '/' : ' ', bits[i]);
	gprintf(" %s", access);
}

/* Write the chain with the given low bits per entry (target address OR'd
 * in) and, in PAE paging, load the PDPTE registers when the PDPTE changed
 * (SDM Vol. 3A 4.4.1: only MOV CR3 and friends load them). Returns the
 * vector of that load (#GP for a reserved bit), VEC_DONE otherwise. */
static uint32_t chain_write(const struct chain *c, const uint64_t *bits)
{
	for (unsigned i = 0; i < c->n; i++)
		slot_set(c->slot[i], c->target[i] | bits[i]);
	if (mode.kind == MODE_PAE && (c->target[0] | bits[0]) != pdpte_loaded) {
		uint32_t v = run_probe(PROBE_LOAD_CR3, 0, 0, root_table);

		if (v != VEC_DONE)
			return v;
		pdpte_loaded = c->target[0] | bits[0];
	}
	return VEC_DONE;
}

static void run_case(const struct chain *c, const uint64_t *bits, unsigned env)
{
	uint32_t v = chain_write(c, bits);

	if (v != VEC_DONE) {
		if (opt.verbose)
			print_case(c, bits, env, "mov-cr3");
		record(v, probe_err, 0, 0, 0);
		return;
	}
	for (unsigned a = 0; a < 9; a++) {
		uint32_t ad = 0;
		uint64_t cr2 = 0;

		chain_write(c, bits);
		v = run_probe(accesses[a].kind, c->la, accesses[a].flags | PROBE_INVLPG, tag_word(0));
		for (unsigned i = 0; i < c->n; i++) {
			uint64_t e = slot_get(c->slot[i]);

			if (v == VEC_DONE)
				ad |= (uint32_t)((e >> 5) & 3) << (2 * i);
			else if (i == c->n - 1)
				ad |= (uint32_t)((e >> 6) & 1) << (2 * i + 1);
		}
		if (v == VEC_PF)
			cr2 = (((uint64_t)probe_cr2_hi << 32) | probe_cr2_lo) - c->la;
		if (opt.verbose)
			print_case(c, bits, env, accesses[a].name);
		record(v, v == VEC_PF ? probe_err : 0, cr2, v == VEC_DONE ? probe_value : 0, ad);
	}
}

/* Start a block; false (and the block skipped) when block=K selects another. */
static bool block_begin(void)
{
	block.hash = FNV_INIT;
	block.cases = 0;
	if (opt.block < 0 || (unsigned)opt.block == block_no)
		return true;
	block_no++;
	return false;
}

static void block_end(const struct shape *s, const char *what)
{
	gprintf("pg: access %s block %u cases %u hash %08x (%s %s)\n", mode.name, block_no,
		block.cases, block.hash, s->name, what);
	block_no++;
}

/* Spread the low bits of n over the set bits of mask. */
static uint64_t deposit(uint32_t n, uint64_t mask)
{
	uint64_t r = 0;

	for (unsigned b = 0; b < 64 && n; b++)
		if (mask & (1ull << b)) {
			if (n & 1)
				r |= 1ull << b;
			n >>= 1;
		}
	return r;
}

static unsigned popcount64(uint64_t v)
{
	unsigned n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* Every entry with full rights, PS in a large leaf, the shape's extra PDE bit. */
static void base_bits(const struct shape *s, const struct chain *c, uint64_t *bits)
{
	for (unsigned k = 0; k < c->n; k++)
		bits[k] = level_full_bits(c->level[k]);
	if (c->level[c->n - 1] > 0)
		bits[c->n - 1] |= PTE_PS;
	bits[c->n - 2] |= s->pde_extra;
}

static bool env_apply(unsigned env)
{
	return env_set(env & 1, env & 2, env & 4, env & 8);
}

/* Level i of the chain crossed with W/U/XD of its partner (the leaf, or the
 * leaf's parent when i is the leaf). */
static void block_level(const struct shape *s, const struct chain *c, unsigned i)
{
	unsigned partner = i == c->n - 1 ? i - 1 : c->n - 1;
	uint64_t vary = level_vary_bits(c->level[i]);
	uint64_t pvary = level_vary_bits(c->level[partner]) & (PTE_W | PTE_U | PTE_XD);
	uint64_t bits[4];

	if (!block_begin())
		return;
	for (unsigned env = 0; env < 16; env++) {
		if (!env_apply(env))
			continue;
		for (uint32_t n = 0; n < (1u << popcount64(vary)); n++)
			for (uint32_t m = 0; m < (1u << popcount64(pvary)); m++) {
				base_bits(s, c, bits);
				bits[i] = deposit(n, vary) | (bits[i] & ~vary);
				bits[partner] = deposit(m, pvary) | (bits[partner] & ~pvary);
				run_case(c, bits, env);
			}
	}
	env_reset();
	block_end(s, (const char *[]){ "bits PT", "bits PD", "bits PDPT", "bits PML4" }[c->level[i]]);
}

/* Reserved and ignored bits a level defines (SDM Vol. 3A tables 4-4 to
 * 4-20), every position: the ignored bits 11:9; in large-page leaves the
 * bits between the PAT bit and the address (20:13, 29:13); in 4 MiB PDEs
 * bit 21 and the PSE-36 bits MAXPHYADDR does not cover; in PAE PDPTEs
 * 2:1, 8:5 and 63; in PML4Es PS; and every bit from MAXPHYADDR to 62
 * (reserved up to 51 in 4-level paging, to 62 in PAE paging; 62:52 are
 * ignored in 4-level paging). */
static unsigned extra_bits(const struct chain *c, unsigned i, unsigned *out)
{
	unsigned level = c->level[i], m = cpu.maxphyaddr, n = 0;
	bool leaf = i == c->n - 1;

	for (unsigned b = 9; b <= 11; b++)
		out[n++] = b;
	if (!mode.wide) {
		if (leaf && level == 1)
			for (unsigned b = cpu.pse36 ? (m < 40 ? m - 19 : 21) : 13; b <= 21; b++)
				out[n++] = b;
		return n;
	}
	if (is_pdpte_pae(level)) {
		static const unsigned pdpte_rsvd[] = { 1, 2, 5, 6, 7, 8, 63 };

		for (unsigned k = 0; k < sizeof(pdpte_rsvd) / sizeof(pdpte_rsvd[0]); k++)
			out[n++] = pdpte_rsvd[k];
	}
	if (mode.kind == MODE_4LEVEL && level == 3)
		out[n++] = 7;
	if (leaf && level >= 1)
		for (unsigned b = 13; b <= (level == 1 ? 20u : 29u); b++)
			out[n++] = b;
	for (unsigned b = m; b <= 62; b++)
		out[n++] = b;
	return n;
}

static void block_extra(const struct shape *s, const struct chain *c)
{
	uint64_t bits[4];
	unsigned pos[64];

	if (!block_begin())
		return;
	for (unsigned env = 0; env < 16; env++) {
		if (!env_apply(env))
			continue;
		for (unsigned i = 0; i < c->n; i++) {
			unsigned np = extra_bits(c, i, pos);

			for (unsigned k = 0; k < np; k++)
				for (unsigned present = 0; present < 2; present++) {
					base_bits(s, c, bits);
					bits[i] |= 1ull << pos[k];
					if (!present)
						bits[i] &= ~PTE_P;
					run_case(c, bits, env);
				}
		}
	}
	env_reset();
	block_end(s, "reserved/ignored bits");
}

void suite_access(void)
{
	struct shape shapes[4];
	unsigned ns = 0;

	if (!cpu.nx)
		gprintf("pg: skip EFER.NXE and XD: cpu lacks NX\n");
	if (!cpu.smep)
		gprintf("pg: skip CR4.SMEP: cpu lacks SMEP\n");
	if (!cpu.smap)
		gprintf("pg: skip CR4.SMAP: cpu lacks SMAP\n");
	shapes[ns++] = (struct shape){ "4k", 0, 4096, 0 };
	switch (mode.kind) {
	case MODE_2LEVEL:
		/* Without CR4.PSE a PDE's PS bit is ignored (SDM Vol. 3A 4.3). */
		shapes[ns++] = (struct shape){ "4k-pde-ps-ignored", 0, 4096, PTE_PS };
		break;
	case MODE_2LEVEL_PSE:
		shapes[ns++] = (struct shape){ "4m", 1, 4u << 20, 0 };
		break;
	case MODE_PAE:
		shapes[ns++] = (struct shape){ "2m", 1, 2u << 20, 0 };
		break;
	case MODE_4LEVEL:
		shapes[ns++] = (struct shape){ "2m", 1, 2u << 20, 0 };
		if (cpu.page1g)
			shapes[ns++] = (struct shape){ "1g", 2, 1u << 30, 0 };
		else
			gprintf("pg: skip 1 GiB pages: cpu lacks them\n");
		break;
	}
	total.hash = FNV_INIT;
	total.cases = 0;
	for (unsigned k = 0; k < ns; k++) {
		struct chain c;
		uint32_t mark = pool_mark();

		chain_build(&shapes[k], &c);
		for (unsigned i = 0; i < c.n; i++)
			block_level(&shapes[k], &c, i);
		block_extra(&shapes[k], &c);
		slot_set(c.slot[0], 0);
		if (mode.kind == MODE_PAE) {
			run_probe(PROBE_LOAD_CR3, 0, 0, root_table);
			pdpte_loaded = 0;
		}
		pool_release(mark);
	}
	gprintf("pg: access %s total cases %u hash %08x\n", mode.name, total.cases, total.hash);
	gprintf("pg: done access %u cases\n", total.cases);
}
