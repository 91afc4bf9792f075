/* The benchmark guest: per-event costs and two workloads, in TSC ticks.
 *
 * Command line: paging=32|pae|4l (guest paging: 2-level 32-bit, PAE,
 * 4-level in IA-32e mode), reps=N (samples per event, default 512),
 * iters=N (fork/exec workload rounds, default 4), passes=N (sweep passes,
 * default 8), profile=1 (a Bochs magic breakpoint before sample 3 of each
 * event, for scripts/bench.sh's exit-path profile), workloads=0 (events only).
 * Output, one line each, parsed by scripts/bench.sh:
 *   bench: paging <mode> levels <n>
 *   bench: tsc-check nops 1000 ticks <t>      (t - null = 1000 when TSC = instructions)
 *   bench: event <key> min <t> median <t> max <t> reps <n>
 *          (vmcall only under Umbra: its cheapest handled exit, natively #UD)
 *   bench: workload <key> ticks <t> <what>
 *   bench: done
 * The same kernel runs natively (GRUB multiboot) and as an Umbra guest; it
 * does not know which, the script does.
 *
 * Memory (guest-physical, identity-mapped with large pages up to 128 MiB):
 * kernel at 1 MiB, page-table frames from 16 MiB, data frames from 32 MiB.
 * Test regions live above 1 GiB, mapped with 4 KiB pages. */
#include "lib/glib.h"

int guest_entry(uint32_t magic, const struct mb1_info *mbi);
void pf_cow(uint32_t cr2);

uint32_t t_null(void);
uint32_t t_nops(void);
uint32_t t_cpuid(uint32_t leaf);
uint32_t t_cpuid_loop(uint32_t n);
uint32_t t_vmcall(uint32_t rax);
uint32_t t_outb80(void);
uint32_t t_inb80(void);
uint32_t t_read(const void *p);
uint32_t t_write(void *p, uint32_t v);
uint32_t t_cr3(uint32_t cr3);
uint32_t t_invlpg(const void *p);
uint32_t t_pf(const void *p);
void pf32(void), pf64(void), exc32_other(void), exc64_other(void);
extern volatile uint32_t pf_mode, unexpected;

#define PTE_P	0x001u
#define PTE_W	0x002u
#define PTE_A	0x020u
#define PTE_D	0x040u
#define PTE_PS	0x080u
#define PAGE	4096u

#define IDENT_END	0x08000000u	/* identity-mapped guest-physical range */
#define TABLE_POOL	0x01000000u	/* page-table frames: 16-32 MiB */
#define TABLE_POOL_END	0x02000000u
#define SWEEP_FRAMES	0x02000000u	/* 32 MiB of sweep data: 32-64 MiB */
#define PARENT_FRAMES	0x04000000u	/* fork workload: parent pages */
#define CHILD_FRAMES	0x04400000u	/* fork workload: copied pages */
#define SCRATCH_FRAME	0x04800000u	/* the frame every fill page maps */

#define FILL_VA		0x40000000u	/* FILL_PAGES pages, present, A set */
#define FILL_PAGES	1024u
#define MISC_VA		0x40800000u	/* PF_PAGES pages, not present */
#define PF_PAGES	64u
#define PTW_VA		0x60000000u	/* PTW_TABLES page tables, one page each */
#define PTW_TABLES	64u
#define FORK_VA		0x50000000u	/* FORK_PAGES pages */
#define FORK_PAGES	256u
#define SWEEP_VA	0x80000000u
#define SWEEP_BYTES	0x02000000u
#define SWEEP_STRIDE	256u

#define MAX_REPS	1024u
#define UNCACHED_ROOTS	256u

enum paging { PG_32, PG_PAE, PG_4L };

static enum paging mode;
static unsigned levels, esz;		/* table levels, entry size (4 or 8 bytes) */
static uint32_t root;			/* the main address space's top-level table */
static uint32_t samples[MAX_REPS];
static uint32_t null_ticks;
static bool profiling;

/* profile=1: a Bochs magic breakpoint (xchg %bx,%bx) just before sample 3 of
 * each event, where scripts/bench.sh switches on an instruction trace. */
#define MARK(i)                                                    \
	do {                                                           \
		if (profiling && (i) == 3)                                 \
			__asm__ volatile("xchg %%bx, %%bx" ::: "memory");      \
	} while (0)

/* ---- page tables -------------------------------------------------------- */

static uint32_t next_table = TABLE_POOL;
static uint32_t free_tables[64];
static unsigned nfree;

static uint32_t table_alloc(void)
{
	uint32_t t;

	if (nfree)
		t = free_tables[--nfree];
	else {
		t = next_table;
		next_table += PAGE;
		if (next_table > TABLE_POOL_END) {
			gprintf("bench: error: out of page-table frames\n");
			guest_exit(1);
		}
	}
	gmemset((void *)(uintptr_t)t, 0, PAGE);
	return t;
}

static void table_free(uint32_t t)
{
	if (nfree < 64)
		free_tables[nfree++] = t;
}

static uint64_t entry_get(uint32_t table, unsigned i)
{
	if (esz == 4)
		return ((volatile uint32_t *)(uintptr_t)table)[i];
	return ((volatile uint64_t *)(uintptr_t)table)[i];
}

static void entry_set(uint32_t table, unsigned i, uint64_t v)
{
	if (esz == 4)
		((volatile uint32_t *)(uintptr_t)table)[i] = (uint32_t)v;
	else
		((volatile uint64_t *)(uintptr_t)table)[i] = v;
}

/* Index of va in the table at level l (1 = page table). */
static unsigned entry_index(uint32_t va, unsigned l)
{
	if (mode == PG_32)
		return l == 2 ? va >> 22 : (va >> 12) & 1023;
	if (l == 4)
		return 0;			/* bits 47:39 of a 32-bit address */
	if (l == 3)
		return va >> 30;
	return (va >> (12 + 9 * (l - 1))) & 511;
}

/* Flags of a non-leaf entry: PAE PDPTEs take only P (SDM Vol. 3A 4.4.1). */
static uint32_t upper_flags(unsigned l)
{
	return mode == PG_PAE && l == 3 ? PTE_P : PTE_P | PTE_W | PTE_A;
}

/* The page table (level 1) that maps va under top, created when missing. */
static uint32_t page_table(uint32_t top, uint32_t va)
{
	uint32_t t = top;

	for (unsigned l = levels; l > 1; l--) {
		unsigned i = entry_index(va, l);
		uint64_t e = entry_get(t, i);

		if (!(e & PTE_P)) {
			e = table_alloc() | upper_flags(l);
			entry_set(t, i, e);
		}
		t = (uint32_t)e & ~0xfffu;
	}
	return t;
}

static uint32_t pte_addr(uint32_t top, uint32_t va)
{
	return page_table(top, va) + entry_index(va, 1) * esz;
}

static void map_page(uint32_t top, uint32_t va, uint32_t pa, uint32_t flags)
{
	entry_set(page_table(top, va), entry_index(va, 1), pa | flags);
}

/* Copy the path of tables from top down to the page table holding va into
 * fresh tables; returns the new top. The fork workload's "copy the parent's
 * address space" step, reduced to the part it changes. */
static uint32_t clone_path(uint32_t top, uint32_t va)
{
	uint32_t new_top = table_alloc(), src = top, dst = new_top;

	for (unsigned l = levels; l >= 1; l--) {
		unsigned n = mode == PG_32 ? 1024 : (mode == PG_PAE && l == 3 ? 4 : 512);
		unsigned i = entry_index(va, l);

		for (unsigned k = 0; k < n; k++)
			entry_set(dst, k, entry_get(src, k));
		if (l == 1)
			break;
		uint32_t child = table_alloc();
		entry_set(dst, i, child | upper_flags(l));
		src = (uint32_t)entry_get(src, i) & ~0xfffu;
		dst = child;
	}
	return new_top;
}

static void free_path(uint32_t top, uint32_t va)
{
	uint32_t t = top;

	for (unsigned l = levels; l > 1; l--) {
		uint32_t next = (uint32_t)entry_get(t, entry_index(va, l)) & ~0xfffu;

		table_free(t);
		t = next;
	}
	table_free(t);
}

/* Bytes mapped by one page table. */
static uint32_t ptw_span(void)
{
	return mode == PG_32 ? 0x400000 : 0x200000;
}

static void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static void invlpg(uint32_t va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

/* ---- IDT ------------------------------------------------------------------ */

static uint64_t idt[2 * 32] __attribute__((aligned(16)));
static struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idtr;

static void idt_init(bool long_mode)
{
	for (unsigned v = 0; v < 32; v++) {
		uint32_t a = (uint32_t)(uintptr_t)(v == 14 ? (long_mode ? pf64 : pf32)
						      : (long_mode ? exc64_other : exc32_other));
		uint64_t gate = (a & 0xffff) | ((uint64_t)(long_mode ? 0x18 : 0x08) << 16) |
				((uint64_t)0x8e00 << 32) | ((uint64_t)(a >> 16) << 48);

		if (long_mode) {
			idt[2 * v] = gate;
			idt[2 * v + 1] = 0;
		} else {
			idt[v] = gate;
		}
	}
	idtr.limit = (uint16_t)((long_mode ? 16 : 8) * 32 - 1);
	idtr.base = (uint32_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" ::"m"(idtr));
}

static const uint64_t gdt[4] = {
	0,
	0x00cf9b000000ffffull,	/* 0x08 code32 */
	0x00cf93000000ffffull,	/* 0x10 data */
	0x00af9b000000ffffull,	/* 0x18 code64 (L = 1) */
};
static struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gdtr = { sizeof(gdt) - 1, 0 };

/* Build the main address space (identity map of the first 128 MiB with
 * large pages) and turn paging on in the chosen mode, CR0.WP set so that
 * supervisor writes to read-only pages fault (the copy-on-write path). */
static void paging_init(void)
{
	uint32_t cr0, cr4;

	levels = mode == PG_32 ? 2 : mode == PG_PAE ? 3 : 4;
	esz = mode == PG_32 ? 4 : 8;
	root = table_alloc();
	for (uint32_t pa = 0; pa < IDENT_END; pa += mode == PG_32 ? 0x400000 : 0x200000) {
		if (mode == PG_32) {
			entry_set(root, pa >> 22, pa | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS);
		} else {
			/* Level-2 table for pa, then a 2 MiB leaf in it. */
			uint32_t t = root;
			for (unsigned l = levels; l > 2; l--) {
				unsigned i = entry_index(pa, l);
				uint64_t e = entry_get(t, i);
				if (!(e & PTE_P)) {
					e = table_alloc() | upper_flags(l);
					entry_set(t, i, e);
				}
				t = (uint32_t)e & ~0xfffu;
			}
			entry_set(t, entry_index(pa, 2), pa | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS);
		}
	}
	/* Every test mapping is made now, before paging is on, so that the
	 * events write only the entries they mean to (under shadow paging a
	 * write to a live table is itself an event). This also completes the
	 * PAE PDPT before CR3 is loaded. */
	for (unsigned i = 0; i < FILL_PAGES; i++)
		map_page(root, FILL_VA + i * PAGE, SCRATCH_FRAME, PTE_P | PTE_W | PTE_A);
	for (unsigned i = 0; i < PF_PAGES; i++)
		entry_set(page_table(root, MISC_VA), entry_index(MISC_VA, 1) + i, 0);
	for (unsigned k = 0; k < PTW_TABLES; k++)
		map_page(root, PTW_VA + k * ptw_span(), SCRATCH_FRAME, PTE_P | PTE_W | PTE_A);
	for (unsigned i = 0; i < FORK_PAGES; i++)
		map_page(root, FORK_VA + i * PAGE, PARENT_FRAMES + i * PAGE, PTE_P | PTE_W | PTE_A | PTE_D);
	for (uint32_t off = 0; off < SWEEP_BYTES; off += PAGE)
		map_page(root, SWEEP_VA + off, SWEEP_FRAMES + off, PTE_P | PTE_W);
	gdtr.base = (uint32_t)(uintptr_t)gdt;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	if (mode == PG_4L) {
		gdt_load(&gdtr);
		lm_enter(root, 0x10000);	/* and CR0.WP */
		idt_init(true);
		return;
	}
	__asm__ volatile("lgdt %0" ::"m"(gdtr));
	cr4 |= mode == PG_32 ? 0x10 : 0x20;	/* PSE or PAE */
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4));
	write_cr3(root);
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" ::"r"(cr0 | 0x80010000u) : "memory");
	idt_init(false);
}

/* ---- statistics ----------------------------------------------------------- */

static void sort(uint32_t *a, unsigned n)
{
	static const unsigned gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };

	for (unsigned g = 0; g < 8; g++)
		for (unsigned i = gaps[g]; i < n; i++) {
			uint32_t v = a[i];
			unsigned j = i;
			for (; j >= gaps[g] && a[j - gaps[g]] > v; j -= gaps[g])
				a[j] = a[j - gaps[g]];
			a[j] = v;
		}
}

static void report_event(const char *key, unsigned n)
{
	sort(samples, n);
	gprintf("bench: event %s min %u median %u max %u reps %u\n", key, samples[0],
		samples[n / 2], samples[n - 1], n);
}

/* ---- events ---------------------------------------------------------------- */

static unsigned reps = 512;

static void ev_null(void)
{
	for (unsigned i = 0; i < reps; i++)
		samples[i] = t_null();
	null_ticks = samples[0];
	report_event("null", reps);
	gprintf("bench: tsc-check nops 1000 ticks %u\n", t_nops());
}

static void ev_cpuid(void)
{
	for (unsigned i = 0; i < reps; i++) {
		MARK(i);
		samples[i] = t_cpuid(0);
	}
	report_event("cpuid", reps);
	for (unsigned i = 0; i < 16; i++)
		samples[i] = t_cpuid_loop(64);
	report_event("cpuid-loop64", 16);
	if (under_umbra()) {
		for (unsigned i = 0; i < reps; i++) {
			MARK(i);
			samples[i] = t_vmcall(2);
		}
		report_event("vmcall", reps);
	}
}

/* Port 0x80: writes are ignored under Umbra, reads return all-ones (the
 * first four are logged by Umbra: warm up past them). Natively Bochs's
 * POST-code port latches writes and reads them back. */
static void ev_port(void)
{
	for (unsigned i = 0; i < 8; i++)
		(void)t_inb80();
	for (unsigned i = 0; i < reps; i++) {
		MARK(i);
		samples[i] = t_outb80();
	}
	report_event("out-0x80", reps);
	for (unsigned i = 0; i < reps; i++) {
		MARK(i);
		samples[i] = t_inb80();
	}
	report_event("in-0x80", reps);
}

/* A load from a fresh page whose guest PTE is present (A preset): under
 * shadow paging the hypervisor builds the shadow entry; natively and under
 * EPT it is one load (the hardware walk costs no instructions in Bochs). */
static void ev_fill(void)
{
	unsigned n = reps < FILL_PAGES ? reps : FILL_PAGES;

	for (unsigned i = 0; i < n; i++) {
		MARK(i);
		samples[i] = t_read((const void *)(uintptr_t)(FILL_VA + i * PAGE));
	}
	report_event("fill-4k", n);
	/* The same pages again: now present in every TLB/shadow (a hit). */
	for (unsigned i = 0; i < n; i++)
		samples[i] = t_read((const void *)(uintptr_t)(FILL_VA + i * PAGE));
	report_event("read-hit", n);
}

/* Stores to page-table entries of the active address space. Under shadow
 * paging a guest table that is shadowed is write-protected, so the first
 * store to it traps; what follows depends on the hypervisor's policy (it may
 * unprotect the table until the next CR3 load), so every sample writes to a
 * different table that was shadowed since the last CR3 load: PTW_TABLES page
 * tables, each mapping one page that is touched first; the new entry maps a
 * page nobody touches. pd-write: a store to an unused entry of a live level-2
 * table (an upper level under PAE and 4-level paging), not-present values. */
static void ev_pt_write(void)
{
	uint32_t span = ptw_span(), n = 0;

	for (unsigned round = 0; n < reps; round++) {
		for (unsigned k = 0; k < PTW_TABLES; k++)
			(void)*(volatile uint32_t *)(uintptr_t)(PTW_VA + k * span);
		for (unsigned k = 0; k < PTW_TABLES && n < reps; k++, n++) {
			uint32_t pte = pte_addr(root, PTW_VA + k * span + PAGE);

			MARK(n);
			samples[n] = t_write((void *)(uintptr_t)pte,
					     (SCRATCH_FRAME + (round & 1) * PAGE) | PTE_P | PTE_W | PTE_A);
		}
		write_cr3(root);	/* flush: the entries changed */
	}
	report_event("pt-write", n);
}

static void ev_pd_write(void)
{
	uint32_t pde;

	/* The level-2 table holding PTW_VA's entry; the slot after the
	 * PTW_TABLES entries is unused. */
	pde = root;
	for (unsigned l = levels; l > 2; l--)
		pde = (uint32_t)entry_get(pde, entry_index(PTW_VA, l)) & ~0xfffu;
	pde += (entry_index(PTW_VA, 2) + PTW_TABLES + 1) * esz;
	for (unsigned i = 0; i < reps; i++) {
		MARK(i);
		samples[i] = t_write((void *)(uintptr_t)pde, (i & 1) ? 0x00123000u : 0x00456000u);
	}
	*(volatile uint32_t *)(uintptr_t)pde = 0;
	write_cr3(root);
	report_event("pd-write", reps);
}

/* INVLPG of a page just touched (so mapped in the TLB or the shadow), one of
 * the fill pages in turn. */
static void ev_invlpg(void)
{
	for (unsigned i = 0; i < reps; i++) {
		const volatile uint32_t *p =
			(const volatile uint32_t *)(uintptr_t)(FILL_VA + (i % FILL_PAGES) * PAGE);

		(void)*p;
		MARK(i);
		samples[i] = t_invlpg((const void *)p);
	}
	report_event("invlpg", reps);
}

/* A load from a page whose guest PTE is not present: #PF, the guest's
 * handler skips the load. Under shadow paging the hypervisor sees the
 * fault first and reflects it. */
static void ev_guest_pf(void)
{
	pf_mode = 0;
	for (unsigned i = 0; i < reps; i++) {
		MARK(i);
		samples[i] = t_pf((const void *)(uintptr_t)(MISC_VA + (i % PF_PAGES) * PAGE));
	}
	report_event("guest-pf", reps);
}

/* MOV CR3 between two address spaces used before (cached), and to top-level
 * tables never loaded before (uncached: a copy of the root each time). */
static void ev_cr3(void)
{
	uint32_t other = clone_path(root, FORK_VA);
	unsigned n = reps < UNCACHED_ROOTS ? reps : UNCACHED_ROOTS;

	write_cr3(other);
	write_cr3(root);
	for (unsigned i = 0; i < reps; i++) {
		MARK(i);
		samples[i] = t_cr3(i & 1 ? root : other);
	}
	write_cr3(root);
	report_event("cr3-cached", reps);
	uint32_t first = next_table;
	for (unsigned i = 0; i < n; i++) {
		uint32_t t = table_alloc();
		for (unsigned k = 0; k < PAGE / esz; k++)
			entry_set(t, k, entry_get(root, k));
	}
	for (unsigned i = 0; i < n; i++) {
		MARK(i);
		samples[i] = t_cr3(first + i * PAGE);
		write_cr3(root);
		/* An unrelated (reflected) #PF between samples: every sample's
		 * first fetch under the new root faults at the same address and
		 * RIP, which Umbra's shadow MMU (shadow-vmm 60232ea) takes for a
		 * fault that makes no progress after 8 in a row. */
		(void)t_pf((const void *)(uintptr_t)(MISC_VA + (i % PF_PAGES) * PAGE));
	}
	report_event("cr3-uncached", n);
	free_path(other, FORK_VA);
}

/* ---- workloads -------------------------------------------------------------- */

static uint32_t cow_top, cow_next;

/* Copy-on-write fault of the fork workload: copy the page to a fresh
 * frame, map it writable, flush the stale translation. */
void pf_cow(uint32_t cr2)
{
	uint32_t va = cr2 & ~0xfffu, pa = cow_next;
	const uint32_t *src = (const uint32_t *)(uintptr_t)va;
	uint32_t *dst = (uint32_t *)(uintptr_t)pa;

	if (va < FORK_VA || va >= FORK_VA + FORK_PAGES * PAGE) {
		gprintf("bench: error: unexpected #PF at 0x%x\n", cr2);
		guest_exit(1);
	}
	cow_next += PAGE;
	for (unsigned i = 0; i < PAGE / 4; i++)
		dst[i] = src[i];
	entry_set(page_table(cow_top, va), entry_index(va, 1), pa | PTE_P | PTE_W | PTE_A | PTE_D);
	invlpg(va);
}

static uint32_t rdtsc32(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo;
}

/* The shape of fork + exec: copy the parent's address space (the path of
 * tables to FORK_VA, its FORK_PAGES entries read-only), switch to it, read
 * then write every page (each write a copy-on-write fault), switch back,
 * clear the child's entries and free its tables. */
static void wl_fork(unsigned iters)
{
	uint32_t t0, t;

	for (unsigned i = 0; i < FORK_PAGES; i++)
		*(volatile uint32_t *)(uintptr_t)(PARENT_FRAMES + i * PAGE) = i;
	pf_mode = 1;
	t0 = rdtsc32();
	for (unsigned it = 0; it < iters; it++) {
		uint32_t child = clone_path(root, FORK_VA), pt = page_table(child, FORK_VA);
		uint32_t sum = 0;

		for (unsigned i = 0; i < FORK_PAGES; i++)
			entry_set(pt, entry_index(FORK_VA, 1) + i,
				  entry_get(pt, entry_index(FORK_VA, 1) + i) & ~(uint64_t)PTE_W);
		cow_top = child;
		cow_next = CHILD_FRAMES;
		write_cr3(child);
		for (unsigned i = 0; i < FORK_PAGES; i++) {
			volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)(FORK_VA + i * PAGE);
			sum += *p;
			*p = sum;
		}
		write_cr3(root);
		for (unsigned i = 0; i < FORK_PAGES; i++)
			entry_set(pt, entry_index(FORK_VA, 1) + i, 0);
		free_path(child, FORK_VA);
		if (sum != FORK_PAGES * (FORK_PAGES - 1) / 2) {
			gprintf("bench: error: fork workload sum %u\n", sum);
			guest_exit(1);
		}
	}
	t = rdtsc32() - t0;
	pf_mode = 0;
	gprintf("bench: workload fork ticks %u %u rounds of %u pages\n", t, iters, FORK_PAGES);
}

/* Stride over SWEEP_BYTES of 4 KiB-mapped memory, several passes. */
static void wl_sweep(unsigned passes)
{
	uint32_t t0, t, sum = 0;

	t0 = rdtsc32();
	for (unsigned p = 0; p < passes; p++)
		for (uint32_t off = 0; off < SWEEP_BYTES; off += SWEEP_STRIDE) {
			volatile uint32_t *q = (volatile uint32_t *)(uintptr_t)(SWEEP_VA + off);
			*q += p;
			sum += *q;
		}
	t = rdtsc32() - t0;
	gprintf("bench: workload sweep ticks %u %u passes over %u MiB, stride %u (sum %x)\n", t,
		passes, SWEEP_BYTES >> 20, SWEEP_STRIDE, sum);
}

/* ---- command line --------------------------------------------------------- */

static const char *find(const char *s, const char *word)
{
	for (const char *p = s; *p; p++) {
		const char *a = p, *b = word;

		while (*b && *a == *b)
			a++, b++;
		if (!*b && (p == s || p[-1] == ' '))
			return a;
	}
	return 0;
}

static unsigned num(const char *s, unsigned dflt)
{
	unsigned v = 0;

	if (!s || *s < '0' || *s > '9')
		return dflt;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned)(*s++ - '0');
	return v;
}

int guest_entry(uint32_t magic, const struct mb1_info *mbi)
{
	const char *cmd = (mbi->flags & 4) ? (const char *)(uintptr_t)mbi->cmdline : "";
	const char *arg;
	unsigned iters, passes;

	(void)magic;
	serial_init();
	mode = PG_4L;
	if ((arg = find(cmd, "paging=")))
		mode = arg[0] == '3' ? PG_32 : arg[0] == 'p' ? PG_PAE : PG_4L;
	reps = num(find(cmd, "reps="), 512);
	if (reps > MAX_REPS)
		reps = MAX_REPS;
	iters = num(find(cmd, "iters="), 4);
	passes = num(find(cmd, "passes="), 8);
	profiling = num(find(cmd, "profile="), 0) != 0;
	if (0x100000 + mbi->mem_upper * 1024u < IDENT_END) {
		gprintf("bench: error: need %u MiB of RAM\n", IDENT_END >> 20);
		return 1;
	}
	paging_init();
	gprintf("bench: paging %s levels %u\n", mode == PG_32 ? "32" : mode == PG_PAE ? "pae" : "4l",
		levels);
	ev_null();
	ev_cpuid();
	ev_port();
	ev_fill();
	ev_invlpg();
	ev_guest_pf();
	ev_cr3();
	ev_pt_write();
	if (num(find(cmd, "workloads="), 1)) {
		wl_fork(iters);
		wl_sweep(passes);
	}
	ev_pd_write();		/* last: the write most likely to upset a hypervisor */
	if (unexpected)
		return 1;
	gprintf("bench: done\n");
	return 0;
}
