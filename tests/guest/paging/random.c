/* suite=random seed=N count=N: from the seed, build three address spaces
 * over one test region (16 pages in two PDE ranges, a self-referencing PDE
 * that makes the page tables visible as data, a pool of page tables that
 * spaces and PDEs share), then run count random steps: edit entries with
 * the instructions kernels use (MOV, XCHG, LOCK CMPXCHG, CMPXCHG8B, LOCK
 * OR/AND, LOCK BTS/BTR, REP MOVSD/STOSD for whole tables), switch spaces
 * with MOV CR3, toggle CR0.WP/CR4.SMEP/SMAP, and access the test pages.
 *
 * Every edit is followed by the flush the SDM requires before the next use
 * (Vol. 3A 4.10.4): INVLPG of every test page after a PTE edit (a PTE may
 * map several pages through shared tables), a CR3 reload after a PDE edit
 * or a whole-table write. So every recorded result is architectural: the
 * vector, #PF error code and CR2 of an access, the word it read, the A/D
 * flags of the entries that translated it. Prints
 *   pg: random <mode> seed <n> steps <k> hash <hex>
 * every 500 steps and at the end. */
#include "paging/pg.h"

#define SPACES	3
#define PAGES	16
#define TABLES	10
#define FRAMES	8

enum op { OP_MAP, OP_PROT, OP_PDE, OP_SWITCH, OP_WINDOW, OP_ENV, OP_ACCESS };
/* How an entry is rewritten; CMPXCHG8B only for 8-byte entries. */
enum edit { EDIT_MOV, EDIT_XCHG, EDIT_CMPXCHG, EDIT_CMPXCHG8B, EDIT_COUNT };

static uint8_t frames[FRAMES][4096] __attribute__((aligned(4096)));
static uint32_t roots[SPACES], pds[SPACES], tables[TABLES];
static unsigned cur, self_index;
static uint32_t rng, hash, step;
static bool large_ok;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng % n;
}

static unsigned esz(void) { return mode.wide ? 8 : 4; }
static uint32_t span(void) { return mode.wide ? 2u << 20 : 4u << 20; }
static uint32_t frame_pa(unsigned f) { return (uint32_t)(uintptr_t)frames[f]; }

/* Page i: PDE range i / 8, placed so that one large page at the PDE maps
 * the eight pages onto the eight frames. */
static uint64_t la_of(unsigned i)
{
	return test_base() + (i / 8) * (uint64_t)span() + (frame_pa(0) & (span() - 1)) +
	       (i % 8) * 4096u + TAG_OFFSET;
}

static uint32_t large_base(void) { return frame_pa(0) & ~(span() - 1); }

/* Through the self-referencing PDE, page d of the window is the table that
 * PDE d references (SDM: a PDE read as a PTE). */
static uint64_t window_pte(uint64_t la)
{
	uint64_t pd_base = mode.wide ? la & ~((1ull << 30) - 1) : 0;

	return pd_base + (uint64_t)self_index * span() + ent_index(la, 1) * 4096u +
	       ent_index(la, 0) * esz();
}

static void mix(uint64_t v, unsigned bytes)
{
	fnv_mix(&hash, v, bytes);
}

static void flush_pages(void)
{
	for (unsigned j = 0; j < PAGES; j++)
		run_probe(PROBE_NONE, la_of(j), PROBE_INVLPG, 0);
}

static void ent_edit(uint32_t slot, uint64_t v, enum edit method)
{
	volatile uint32_t *lo = (volatile uint32_t *)(uintptr_t)slot;
	uint32_t x = (uint32_t)v;

	if (mode.wide && method == EDIT_CMPXCHG8B) {
		uint64_t old = *(volatile uint64_t *)(uintptr_t)slot;

		__asm__ volatile("lock cmpxchg8b %1"
				 : "+A"(old), "+m"(*(volatile uint64_t *)(uintptr_t)slot)
				 : "b"((uint32_t)v), "c"((uint32_t)(v >> 32)) : "memory", "cc");
		return;
	}
	if (mode.wide)
		lo[1] = (uint32_t)(v >> 32);
	switch (method) {
	case EDIT_XCHG:
		__asm__ volatile("xchg %0, %1" : "+r"(x), "+m"(*lo) : : "memory");
		break;
	case EDIT_CMPXCHG: {
		uint32_t old = *lo;

		__asm__ volatile("lock cmpxchg %2, %1" : "+a"(old), "+m"(*lo) : "r"(x) : "memory", "cc");
		break;
	}
	default:
		*lo = x;
		break;
	}
}

static void ent_bit(uint32_t slot, unsigned bit, bool set, bool bt)
{
	volatile uint32_t *lo = (volatile uint32_t *)(uintptr_t)slot;

	if (bt && set)
		__asm__ volatile("lock btsl %1, %0" : "+m"(*lo) : "r"(bit) : "memory", "cc");
	else if (bt)
		__asm__ volatile("lock btrl %1, %0" : "+m"(*lo) : "r"(bit) : "memory", "cc");
	else if (set)
		__asm__ volatile("lock orl %1, %0" : "+m"(*lo) : "r"(1u << bit) : "memory", "cc");
	else
		__asm__ volatile("lock andl %1, %0" : "+m"(*lo) : "r"(~(1u << bit)) : "memory", "cc");
}

static uint64_t random_leaf(void)
{
	uint64_t v = frame_pa(rnd(FRAMES)) | PTE_P | (rnd(4) ? PTE_W : 0) | (rnd(4) ? PTE_U : 0);

	if (!rnd(8))
		v &= ~PTE_P;
	if (mode.wide && cpu.nx && !rnd(4))
		v |= PTE_XD;
	return v;
}

/* Rewrite or create the PTE of a test page in some space. */
static void op_map(void)
{
	unsigned s = rnd(SPACES), i = rnd(PAGES);
	enum edit method = rnd(EDIT_COUNT);
	uint64_t v = random_leaf();
	uint32_t slot = ent_slot(roots[s], la_of(i), 0);

	mix(s | i << 4 | method << 8, 2);
	if (!slot)
		return;
	ent_edit(slot, v, method);
	mix(v, 8);
	flush_pages();
}

/* Flip P, R/W, U/S (or XD) of a PTE with a locked read-modify-write. */
static void op_prot(void)
{
	unsigned s = rnd(SPACES), i = rnd(PAGES), bit = rnd(mode.wide && cpu.nx ? 4 : 3);
	bool set = rnd(2), bt = rnd(2);
	uint32_t slot = ent_slot(roots[s], la_of(i), 0);

	mix(s | i << 4 | bit << 8 | set << 10 | bt << 11, 2);
	if (!slot)
		return;
	if (bit == 3)
		ent_edit(slot, set ? slot_get(slot) | PTE_XD : slot_get(slot) & ~PTE_XD, EDIT_CMPXCHG8B);
	else
		ent_bit(slot, bit, set, bt);
	flush_pages();
}

/* Edit a PDE of the test region: share a table, copy one (fork), clear one
 * (REP STOSD), map a large page, unmap, or flip R/W or U/S. */
static void op_pde(void)
{
	unsigned s = rnd(SPACES), d = ent_index(la_of(0), 1) + rnd(2), what = rnd(6);
	uint32_t slot = pds[s] + d * esz(), t = tables[rnd(TABLES)];
	uint64_t old = slot_get(slot);
	uint64_t flags = PTE_P | (rnd(4) ? PTE_W : 0) | (rnd(4) ? PTE_U : 0);

	mix(s | d << 4 | what << 16, 3);
	switch (what) {
	case 0:
		ent_edit(slot, t | flags, rnd(EDIT_COUNT));
		break;
	case 1:
		if ((old & PTE_P) && !ent_is_leaf(old, 1) && (uint32_t)(old & ent_addr_mask()) != t) {
			rep_movsd(t, (uint32_t)(old & ent_addr_mask()), 1024);
			ent_edit(slot, t | flags, rnd(EDIT_COUNT));
		}
		break;
	case 2:
		rep_stosd(t, 0, 1024);
		break;
	case 3:
		if (large_ok)
			ent_edit(slot, large_base() | flags | PTE_PS, rnd(EDIT_COUNT));
		break;
	case 4:
		ent_bit(slot, 0, false, rnd(2));
		break;
	default:
		ent_bit(slot, 1 + rnd(2), rnd(2), rnd(2));
		break;
	}
	mix(slot_get(slot) & ~(PTE_A | PTE_D), 8);
	reload_cr3();
}

static void op_switch(void)
{
	cur = rnd(SPACES);
	mix(cur, 1);
	mix(run_probe(PROBE_LOAD_CR3, 0, 0, roots[cur]), 1);
}

/* Rewrite a PTE through the self-map window, as a supervisor data write. */
static void op_window(void)
{
	unsigned i = rnd(PAGES);
	uint32_t v = (uint32_t)random_leaf();
	uint32_t vec = run_probe(PROBE_WRITE, window_pte(la_of(i)), rnd(2) ? PROBE_AC : 0, v);

	mix(i | vec << 8, 2);
	mix(vec == VEC_PF ? probe_err : 0, 2);
	if (opt.verbose)
		gprintf("pg: step %u window page %u -> vec %u err 0x%x\n", step, i, vec,
			vec == VEC_PF ? probe_err : 0);
	flush_pages();
}

static void op_env(void)
{
	bool wp = rnd(4), smep = cpu.smep && rnd(2), smap = cpu.smap && rnd(2);

	env_set(wp, cpu.nx, smep, smap);
	mix(wp | smep << 1 | smap << 2, 1);
}

/* Access a test page in the current space, without a flush: the edits
 * already flushed what they changed. */
static void op_access(void)
{
	static const uint32_t flag_sets[4] = { PROBE_USER, 0, PROBE_AC, PROBE_USER };
	unsigned i = rnd(PAGES), kind = rnd(3), fl = rnd(4);
	uint64_t la = la_of(i);
	uint32_t value = 0x80cdu | (step << 16);	/* keeps INT 0x80 fetchable */
	uint32_t vec = run_probe(kind, la, flag_sets[fl], value);
	uint32_t pte = ent_slot(roots[cur], la, 0), pde = ent_slot(roots[cur], la, 1);
	uint32_t ad_pde = pde ? slot_get(pde) & (PTE_A | PTE_D) : 1;
	uint32_t ad_pte = pte ? slot_get(pte) & (PTE_A | PTE_D) : 1;
	uint64_t cr2 = (((uint64_t)probe_cr2_hi << 32) | probe_cr2_lo) - la;

	mix(i | kind << 4 | fl << 6 | vec << 8, 2);
	if (vec == VEC_PF) {
		mix(probe_err, 2);
		mix(cr2, 8);
	} else if (vec == VEC_DONE) {
		mix(kind == PROBE_READ ? probe_value : 0, 4);
		mix(ad_pde, 1);
		mix(ad_pte, 1);
	}
	if (opt.verbose)
		gprintf("pg: step %u access page %u kind %u flags %u -> vec %u err 0x%x cr2+0x%llx "
			"val 0x%x ad %x/%x\n", step, i, kind, fl, vec, vec == VEC_PF ? probe_err : 0,
			vec == VEC_PF ? cr2 : 0, vec == VEC_DONE ? probe_value : 0,
			vec == VEC_DONE ? ad_pde : 0, vec == VEC_DONE ? ad_pte : 0);
}

static void spaces_build(void)
{
	self_index = ent_index(la_of(0), 1) + 8;
	for (unsigned f = 0; f < FRAMES; f++)
		*(volatile uint32_t *)(uintptr_t)(frame_pa(f) + TAG_OFFSET) = 0x80cdu | (0xf00u + f) << 16;
	for (unsigned t = 0; t < TABLES; t++)
		tables[t] = pool_alloc();
	for (unsigned s = 0; s < SPACES; s++) {
		roots[s] = new_address_space();
		for (unsigned i = 0; i < PAGES; i++)
			if (rnd(2))
				map_page(roots[s], la_of(i), frame_pa(rnd(FRAMES)), PTE_P | PTE_W | PTE_U);
		map_page(roots[s], la_of(0), frame_pa(0), PTE_P | PTE_W | PTE_U);
		pds[s] = ent_slot(roots[s], la_of(0), 1) & ~0xfffu;
		slot_set(pds[s] + self_index * esz(), pds[s] | PTE_P | PTE_W);
	}
}

void suite_random(void)
{
	uint32_t mark = pool_mark();

	rng = opt.seed * 2654435761u + 1;
	hash = FNV_INIT;
	large_ok = mode.kind != MODE_2LEVEL && (frame_pa(0) & (span() - 1)) + FRAMES * 4096 <= span();
	spaces_build();
	cur = 0;
	run_probe(PROBE_LOAD_CR3, 0, 0, roots[0]);
	for (step = 1; step <= opt.count; step++) {
		unsigned r = rnd(16);
		enum op op = r < 3 ? OP_MAP : r < 5 ? OP_PROT : r < 6 ? OP_PDE : r < 7 ? OP_SWITCH :
			     r < 8 ? OP_WINDOW : r < 9 ? OP_ENV : OP_ACCESS;

		mix(op, 1);
		switch (op) {
		case OP_MAP: op_map(); break;
		case OP_PROT: op_prot(); break;
		case OP_PDE: op_pde(); break;
		case OP_SWITCH: op_switch(); break;
		case OP_WINDOW: op_window(); break;
		case OP_ENV: op_env(); break;
		case OP_ACCESS: op_access(); break;
		}
		if (step % 500 == 0 || step == opt.count)
			gprintf("pg: random %s seed %u steps %u hash %08x\n", mode.name, opt.seed, step,
				hash);
	}
	write_cr3(root_table);
	env_reset();
	pool_release(mark);
	gprintf("pg: done random seed %u\n", opt.seed);
}
