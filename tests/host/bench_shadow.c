/* Shadow faults per second per guest paging mode, over random guest tables.
 * Guest walks are done beforehand (not timed). "warm": INVLPG then fault, so
 * each fault rebuilds one leaf under existing upper levels; "cold": the
 * whole shadow is zapped every 16 faults, so faults rebuild upper levels
 * too. Build optimised, without sanitizers. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mmu/shadow.h"
#include "tests/host/fake_mem.h"
#include "tests/host/shadow_ref.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; struct shadow_mode m; } modes[] = {
		{ "paging off", { .guest_levels = 0, .cr0_wp = true, .guest_maxphyaddr = 40 } },
		{ "32-bit PSE", { .guest_levels = 2, .cr0_wp = true, .cr4_pse = true,
				  .guest_maxphyaddr = 40 } },
		{ "PAE NX", { .guest_levels = 3, .cr0_wp = true, .efer_nx = true,
			      .guest_maxphyaddr = 40 } },
		{ "4-level NX", { .guest_levels = 4, .cr0_wp = true, .efer_nx = true,
				  .guest_maxphyaddr = 40 } },
		{ "5-level NX", { .guest_levels = 5, .cr0_wp = true, .efer_nx = true,
				  .guest_maxphyaddr = 40 } },
	};
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 200000;
	static struct shadow_gwalk walks[4096];
	static gva_t gvas[4096];

	printf("%-12s %14s %14s %10s\n", "mode", "warm faults/s", "cold faults/s", "lru zaps");
	for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct fake_mem fm;
		struct gtest g;
		struct shadow s;
		hpa_t root;
		unsigned nw = 0, perm;

		fake_mem_init(&fm, 16384, 0x100, 4096, 1);
		gtest_build(&g, &fm, &modes[m].m, 1 + m, 200);
		/* Pre-walk a set of gvas the guest can read (user). */
		for (unsigned tries = 0; nw < 4096 && tries < 200000; tries++) {
			gva_t gva = gtest_random_gva(&g);
			hfn_t hfn;
			if (gtest_walk(&g, gva, ACC_U, true, &walks[nw], &perm) == GW_OK &&
			    fm.ops.gfn_to_hfn(fm.ops.ctx, walks[nw].gfn, &hfn))
				gvas[nw++] = gva;
		}
		if (shadow_init(&s, &fm.ops, 64, 0, 40) != SHADOW_OK ||
		    shadow_load_root(&s, &modes[m].m, g.cr3, g.pdptes, &root) != SHADOW_OK || !nw) {
			fprintf(stderr, "%s: setup failed\n", modes[m].name);
			return 1;
		}
		double t0 = now();
		for (unsigned i = 0; i < n; i++) {
			unsigned k = (i * 2654435761u) % nw;
			/* Drop the leaf first so every call builds one. */
			shadow_invlpg(&s, gvas[k]);
			if (shadow_fault(&s, gvas[k], &walks[k], ACC_U) != SHADOW_OK) {
				fprintf(stderr, "%s: fault failed\n", modes[m].name);
				return 1;
			}
		}
		double dt = now() - t0;
		t0 = now();
		for (unsigned i = 0; i < n; i++) {
			unsigned k = (i * 2654435761u) % nw;
			if (i % 16 == 0) {
				shadow_zap_all(&s);
				if (shadow_load_root(&s, &modes[m].m, g.cr3, g.pdptes, &root))
					return 1;
			}
			if (shadow_fault(&s, gvas[k], &walks[k], ACC_U) != SHADOW_OK) {
				fprintf(stderr, "%s: cold fault failed\n", modes[m].name);
				return 1;
			}
		}
		double dt_cold = now() - t0;
		printf("%-12s %14.0f %14.0f %10llu\n", modes[m].name, n / dt, n / dt_cold,
		       (unsigned long long)s.stats.lru_zaps);
		if (shadow_check(&s)) {
			fprintf(stderr, "%s: %s\n", modes[m].name, shadow_check(&s));
			return 1;
		}
		shadow_destroy(&s);
		fake_mem_destroy(&fm);
	}
	return 0;
}
