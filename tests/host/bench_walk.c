/* Walks per second per paging mode (argument: walks per mode, default WALKS): a valid chain to a 4 KiB page with A
 * and D already set (the steady state), read accesses, fake memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmu/ept.h"
#include "mmu/walk.h"
#include "tests/host/ref_walk.h"

#define MEM_SIZE	(8 * 4096)
#define WALKS		2000000

static uint8_t mem[MEM_SIZE];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	unsigned walks = argc > 1 ? (unsigned)atoi(argv[1]) : WALKS;
	static const struct {
		const char *name;
		struct paging_mode m;
	} modes[] = {
		{ "32-bit", { .cr0_pg = true, .cr0_wp = true, .maxphyaddr = 40 } },
		{ "PAE", { .cr0_pg = true, .cr0_wp = true, .cr4_pae = true, .efer_nx = true,
			   .maxphyaddr = 40 } },
		{ "4-level", { .cr0_pg = true, .cr0_wp = true, .cr4_pae = true, .efer_lma = true,
			       .efer_nx = true, .maxphyaddr = 46 } },
		{ "5-level", { .cr0_pg = true, .cr0_wp = true, .cr4_pae = true, .efer_lma = true,
			       .cr4_la57 = true, .efer_nx = true, .maxphyaddr = 52 } },
		{ "EPT4", { .ept = true, .ept_levels = 4, .ept_ad = true, .maxphyaddr = 46 } },
		{ "EPT5", { .ept = true, .ept_levels = 5, .ept_ad = true, .maxphyaddr = 52 } },
	};
	struct fakemem fm;
	uint64_t sink = 0;

	fakemem_init(&fm, mem, sizeof(mem));
	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
		struct gwalk_mode gm;
		struct gwalk_result res;
		bool ept = modes[i].m.ept, is32 = !modes[i].m.cr4_pae && !ept;
		uint64_t pdpte[4] = { 0 };
		double t0, t1;

		gwalk_mode_init(&gm, &modes[i].m);
		memset(mem, 0, sizeof(mem));
		/* Address 0: slot 0 at every level; table for level l at page l. */
		for (unsigned l = 1; l <= gm.levels; l++) {
			uint64_t next = l == 1 ? 0x123000 : (uint64_t)(l - 1) * 4096;
			uint64_t e = ept ? EPT_RWX | EPT_A | (l == 1 ? EPT_D | (6 << 3) : 0)
					 : PTE_P | PTE_W | PTE_A | (l == 1 ? PTE_D : 0);

			if (gm.format == PAGING_PAE && l == 3)
				pdpte[0] = PTE_P | 2 * 4096;
			else
				fakemem_write(&fm, (uint64_t)l * 4096, e | next, is32 ? 4 : 8);
		}
		t0 = now();
		for (unsigned n = 0; n < walks; n++) {
			if (gwalk(&gm, &fm.ops, (uint64_t)gm.levels * 4096, pdpte, n & 0xfff, 0, &res) !=
			    GWALK_OK)
				return 1;
			sink += res.gpa;
		}
		t1 = now();
		printf("bench_walk: %-8s %6.1f M walks/s (%.0f ns/walk)\n", modes[i].name,
		       walks / (t1 - t0) / 1e6, (t1 - t0) / walks * 1e9);
	}
	return sink == 0;
}
