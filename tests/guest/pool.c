/* A test guest that puts a shadow MMU's pool under pressure and writes to
 * its own page tables while they are in use. PAE paging (SDM Vol. 3A 4.4):
 *   - 0-16 MiB identity-mapped with 2 MiB pages (code, tables, stack);
 *   - three linear windows at 1, 2 and 3 GiB, each mapping the same 48 MiB
 *     of RAM (physical 16-64 MiB) with its own 24 page tables of 4 KiB
 *     pages: 72 page tables, far more than a pool of 64 shadow pages holds.
 * Checks: a pattern written through window 1 reads back through windows 2
 * and 3 (twice, so evicted shadow pages are rebuilt); A and D bits of the
 * guest PTEs as the CPU sets them; a PDE swap (a write to a live
 * upper-level table, LOCK XCHG) seen after INVLPG; a PTE edit seen after
 * INVLPG; two PDPTs with swapped windows, switched by MOV CR3 several times.
 * Boots natively too. */
#include "lib/glib.h"

int guest_entry(uint32_t magic, const struct mb1_info *mbi);

#define PDPT_PA		0x300000u
#define PDPT2_PA	0x300800u
#define PD_PA(i)	(0x301000u + (i) * 0x1000u)	/* 0: identity, 1-3: windows */
#define PT_PA(w, i)	(0x400000u + (((w) - 1) * 24 + (i)) * 0x1000u)
#define DATA_PA		0x1000000u
#define DATA_PAGES	(48u * 256)
#define WINDOW(w)	((uint32_t)(w) << 30)

static inline uint64_t *pa64(uint32_t pa) { return (uint64_t *)(uintptr_t)pa; }
static void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
static uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static void invlpg(uint32_t va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

static uint32_t pattern(uint32_t page) { return page * 0x9e3779b1u ^ 0x5a5a0000u; }

static void build_tables(void)
{
	uint64_t *pdpt = pa64(PDPT_PA), *pdpt2 = pa64(PDPT2_PA);

	gmemset((void *)(uintptr_t)PDPT_PA, 0, 0x5000);
	gmemset((void *)(uintptr_t)PT_PA(1, 0), 0, 72 * 0x1000);
	for (unsigned i = 0; i < 8; i++)
		pa64(PD_PA(0))[i] = ((uint64_t)i << 21) | 0x83;		/* P W PS */
	for (unsigned w = 1; w <= 3; w++) {
		for (unsigned i = 0; i < 24; i++) {
			pa64(PD_PA(w))[i] = PT_PA(w, i) | 0x3;
			for (unsigned j = 0; j < 512; j++)
				pa64(PT_PA(w, i))[j] = (DATA_PA + (i * 512 + j) * 0x1000u) | 0x3;
		}
	}
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = PD_PA(i) | 1;
	pdpt2[0] = pdpt[0];
	pdpt2[1] = pdpt[0];		/* window 1 = the identity PD */
	pdpt2[2] = pdpt[2];
	pdpt2[3] = pdpt[3];
}

static bool verify_window(unsigned w)
{
	for (uint32_t p = 0; p < DATA_PAGES; p++) {
		volatile uint32_t *v = (volatile uint32_t *)(uintptr_t)(WINDOW(w) + p * 0x1000u);

		if (v[0] != pattern(p) || v[1023] != ~pattern(p)) {
			gprintf("guest: window %u page %u reads 0x%x 0x%x\n", w, p, v[0], v[1023]);
			return false;
		}
	}
	return true;
}

int guest_entry(uint32_t magic, const struct mb1_info *mbi)
{
	volatile uint64_t *pd3 = pa64(PD_PA(3)), *pt2 = pa64(PT_PA(2, 0));
	bool ok;

	(void)mbi;
	serial_init();
	gprintf("guest: pool test guest starting (magic 0x%x)\n", magic);
	build_tables();
	write_cr4(0x20);				/* PAE */
	write_cr3(PDPT_PA);
	write_cr0(read_cr0() | 0x80000000u);

	for (uint32_t p = 0; p < DATA_PAGES; p++) {
		volatile uint32_t *v = (volatile uint32_t *)(uintptr_t)(WINDOW(1) + p * 0x1000u);

		v[0] = pattern(p);
		v[1023] = ~pattern(p);
	}
	gprintf("guest: wrote %u pages through window 1\n", DATA_PAGES);
	ok = verify_window(2) && verify_window(3) && verify_window(1) && verify_window(2);
	report("windows", ok);

	/* A and D (SDM Vol. 3A 4.8): written pages have both, pages only
	 * read through window 2 have A without D. */
	ok = (pa64(PT_PA(1, 5))[7] & 0x60) == 0x60 && (pa64(PT_PA(2, 5))[7] & 0x60) == 0x20 &&
	     (pa64(PD_PA(1))[5] & 0x20);
	report("accessed/dirty", ok);

	/* Swap window 3's first two PDEs with LOCK XCHG on the live PD. */
	uint32_t a = (uint32_t)pd3[0], b = (uint32_t)pd3[1];
	__asm__ volatile("lock xchgl %0, %1" : "+r"(a), "+m"(*(volatile uint32_t *)&pd3[1]) :: "memory");
	__asm__ volatile("lock xchgl %0, %1" : "+r"(b), "+m"(*(volatile uint32_t *)&pd3[0]) :: "memory");
	invlpg(WINDOW(3));
	invlpg(WINDOW(3) + 0x200000u);
	ok = true;
	for (uint32_t p = 0; p < 1024 && ok; p += 97) {
		volatile uint32_t *v = (volatile uint32_t *)(uintptr_t)(WINDOW(3) + p * 0x1000u);
		ok = v[0] == pattern(p ^ 512);
	}
	pd3[0] = b;
	pd3[1] = a;
	write_cr3(PDPT_PA);
	ok = ok && verify_window(3);
	report("PDE swap", ok);

	/* Edit a live PTE: page 0 of window 2 now maps data page 5. */
	pt2[0] = (DATA_PA + 5 * 0x1000u) | 0x3;
	invlpg(WINDOW(2));
	uint32_t got5 = *(volatile uint32_t *)(uintptr_t)WINDOW(2);
	pt2[0] = DATA_PA | 0x3;
	invlpg(WINDOW(2));
	uint32_t got0 = *(volatile uint32_t *)(uintptr_t)WINDOW(2);
	ok = got5 == pattern(5) && got0 == pattern(0);
	if (!ok)
		gprintf("guest: PTE edit read 0x%x (want 0x%x), then 0x%x (want 0x%x)\n", got5,
			pattern(5), got0, pattern(0));
	report("PTE edit", ok);

	/* Two address spaces: in PDPT2, window 1 is the identity PD. */
	ok = true;
	for (unsigned round = 0; round < 4 && ok; round++) {
		write_cr3(PDPT2_PA);
		ok = *(volatile uint32_t *)(uintptr_t)(WINDOW(1) + PDPT_PA) == (uint32_t)(PD_PA(0) | 1) &&
		     *(volatile uint32_t *)(uintptr_t)(WINDOW(2) + 0x3000u) == pattern(3);
		write_cr3(PDPT_PA);
		ok = ok && *(volatile uint32_t *)(uintptr_t)(WINDOW(1) + PDPT_PA) == pattern(0x300);
	}
	report("address spaces", ok);
	return report_done();
}
