/* Test support for the shadow MMU, shared by test_shadow, fuzz_shadow and
 * bench_shadow; shares no code with mmu/shadow.c.
 *  - gtest_walk: a TEST-ONLY minimal guest walker for 32-bit, PAE, 4- and
 *    5-level paging (SDM Vol. 3A 4.3-4.5), standing in for mmu/walk.c until
 *    the two are wired together;
 *  - sref_walk: a reference x86 walk of the shadow tables as the CPU does
 *    it (PAE root of four PDPTEs, or 4/5 levels), reserved bits included;
 *  - gtest_build: random guest page tables in fake guest memory. */
#ifndef UMBRA_TESTS_SHADOW_REF_H
#define UMBRA_TESTS_SHADOW_REF_H

#include "mmu/shadow.h"
#include "tests/host/fake_mem.h"

struct gtest {
	struct fake_mem *fm;
	struct shadow_mode mode;
	gpa_t cr3;
	uint64_t pdptes[4];
	uint64_t rng;
	gfn_t next_table, table_end;	/* table frames handed out so far */
	gfn_t data_pages;		/* leaves point below this (a few beyond RAM) */
};

enum { GW_OK, GW_NOT_PRESENT, GW_RSVD, GW_PROT };

uint64_t gtest_rand(struct gtest *g);
/* Whether an access @acc (ACC_W/ACC_X, ACC_U for CPL 3) is allowed on a
 * translation with effective permissions @perm (SDM Vol. 3A 4.6; SMAP with
 * EFLAGS.AC = 0). */
bool gtest_access_ok(unsigned perm, unsigned acc, bool wp, bool smep, bool smap, bool nx);
/* Walk the guest tables for @gva. With @set_ad, set A (and D for writes) as
 * the CPU does once the access is allowed. Fills @w for shadow_fault;
 * *@perm gets the effective ACC_* of the translation. */
int gtest_walk(struct gtest *g, gva_t gva, unsigned acc, bool set_ad, struct shadow_gwalk *w,
	       unsigned *perm);
/* Reference CPU walk of shadow tables: @fmt 3 (PAE root), 4 or 5. Returns
 * GW_OK with *@hpa and effective *@perm, GW_NOT_PRESENT, or GW_RSVD. */
int sref_walk(struct fake_mem *fm, hpa_t root, unsigned fmt, unsigned maxphyaddr, bool nx,
	      gva_t gva, hpa_t *hpa, unsigned *perm);
/* Random guest tables for @mode in @fm's guest RAM (frames 1..@tables hold
 * tables). */
void gtest_build(struct gtest *g, struct fake_mem *fm, const struct shadow_mode *mode,
		 uint64_t seed, unsigned tables);
/* A gva that usually reaches a present guest leaf. */
gva_t gtest_random_gva(struct gtest *g);
/* Change one random entry of one random guest table; returns its gpa. */
gpa_t gtest_mutate(struct gtest *g, unsigned *len);
/* Shadow root format for a guest mode. */
unsigned gtest_shadow_fmt(const struct shadow_mode *mode);

#endif
