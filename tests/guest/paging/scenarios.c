/* suite=scenarios: page-table edit sequences kernels rely on, each checked
 * against what the SDM defines, one line per scenario:
 *   pg: scenario <name> <mode> ok|FAIL|skip <details>
 * Every edit is followed by the flush the architecture requires (INVLPG of
 * the address, or a CR3 reload; SDM Vol. 3A 4.10.4) before the address is
 * used again. expect=wrong turns one expectation of unmap-remap around, to
 * show that a failed check is reported. */
#include "paging/pg.h"

static struct {
	const char *name;
	unsigned step, fail_step;
	uint32_t got_vec, got_err, got_val, want_vec, want_err, want_val;
	const char *note;
} sc;

static void sc_begin(const char *name)
{
	sc.name = name;
	sc.step = 0;
	sc.fail_step = 0;
	sc.note = "";
}

static void sc_end(void)
{
	if (sc.fail_step && sc.note[0])
		gprintf("pg: scenario %s %s FAIL step %u:%s\n", sc.name, mode.name, sc.fail_step,
			sc.note);
	else if (sc.fail_step)
		gprintf("pg: scenario %s %s FAIL step %u: vec %u err 0x%x val 0x%x, want vec %u err 0x%x val 0x%x\n",
			sc.name, mode.name, sc.fail_step, sc.got_vec, sc.got_err, sc.got_val,
			sc.want_vec, sc.want_err, sc.want_val);
	else
		gprintf("pg: scenario %s %s ok %u steps\n", sc.name, mode.name, sc.step);
}

static void sc_skip(const char *name, const char *why)
{
	gprintf("pg: scenario %s %s skip %s\n", name, mode.name, why);
}

/* One step: the outcome (vector, #PF error code, word read) must match. */
static void sc_check(uint32_t vec, uint32_t err, uint32_t val)
{
	uint32_t got_err = probe_vector == VEC_DONE ? 0 : probe_err, got_val = probe_value;

	sc.step++;
	if (sc.fail_step || (probe_vector == vec && got_err == err && got_val == val))
		return;
	sc.fail_step = sc.step;
	sc.got_vec = probe_vector, sc.got_err = got_err, sc.got_val = got_val;
	sc.want_vec = vec, sc.want_err = err, sc.want_val = val;
}

/* A condition that is not a probe outcome (a flag, a word in memory). */
static void sc_assert(bool ok, const char *note)
{
	sc.step++;
	if (sc.fail_step || ok)
		return;
	sc.fail_step = sc.step;
	sc.note = note;
}

static uint32_t read_la(uint64_t la, uint32_t flags)
{
	return run_probe(PROBE_READ, la, flags | PROBE_INVLPG, 0);
}

static uint32_t write_la(uint64_t la, uint32_t flags, uint32_t v)
{
	return run_probe(PROBE_WRITE, la, flags | PROBE_INVLPG, v);
}

static volatile uint32_t *word(uint32_t frame) { return (volatile uint32_t *)(uintptr_t)(frame + TAG_OFFSET); }

static uint32_t data_frame(uint32_t v)
{
	uint32_t f = pool_alloc();

	*word(f) = v;
	return f;
}

static uint64_t sc_la(unsigned page) { return test_base() + page * 4096ull + TAG_OFFSET; }
static uint32_t pte_of(uint64_t la) { return ent_slot(root_table, la, 0); }
static uint32_t pde_of(uint64_t la) { return ent_slot(root_table, la, 1); }

/* Large pages at the PDE level: 4 MiB with CR4.PSE, 2 MiB with PAE. */
static bool have_large_pde(void) { return mode.kind != MODE_2LEVEL; }
static uint32_t large_size(void) { return mode.wide ? 2u << 20 : 4u << 20; }

#define UW (PTE_P | PTE_W | PTE_U)

/* fork-style copy-on-write: write-protect, fault, copy, remap writable. */
static void sc_cow(void)
{
	uint64_t la = sc_la(0);
	uint32_t parent = data_frame(0x11110000), child = pool_alloc();

	sc_begin("cow");
	map_page(root_table, la, parent, UW);
	reload_cr3();
	write_la(la, PROBE_USER, 0x11110001);
	sc_check(VEC_DONE, 0, 0);
	sc_assert(*word(parent) == 0x11110001, " (parent frame not written)");
	slot_set(pte_of(la), slot_get(pte_of(la)) & ~PTE_W);		/* fork */
	write_la(la, PROBE_USER, 0x22220002);
	sc_check(VEC_PF, PF_P | PF_W | PF_U, 0);
	sc_assert(probe_cr2_lo == (uint32_t)la, " (CR2)");
	write_la(la, 0, 0x22220002);					/* CR0.WP = 1 */
	sc_check(VEC_PF, PF_P | PF_W, 0);
	rep_movsd(child, parent, 1024);					/* the fault handler */
	slot_set(pte_of(la), child | UW);
	write_la(la, PROBE_USER, 0x22220002);
	sc_check(VEC_DONE, 0, 0);
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0x22220002);
	sc_assert(*word(parent) == 0x11110001 && *word(child) == 0x22220002, " (frames)");
	sc_assert((slot_get(pte_of(la)) & (PTE_A | PTE_D)) == (PTE_A | PTE_D), " (A/D of the new PTE)");
	sc_end();
}

/* Unmap a page, then the whole table (PDE), then remap elsewhere. */
static void sc_unmap_remap(void)
{
	uint64_t la = sc_la(1);
	uint32_t f1 = data_frame(0x33330003), f2 = data_frame(0x44440004);
	bool wrong = opt.expect && !gstrcmp(opt.expect, "wrong");

	sc_begin("unmap-remap");
	map_page(root_table, la, f1, UW);
	reload_cr3();
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0x33330003);
	slot_set(pte_of(la), 0);
	read_la(la, PROBE_USER);
	if (wrong)
		sc_check(VEC_DONE, 0, 0x33330003);	/* deliberately wrong */
	else
		sc_check(VEC_PF, PF_U, 0);
	read_la(la, 0);
	sc_check(VEC_PF, 0, 0);
	slot_set(pte_of(la), f2 | UW);
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0x44440004);
	uint32_t pde = pde_of(la);
	uint64_t saved = slot_get(pde);
	slot_set(pde, 0);
	write_la(la, PROBE_USER, 1);
	sc_check(VEC_PF, PF_W | PF_U, 0);
	slot_set(pde, saved);
	read_la(la, 0);
	sc_check(VEC_DONE, 0, 0x44440004);
	sc_end();
}

/* A page-table page freed, reused as a data page, then as a table again. */
static void sc_pt_recycle(void)
{
	uint64_t la = sc_la(2), data_la = sc_la(3) - TAG_OFFSET + large_size();
	uint32_t f1 = data_frame(0x55550005), f2 = data_frame(0x66660006);

	sc_begin("pt-recycle");
	map_page(root_table, la, f1, UW);
	reload_cr3();
	read_la(la, 0);
	sc_check(VEC_DONE, 0, 0x55550005);
	uint32_t pde = pde_of(la);
	uint64_t pde_val = slot_get(pde);
	uint32_t pt = (uint32_t)(pde_val & ent_addr_mask());
	slot_set(pde, 0);						/* free the table */
	read_la(la, 0);
	sc_check(VEC_PF, 0, 0);
	map_page(root_table, data_la, pt, PTE_P | PTE_W);		/* reuse as data */
	for (unsigned i = 0; i < 4; i++) {
		write_la(data_la + i * 1024, 0, 0xdead0000 + i);
		sc_check(VEC_DONE, 0, 0);
	}
	read_la(data_la + 1024, 0);
	sc_check(VEC_DONE, 0, 0xdead0001);
	slot_set(pte_of(data_la), 0);					/* and free it again */
	read_la(data_la, 0);
	sc_check(VEC_PF, 0, 0);
	rep_stosd(pt, 0, 1024);						/* a table once more */
	slot_set(pt + ent_index(la, 0) * (mode.wide ? 8 : 4), f2 | UW);
	slot_set(pde, pde_val);
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0x66660006);
	sc_end();
}

/* A PDE that references a table becomes a large page and back. */
static void sc_pde_large(void)
{
	uint64_t la = sc_la(4);
	uint32_t f1 = data_frame(0x77770007), big = tag_frame(1) & ~(large_size() - 1);
	uint64_t la_big = (la & ~(uint64_t)(large_size() - 1)) + (tag_frame(1) & (large_size() - 1)) +
			  TAG_OFFSET;

	if (!have_large_pde()) {
		sc_skip("pde-large", "(no large pages without CR4.PSE)");
		return;
	}
	sc_begin("pde-large");
	map_page(root_table, la, f1, UW);
	reload_cr3();
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0x77770007);
	uint32_t pde = pde_of(la);
	uint64_t table = slot_get(pde);
	slot_set(pde, big | UW | PTE_PS);
	read_la(la_big, PROBE_USER);
	sc_check(VEC_DONE, 0, tag_word(1));
	write_la(la_big, 0, tag_word(1));
	sc_check(VEC_DONE, 0, 0);
	sc_assert((slot_get(pde) & (PTE_A | PTE_D)) == (PTE_A | PTE_D), " (A/D of the large PDE)");
	slot_set(pde, table);
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0x77770007);
	read_la(la_big, PROBE_USER);
	sc_check(VEC_PF, PF_U, 0);
	sc_end();
}

/* CR0.WP decides whether supervisor writes honour R/W = 0 (SDM 4.6). */
static void sc_wp(void)
{
	uint64_t la = sc_la(5);
	uint32_t f = data_frame(0x88880008);

	sc_begin("cr0-wp");
	map_page(root_table, la, f, PTE_P | PTE_U);
	reload_cr3();
	write_la(la, 0, 0x88880009);
	sc_check(VEC_PF, PF_P | PF_W, 0);
	write_cr0(read_cr0() & ~CR0_WP);
	write_la(la, 0, 0x88880009);
	sc_check(VEC_DONE, 0, 0);
	write_la(la, PROBE_USER, 0x8888000a);
	sc_check(VEC_PF, PF_P | PF_W | PF_U, 0);
	sc_assert((slot_get(pte_of(la)) & PTE_D) && *word(f) == 0x88880009, " (D flag, frame)");
	write_cr0(read_cr0() | CR0_WP);
	write_la(la, 0, 0x8888000b);
	sc_check(VEC_PF, PF_P | PF_W, 0);
	sc_end();
}

/* XD pages: data yes, fetch no; clearing XD allows the fetch (SDM 4.6). */
static void sc_nx(void)
{
	uint64_t la = test_base() + 6 * 4096ull + TAG_OFFSET;

	if (!mode.wide || !cpu.nx) {
		sc_skip("nx", mode.wide ? "(cpu lacks NX)" : "(no XD bit in 32-bit paging)");
		return;
	}
	sc_begin("nx");
	map_page(root_table, la, tag_frame(2), UW | PTE_XD);
	reload_cr3();
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, tag_word(2));
	run_probe(PROBE_FETCH, la, PROBE_USER | PROBE_INVLPG, 0);
	sc_check(VEC_PF, PF_P | PF_U | PF_ID, 0);
	run_probe(PROBE_FETCH, la, PROBE_INVLPG, 0);
	sc_check(VEC_PF, PF_P | PF_ID, 0);
	slot_set(pte_of(la), slot_get(pte_of(la)) & ~PTE_XD);
	run_probe(PROBE_FETCH, la, PROBE_USER | PROBE_INVLPG, 0);
	sc_check(VEC_DONE, 0, 0);
	slot_set(pte_of(la), slot_get(pte_of(la)) | PTE_XD);
	env_set(true, false, false, false);				/* XD reserved now */
	read_la(la, 0);
	sc_check(VEC_PF, PF_P | PF_RSVD, 0);
	env_reset();
	sc_end();
}

/* Accessed and dirty flags are set by reads and writes (SDM 4.8). */
static void sc_ad(void)
{
	uint64_t la = sc_la(7);
	uint32_t f = data_frame(0x99990009);

	sc_begin("accessed-dirty");
	map_page(root_table, la, f, UW);
	reload_cr3();
	uint32_t pte = pte_of(la), pde = pde_of(la);
	slot_set(pde, slot_get(pde) & ~PTE_A);
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0x99990009);
	sc_assert((slot_get(pte) & (PTE_A | PTE_D)) == PTE_A && (slot_get(pde) & PTE_A), " (after read)");
	write_la(la, PROBE_USER, 0x9999000a);
	sc_check(VEC_DONE, 0, 0);
	sc_assert((slot_get(pte) & (PTE_A | PTE_D)) == (PTE_A | PTE_D), " (after write)");
	slot_set(pte, slot_get(pte) & ~(PTE_A | PTE_D));
	write_la(la, PROBE_USER, 0x9999000b);
	sc_check(VEC_DONE, 0, 0);
	sc_assert((slot_get(pte) & (PTE_A | PTE_D)) == (PTE_A | PTE_D), " (write after clearing)");
	slot_set(pte, (slot_get(pte) & ~(PTE_A | PTE_D | PTE_W)));
	write_la(la, PROBE_USER, 0x9999000c);
	sc_check(VEC_PF, PF_P | PF_W | PF_U, 0);
	sc_assert(!(slot_get(pte) & PTE_D), " (D set by a faulting write)");
	sc_end();
}

/* Two linear pages on one frame; and a PDE that references its own
 * directory, making the page tables visible (and writable) as data. */
static void sc_alias_selfmap(void)
{
	uint64_t la = sc_la(8), la2 = sc_la(9);
	uint32_t f = data_frame(0xaaaa000a), g = data_frame(0xbbbb000b);

	sc_begin("alias-selfmap");
	map_page(root_table, la, f, UW);
	map_page(root_table, la2, f, PTE_P | PTE_W);
	reload_cr3();
	write_la(la, PROBE_USER, 0xaaaa0001);
	sc_check(VEC_DONE, 0, 0);
	read_la(la2, 0);
	sc_check(VEC_DONE, 0, 0xaaaa0001);
	/* Self-reference in the directory that holds la's PDE, at a free index. */
	uint32_t pde = pde_of(la), pd = pde & ~0xfffu;
	unsigned self = ent_index(la, 1) + 8;
	uint32_t span = large_size();
	uint64_t window = (la & ~((uint64_t)span * (mode.wide ? 512 : 1024) - 1)) + (uint64_t)self * span;
	uint64_t pte_la = window + ent_index(la, 1) * 4096ull + ent_index(la, 0) * (mode.wide ? 8 : 4);

	slot_set(pd + self * (mode.wide ? 8 : 4), pd | PTE_P | PTE_W);
	read_la(pte_la, 0);						/* la's PTE, as data */
	sc_check(VEC_DONE, 0, (uint32_t)slot_get(pte_of(la)));
	write_la(pte_la, 0, g | (uint32_t)UW);				/* remap la through it */
	sc_check(VEC_DONE, 0, 0);
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0xbbbb000b);
	read_la(pte_la, PROBE_USER);					/* supervisor-only window */
	sc_check(VEC_PF, PF_P | PF_U, 0);
	slot_set(pd + self * (mode.wide ? 8 : 4), 0);
	reload_cr3();
	sc_end();
}

/* MOV CR3 switches between address spaces that map la differently. */
static void sc_cr3_switch(void)
{
	uint64_t la = sc_la(10);
	uint32_t f1 = data_frame(0xcccc000c), f2 = data_frame(0xdddd000d);
	uint32_t other = new_address_space();

	sc_begin("cr3-switch");
	map_page(root_table, la, f1, UW);
	map_page(other, la, f2, UW);
	reload_cr3();
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0xcccc000c);
	run_probe(PROBE_LOAD_CR3, 0, 0, other);
	sc_check(VEC_DONE, 0, 0);
	run_probe(PROBE_READ, la, PROBE_USER, 0);			/* no INVLPG needed */
	sc_check(VEC_DONE, 0, 0xdddd000d);
	run_probe(PROBE_LOAD_CR3, 0, 0, root_table);
	sc_check(VEC_DONE, 0, 0);
	run_probe(PROBE_READ, la, PROBE_USER, 0);
	sc_check(VEC_DONE, 0, 0xcccc000c);
	sc_end();
}

/* Many address spaces, each PDE for one address rewritten to point at the
 * next space's page table with no flush in between, then each space loaded
 * (MOV CR3 flushes): every space sees the next one's page. Under shadow
 * paging these are writes to a dozen live page directories at once, more
 * than Umbra keeps open. */
#define SPACES_N	12

static void sc_many_spaces(void)
{
	uint64_t la = sc_la(12);
	uint32_t spaces[SPACES_N];
	uint64_t pde[SPACES_N];

	sc_begin("many-spaces");
	for (unsigned i = 0; i < SPACES_N; i++) {
		spaces[i] = new_address_space();
		map_page(spaces[i], la, data_frame(0x5a5a0000 + i), UW);
		run_probe(PROBE_LOAD_CR3, 0, 0, spaces[i]);
		read_la(la, PROBE_USER);
		sc_check(VEC_DONE, 0, 0x5a5a0000 + i);
		pde[i] = slot_get(ent_slot(spaces[i], la, 1));
	}
	run_probe(PROBE_LOAD_CR3, 0, 0, root_table);
	for (unsigned i = 0; i < SPACES_N; i++)
		slot_set(ent_slot(spaces[i], la, 1), pde[(i + 1) % SPACES_N]);
	for (unsigned i = 0; i < SPACES_N; i++) {
		run_probe(PROBE_LOAD_CR3, 0, 0, spaces[i]);
		run_probe(PROBE_READ, la, PROBE_USER, 0);
		sc_check(VEC_DONE, 0, 0x5a5a0000 + (i + 1) % SPACES_N);
	}
	run_probe(PROBE_LOAD_CR3, 0, 0, root_table);
	sc_end();
}

/* PAE: the PDPTEs live in registers, loaded by MOV CR3 (and by MOV CR0/CR4
 * changing PG, CD, NW, PAE, PGE, PSE or SMEP); a reserved bit makes that
 * load #GP and leaves CR3 alone (SDM Vol. 3A 4.4.1). */
static void sc_pdpte(void)
{
	if (mode.kind != MODE_PAE) {
		sc_skip("pae-pdpte", "(PAE paging only)");
		return;
	}
	uint64_t la = sc_la(11);
	uint32_t f1 = data_frame(0xeeee000e), f2 = data_frame(0xffff000f);
	uint32_t pdpte = root_table + ent_index(la, 2) * 8;

	sc_begin("pae-pdpte");
	map_page(root_table, la, f1, UW);
	reload_cr3();
	uint64_t old = slot_get(pdpte);
	uint32_t pd2 = pool_alloc(), pt2 = pool_alloc();

	slot_set(pd2 + ent_index(la, 1) * 8, pt2 | UW);
	slot_set(pt2 + ent_index(la, 0) * 8, f2 | UW);
	slot_set(pdpte, pd2 | PTE_P);
	read_la(la, PROBE_USER);			/* the PDPTE register still has the old PD */
	sc_check(VEC_DONE, 0, 0xeeee000e);
	{
		uint32_t r[4];

		cpuid(0, 0, r);				/* a VM exit under a hypervisor */
	}
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0xeeee000e);
	run_probe(PROBE_LOAD_CR3, 0, 0, root_table);
	sc_check(VEC_DONE, 0, 0);
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0xffff000f);
	/* reserved bit 1 in a present PDPTE */
	slot_set(pdpte, pd2 | PTE_P | PTE_W);
	run_probe(PROBE_LOAD_CR3, 0, 0, root_table);
	sc_check(VEC_GP, 0, 0);
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0xffff000f);
	uint32_t cr4 = read_cr4();
	run_probe(PROBE_LOAD_CR4, 0, 0, cr4 ^ CR4_PSE);		/* reloads PDPTEs */
	sc_check(VEC_GP, 0, 0);
	sc_assert(read_cr4() == cr4, " (CR4 changed despite #GP)");
	run_probe(PROBE_LOAD_CR4, 0, 0, cr4 ^ CR4_PGE);		/* so does PGE */
	sc_check(VEC_GP, 0, 0);
	sc_assert(read_cr4() == cr4, " (CR4 changed despite #GP)");
	run_probe(PROBE_LOAD_CR4, 0, 0, cr4 ^ CR4_OSFXSR);		/* but not OSFXSR */
	sc_check(VEC_DONE, 0, 0);
	run_probe(PROBE_LOAD_CR4, 0, 0, cr4);
	sc_check(VEC_DONE, 0, 0);
	uint32_t cr0 = read_cr0();
	run_probe(PROBE_LOAD_CR0, 0, 0, cr0 & ~CR0_PG);		/* paging off */
	sc_check(VEC_DONE, 0, 0);
	run_probe(PROBE_LOAD_CR0, 0, 0, cr0);			/* and on: #GP */
	sc_check(VEC_GP, 0, 0);
	sc_assert(read_cr0() == (cr0 & ~CR0_PG), " (CR0 changed despite #GP)");
	slot_set(pdpte, old);
	run_probe(PROBE_LOAD_CR0, 0, 0, cr0);
	sc_check(VEC_DONE, 0, 0);
	read_la(la, PROBE_USER);
	sc_check(VEC_DONE, 0, 0xeeee000e);
	/* not present: reserved bits are not checked */
	slot_set(pdpte, 0x1ffe);
	run_probe(PROBE_LOAD_CR3, 0, 0, root_table);
	sc_check(VEC_DONE, 0, 0);
	read_la(la, PROBE_USER);
	sc_check(VEC_PF, PF_U, 0);
	slot_set(pdpte, old);
	reload_cr3();
	sc_end();
}

void suite_scenarios(void)
{
	static void (*const scenarios[])(void) = {
		sc_cow, sc_unmap_remap, sc_pt_recycle, sc_pde_large, sc_wp, sc_nx, sc_ad,
		sc_alias_selfmap, sc_cr3_switch, sc_many_spaces, sc_pdpte,
	};
	unsigned n = sizeof(scenarios) / sizeof(scenarios[0]);
	uint32_t top = root_table + ent_index(test_base(), mode.levels - 1) * (mode.wide ? 8 : 4);

	for (unsigned i = 0; i < n; i++) {
		uint32_t mark = pool_mark();

		scenarios[i]();
		slot_set(top, 0);	/* drop the test region */
		reload_cr3();
		pool_release(mark);
	}
	gprintf("pg: done scenarios %u\n", n);
}
