/* Host tests of the EPT builder (mmu/ept.c). Every translation is checked
 * with the independent reference walker in tests/host/ept_ref.c; random
 * sequences are compared with a flat model gfn -> (hfn, perm, mt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/ept.h"
#include "tests/host/check.h"
#include "tests/host/ept_ref.h"
#include "tests/host/fake_mem.h"

#define KB4	0x1000ull
#define MB2	0x200000ull
#define GB1	0x40000000ull

static struct fake_mem fm;

static uint64_t *ref_read_table(void *ctx, uint64_t hpa)
{
	uint64_t *t = fake_mem_hpa_ptr(ctx, hpa);

	if (!t) {
		fprintf(stderr, "reference walk reached a non-table hpa 0x%llx\n",
			(unsigned long long)hpa);
		abort();
	}
	return t;
}

static void ref(const struct ept *ept, unsigned maxphyaddr, gpa_t gpa, struct ept_ref_result *r)
{
	ept_ref_translate(ref_read_table, &fm, ept_eptp(ept, false), ept->exec_only, maxphyaddr,
			  gpa, r);
}

/* Expect @gpa mapped to @hpa with @perm, @mt and leaf size @size (0: any). */
static void expect_mapped(const struct ept *ept, unsigned maxphyaddr, gpa_t gpa, hpa_t hpa,
			  unsigned perm, unsigned mt, uint64_t size)
{
	struct ept_ref_result r;
	uint64_t entry, psize;

	ref(ept, maxphyaddr, gpa, &r);
	CHECK_EQ(r.kind, EPT_REF_MAPPED);
	CHECK_EQ(r.hpa, hpa);
	CHECK_EQ(r.perm, perm);
	CHECK_EQ(r.mt, mt);
	CHECK_EQ(r.ipat, 0);
	if (size)
		CHECK_EQ(r.page_size, size);
	CHECK(ept_lookup(ept, gpa, &entry, &psize));
	CHECK_EQ(psize, r.page_size);
}

static void expect_unmapped(const struct ept *ept, unsigned maxphyaddr, gpa_t gpa)
{
	struct ept_ref_result r;

	ref(ept, maxphyaddr, gpa, &r);
	CHECK_EQ(r.kind, EPT_REF_NOT_PRESENT);
	CHECK(!ept_lookup(ept, gpa, NULL, NULL));
}

/* Count tables reachable from the root, independently of ept.c, and check
 * that no table other than the root is empty. */
static uint64_t count_tables(hpa_t table, int level, int *empty_tables)
{
	uint64_t *t = fake_mem_hpa_ptr(&fm, table);
	uint64_t n = 1;
	int present = 0;

	for (int i = 0; i < 512; i++) {
		if (!(t[i] & 7))
			continue;
		present++;
		if (level > 1 && !(level <= 3 && (t[i] & 0x80)))
			n += count_tables(t[i] & GENMASK(51, 12), level - 1, empty_tables);
	}
	if (!present)
		(*empty_tables)++;
	return n;
}

static void check_tables(const struct ept *ept)
{
	int empty = 0;
	uint64_t n = count_tables(ept->root, (int)ept->levels, &empty);

	CHECK_EQ(n, ept->table_pages);
	CHECK_EQ(fm.outstanding, ept->table_pages);
	/* The root may be empty; no other table may be. */
	CHECK(empty <= 1);
}

static void test_init_and_eptp(void)
{
	struct ept ept;

	fake_mem_init(&fm, 64, 0x100, 0, 1);
	CHECK_EQ(ept_init(&ept, &fm.ops, 3, EPT_SIZE_4K, false, 46), EPT_EINVAL);
	CHECK_EQ(ept_init(&ept, &fm.ops, 6, EPT_SIZE_4K, false, 46), EPT_EINVAL);
	CHECK_EQ(ept_init(&ept, &fm.ops, 4, EPT_SIZE_2M, false, 46), EPT_EINVAL);
	CHECK_EQ(ept_init(&ept, &fm.ops, 4, EPT_SIZE_4K, false, 53), EPT_EINVAL);
	CHECK_EQ(fm.outstanding, 0);

	CHECK_EQ(ept_init(&ept, &fm.ops, 4, EPT_SIZE_4K | EPT_SIZE_2M, false, 46), EPT_OK);
	CHECK_EQ(ept.table_pages, 1);
	/* 25.6.11: WB (6) in 2:0, length-1 = 3 in 5:3, A/D in bit 6, root 51:12. */
	CHECK_EQ(ept_eptp(&ept, false), ept.root | 0x1e);
	CHECK_EQ(ept_eptp(&ept, true), ept.root | 0x5e);
	ept_destroy(&ept);
	CHECK_EQ(fm.outstanding, 0);

	CHECK_EQ(ept_init(&ept, &fm.ops, 5, EPT_SIZE_4K, false, 52), EPT_OK);
	CHECK_EQ(ept_eptp(&ept, false), ept.root | 0x26);
	CHECK_EQ(ept_eptp(&ept, true), ept.root | 0x66);
	ept_destroy(&ept);
	CHECK_EQ(fm.outstanding, 0);

	/* No memory for the root. */
	fm.fail_after = fm.allocs;
	CHECK_EQ(ept_init(&ept, &fm.ops, 4, EPT_SIZE_4K, false, 46), EPT_ENOMEM);
	CHECK_EQ(fm.outstanding, 0);
	fake_mem_destroy(&fm);
}

static void test_invalid(void)
{
	struct ept ept;

	fake_mem_init(&fm, 64, 0x100, 0, 1);
	CHECK_EQ(ept_init(&ept, &fm.ops, 4, EPT_SIZE_4K | EPT_SIZE_2M | EPT_SIZE_1G, false, 40),
		 EPT_OK);
	/* 29.3.3.1: W without R, X-only without support, reserved memory types. */
	CHECK_EQ(ept_map(&ept, 0, 0x1000, KB4, EPT_W, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, KB4, EPT_W | EPT_X, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, KB4, EPT_X, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, KB4, 0, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, KB4, EPT_R | EPT_IGNORE_PAT, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, KB4, EPT_R, 2), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, KB4, EPT_R, 3), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, KB4, EPT_R, 7), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, KB4, EPT_R, 8), EPT_EINVAL);
	/* Alignment and range. */
	CHECK_EQ(ept_map(&ept, 0x800, 0x1000, KB4, EPT_R, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1800, KB4, EPT_R, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, 0x800, EPT_R, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 0x1000, 0, EPT_R, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 1ull << 40, 0x1000, KB4, EPT_R, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, (1ull << 40) - KB4, 0x1000, 2 * KB4, EPT_R, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, 0, 1ull << 52, KB4, EPT_R, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_unmap(&ept, 1ull << 40, KB4), EPT_EINVAL);
	CHECK_EQ(ept_unmap(&ept, 0x10, KB4), EPT_EINVAL);
	CHECK_EQ(ept.table_pages, 1);
	/* Every valid combination is accepted and reads back through the reference. */
	static const unsigned perms[] = { EPT_R, EPT_R | EPT_W, EPT_R | EPT_X, EPT_RWX };
	static const unsigned mts[] = { EPT_MT_UC, EPT_MT_WC, EPT_MT_WT, EPT_MT_WP, EPT_MT_WB };
	gpa_t gpa = 0;
	for (unsigned p = 0; p < ARRAY_SIZE(perms); p++) {
		for (unsigned m = 0; m < ARRAY_SIZE(mts); m++, gpa += KB4) {
			CHECK_EQ(ept_map(&ept, gpa, 0x5000000 + gpa, KB4, perms[p], mts[m]), EPT_OK);
			expect_mapped(&ept, 40, gpa + 0x123, 0x5000123 + gpa, perms[p], mts[m], KB4);
		}
	}
	ept_destroy(&ept);

	/* 4-level EPT cannot reach gpa bit 48 even when MAXPHYADDR is 52. */
	CHECK_EQ(ept_init(&ept, &fm.ops, 4, EPT_SIZE_4K, true, 52), EPT_OK);
	CHECK_EQ(ept_map(&ept, 1ull << 48, 0x1000, KB4, EPT_R, EPT_MT_WB), EPT_EINVAL);
	CHECK_EQ(ept_map(&ept, (1ull << 48) - KB4, 0x1000, KB4, EPT_X, EPT_MT_WB), EPT_OK);
	expect_mapped(&ept, 52, (1ull << 48) - 1, 0x1fff, EPT_X, EPT_MT_WB, KB4);
	ept_destroy(&ept);
	CHECK_EQ(fm.outstanding, 0);
	fake_mem_destroy(&fm);
}

/* Map, split, remap, merge and unmap at @levels, with the range placed at
 * @base (above 256 TiB for 5 levels). */
static void test_split_merge(unsigned levels, gpa_t base, unsigned maxphyaddr)
{
	struct ept ept;
	hpa_t hbase = 0x80000000ull;	/* 1 GiB aligned */
	unsigned upper = levels - 3;	/* tables above the PDPT */

	fake_mem_init(&fm, 256, 0x100, 0, 1);
	CHECK_EQ(ept_init(&ept, &fm.ops, levels, EPT_SIZE_4K | EPT_SIZE_2M | EPT_SIZE_1G, false,
			  maxphyaddr), EPT_OK);

	/* 1 GiB + 2 MiB + 4 KiB, aligned: one leaf of each size. */
	CHECK_EQ(ept_map(&ept, base, hbase, GB1 + MB2 + KB4, EPT_RWX, EPT_MT_WB), EPT_OK);
	expect_mapped(&ept, maxphyaddr, base, hbase, 7, EPT_MT_WB, GB1);
	expect_mapped(&ept, maxphyaddr, base + GB1 - 1, hbase + GB1 - 1, 7, EPT_MT_WB, GB1);
	expect_mapped(&ept, maxphyaddr, base + GB1, hbase + GB1, 7, EPT_MT_WB, MB2);
	expect_mapped(&ept, maxphyaddr, base + GB1 + MB2, hbase + GB1 + MB2, 7, EPT_MT_WB, KB4);
	expect_unmapped(&ept, maxphyaddr, base + GB1 + MB2 + KB4);
	expect_unmapped(&ept, maxphyaddr, base - KB4);
	/* Above 256 TiB the PML5 index matters: the gpa with bits 56:48 clear
	 * is a different, unmapped address. */
	if (base >> 48)
		expect_unmapped(&ept, maxphyaddr, base & GENMASK(47, 0));
	/* root, PML4 (5 levels), PDPT, PD, PT */
	CHECK_EQ(ept.table_pages, 1 + upper + 2);
	check_tables(&ept);

	/* Unmap one 4 KiB page inside the 1 GiB page: split 1G -> 2M -> 4K. */
	gpa_t hole = base + 5 * MB2 + 7 * KB4;
	CHECK_EQ(ept_unmap(&ept, hole, KB4), EPT_OK);
	expect_unmapped(&ept, maxphyaddr, hole);
	expect_mapped(&ept, maxphyaddr, hole - 1, hbase + (hole - base) - 1, 7, EPT_MT_WB, KB4);
	expect_mapped(&ept, maxphyaddr, hole + KB4, hbase + (hole - base) + KB4, 7, EPT_MT_WB, KB4);
	expect_mapped(&ept, maxphyaddr, base + 5 * MB2 - 1, hbase + 5 * MB2 - 1, 7, EPT_MT_WB, MB2);
	expect_mapped(&ept, maxphyaddr, base + 6 * MB2, hbase + 6 * MB2, 7, EPT_MT_WB, MB2);
	expect_mapped(&ept, maxphyaddr, base, hbase, 7, EPT_MT_WB, MB2);
	expect_mapped(&ept, maxphyaddr, base + GB1 - KB4, hbase + GB1 - KB4, 7, EPT_MT_WB, MB2);
	CHECK_EQ(ept.table_pages, 1 + upper + 4);	/* + PD and PT of the split */
	check_tables(&ept);

	/* Remap part of a 2 MiB page with other permissions and type. */
	CHECK_EQ(ept_map(&ept, base + 9 * MB2 + 16 * KB4, 0x7000000, 3 * KB4, EPT_R, EPT_MT_UC),
		 EPT_OK);
	expect_mapped(&ept, maxphyaddr, base + 9 * MB2 + 17 * KB4, 0x7001000, EPT_R, EPT_MT_UC, KB4);
	expect_mapped(&ept, maxphyaddr, base + 9 * MB2 + 19 * KB4, hbase + 9 * MB2 + 19 * KB4, 7,
		      EPT_MT_WB, KB4);
	expect_mapped(&ept, maxphyaddr, base + 9 * MB2 + 15 * KB4, hbase + 9 * MB2 + 15 * KB4, 7,
		      EPT_MT_WB, KB4);
	CHECK_EQ(ept.table_pages, 1 + upper + 5);
	check_tables(&ept);

	/* Nothing merges while the hole and the odd pages remain. */
	ept_merge(&ept);
	CHECK_EQ(ept.table_pages, 1 + upper + 5);
	/* Restore both; merge folds PTs into 2 MiB, then the PD into 1 GiB. */
	CHECK_EQ(ept_map(&ept, hole, hbase + (hole - base), KB4, EPT_RWX, EPT_MT_WB), EPT_OK);
	CHECK_EQ(ept_map(&ept, base + 9 * MB2 + 16 * KB4, hbase + 9 * MB2 + 16 * KB4, 3 * KB4,
			 EPT_RWX, EPT_MT_WB), EPT_OK);
	ept_merge(&ept);
	expect_mapped(&ept, maxphyaddr, hole, hbase + (hole - base), 7, EPT_MT_WB, GB1);
	expect_mapped(&ept, maxphyaddr, base + GB1 + MB2, hbase + GB1 + MB2, 7, EPT_MT_WB, KB4);
	CHECK_EQ(ept.table_pages, 1 + upper + 2);
	check_tables(&ept);

	/* A misaligned hpa never merges (the large leaf would be reserved-bit). */
	CHECK_EQ(ept_map(&ept, base + 2 * GB1, hbase + KB4, MB2, EPT_R, EPT_MT_WB), EPT_OK);
	ept_merge(&ept);
	expect_mapped(&ept, maxphyaddr, base + 2 * GB1 + MB2 - 1, hbase + KB4 + MB2 - 1, EPT_R,
		      EPT_MT_WB, KB4);

	/* Mapping a whole 1 GiB over tables frees them. */
	uint64_t before = ept.table_pages;
	CHECK_EQ(ept_map(&ept, base + 2 * GB1, hbase, GB1, EPT_R, EPT_MT_WT), EPT_OK);
	CHECK_EQ(ept.table_pages, before - 2);
	expect_mapped(&ept, maxphyaddr, base + 2 * GB1 + 3, hbase + 3, EPT_R, EPT_MT_WT, GB1);
	check_tables(&ept);

	/* Unmapping everything leaves only the root. */
	CHECK_EQ(ept_unmap(&ept, base, 3 * GB1), EPT_OK);
	expect_unmapped(&ept, maxphyaddr, base);
	expect_unmapped(&ept, maxphyaddr, base + GB1 + MB2);
	CHECK_EQ(ept.table_pages, 1);
	check_tables(&ept);
	ept_destroy(&ept);
	CHECK_EQ(fm.outstanding, 0);
	fake_mem_destroy(&fm);
}

/* Page sizes the CPU lacks are never used; merge respects them too. */
static void test_page_sizes(void)
{
	struct ept ept;

	fake_mem_init(&fm, 64, 0x100, 0, 1);
	CHECK_EQ(ept_init(&ept, &fm.ops, 4, EPT_SIZE_4K | EPT_SIZE_2M, false, 40), EPT_OK);
	CHECK_EQ(ept_map(&ept, GB1, GB1, GB1, EPT_RWX, EPT_MT_WB), EPT_OK);
	expect_mapped(&ept, 40, GB1 + 0x12345678, GB1 + 0x12345678, 7, EPT_MT_WB, MB2);
	ept_merge(&ept);
	expect_mapped(&ept, 40, GB1, GB1, 7, EPT_MT_WB, MB2);
	ept_destroy(&ept);

	CHECK_EQ(ept_init(&ept, &fm.ops, 4, EPT_SIZE_4K, false, 40), EPT_OK);
	CHECK_EQ(ept_map(&ept, 0, 0, 2 * MB2, EPT_RWX, EPT_MT_WB), EPT_OK);
	expect_mapped(&ept, 40, MB2 + 5, MB2 + 5, 7, EPT_MT_WB, KB4);
	ept_merge(&ept);
	expect_mapped(&ept, 40, MB2 + 5, MB2 + 5, 7, EPT_MT_WB, KB4);
	CHECK_EQ(ept.table_pages, 5);
	ept_destroy(&ept);

	/* Contiguous 4 KiB leaves differing only in memory type, permissions or
	 * the dirty flag do not merge. */
	CHECK_EQ(ept_init(&ept, &fm.ops, 4, EPT_SIZE_4K | EPT_SIZE_2M, false, 40), EPT_OK);
	for (int k = 0; k < 3; k++) {
		gpa_t gpa = (uint64_t)k * MB2;
		CHECK_EQ(ept_map(&ept, gpa, gpa, MB2 - KB4, EPT_RWX, EPT_MT_WB), EPT_OK);
		CHECK_EQ(ept_map(&ept, gpa + MB2 - KB4, gpa + MB2 - KB4, KB4,
				 k == 0 ? EPT_R | EPT_W : EPT_RWX, k == 1 ? EPT_MT_UC : EPT_MT_WB),
			 EPT_OK);
	}
	uint64_t *pte = NULL;
	{
		/* Set D in one leaf of the third table, as the CPU would. */
		uint64_t *t = fake_mem_hpa_ptr(&fm, ept.root);
		t = fake_mem_hpa_ptr(&fm, t[0] & GENMASK(51, 12));
		t = fake_mem_hpa_ptr(&fm, t[0] & GENMASK(51, 12));
		t = fake_mem_hpa_ptr(&fm, t[2] & GENMASK(51, 12));
		pte = &t[511];
		*pte |= EPT_A | EPT_D;
	}
	ept_merge(&ept);
	for (int k = 0; k < 3; k++)
		expect_mapped(&ept, 40, (uint64_t)k * MB2, (uint64_t)k * MB2, 7, EPT_MT_WB, KB4);
	CHECK_EQ(ept.table_pages, 6);
	ept_destroy(&ept);
	CHECK_EQ(fm.outstanding, 0);
	fake_mem_destroy(&fm);
}

/* Every allocation can fail: the table stays consistent (reachable tables ==
 * table_pages == pages outstanding), and what was mapped reads back. */
static void test_enomem(unsigned levels)
{
	unsigned maxphyaddr = levels == 5 ? 52 : 46;
	gpa_t base = levels == 5 ? (1ull << 50) + 3 * GB1 : 5 * GB1;
	struct ept ept;

	for (uint64_t fail = 1; fail < 20; fail++) {
		fake_mem_init(&fm, 64, 0x100, 0, 1);
		CHECK_EQ(ept_init(&ept, &fm.ops, levels, EPT_SIZE_4K | EPT_SIZE_2M | EPT_SIZE_1G,
				  false, maxphyaddr), EPT_OK);
		CHECK_EQ(ept_map(&ept, base, 0x40000000, GB1, EPT_RWX, EPT_MT_WB), EPT_OK);
		fm.fail_after = fm.allocs + fail;
		/* 4 KiB pages spread over four 2 MiB regions and two 1 GiB regions. */
		enum ept_status st = EPT_OK;
		for (int i = 0; i < 8 && st == EPT_OK; i++) {
			gpa_t gpa = base + (uint64_t)(i % 2) * GB1 + (uint64_t)(i / 2) * MB2 + KB4;
			st = ept_map(&ept, gpa, 0x9000000 + i * KB4, KB4, EPT_R, EPT_MT_UC);
			if (st == EPT_OK)
				expect_mapped(&ept, maxphyaddr, gpa, 0x9000000 + i * KB4, EPT_R,
					      EPT_MT_UC, KB4);
		}
		if (st == EPT_OK)
			st = ept_unmap(&ept, base + 100 * MB2 + KB4, KB4);
		CHECK(st == EPT_OK || st == EPT_ENOMEM);
		check_tables(&ept);
		/* The untouched part of the 1 GiB mapping survives either way. */
		expect_mapped(&ept, maxphyaddr, base + 200 * MB2, 0x40000000 + 200 * MB2, 7,
			      EPT_MT_WB, 0);
		fm.fail_after = 0;
		ept_destroy(&ept);
		CHECK_EQ(fm.outstanding, 0);
		fake_mem_destroy(&fm);
	}
}

/* ---- randomized sequences against a flat model ---------------------------- */

struct model_page {
	uint64_t hfn;		/* 0: unmapped */
	uint8_t perm, mt;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Window of 2 GiB (524288 gfns) at @base. */
#define WIN_PAGES	(2 * GB1 / KB4)

static void model_check_page(const struct ept *ept, unsigned maxphyaddr, gpa_t base,
			     const struct model_page *m, uint64_t i)
{
	struct ept_ref_result r;
	gpa_t gpa = base + i * KB4 + (rnd() & 0xfff);

	ref(ept, maxphyaddr, gpa, &r);
	if (!m[i].hfn) {
		CHECK_EQ(r.kind, EPT_REF_NOT_PRESENT);
		return;
	}
	if (r.kind != EPT_REF_MAPPED || r.hpa != (m[i].hfn << 12 | (gpa & 0xfff)) ||
	    r.perm != m[i].perm || r.mt != m[i].mt) {
		CHECK(!"model mismatch");
		fprintf(stderr, "gpa 0x%llx: kind %d hpa 0x%llx perm %u mt %u; model hfn 0x%llx "
			"perm %u mt %u\n", (unsigned long long)gpa, r.kind,
			(unsigned long long)r.hpa, r.perm, r.mt, (unsigned long long)m[i].hfn,
			m[i].perm, m[i].mt);
		exit(1);
	}
}

static void test_random(unsigned levels, gpa_t base, unsigned maxphyaddr, uint64_t seed, int ops)
{
	static const uint8_t perms[] = { EPT_R, EPT_R | EPT_W, EPT_R | EPT_X, EPT_RWX };
	static const uint8_t mts[] = { EPT_MT_UC, EPT_MT_WC, EPT_MT_WT, EPT_MT_WP, EPT_MT_WB };
	struct model_page *m = calloc(WIN_PAGES, sizeof(*m));
	struct ept ept;
	uint64_t checks_before = check_passed;

	rng_state = seed;
	fake_mem_init(&fm, 4096, 0x100, 0, seed);
	CHECK_EQ(ept_init(&ept, &fm.ops, levels, EPT_SIZE_4K | EPT_SIZE_2M | EPT_SIZE_1G, false,
			  maxphyaddr), EPT_OK);
	for (int op = 0; op < ops; op++) {
		uint64_t unit = (uint64_t[]){ 1, 1, 512, 512 * 512 }[rnd() % 4];
		uint64_t first = (rnd() % WIN_PAGES) / unit * unit;
		uint64_t n = 1 + rnd() % (unit == 1 ? 1100 : 3) * unit + (rnd() % 4 ? 0 : rnd() % 600);
		if (first + n > WIN_PAGES)
			n = WIN_PAGES - first;
		unsigned kind = rnd() % 10;

		if (kind < 6) {
			/* hpa congruent to gpa modulo 1 GiB most of the time, so large
			 * pages are possible. */
			uint64_t hfn = (1 + rnd() % 1000) * 512 * 512 + first % (512 * 512);
			if (rnd() % 4 == 0)
				hfn = 1 + rnd() % (1ull << 26);
			uint8_t perm = perms[rnd() % 4], mt = mts[rnd() % 5];
			CHECK_EQ(ept_map(&ept, base + first * KB4, hfn << 12, n * KB4, perm, mt),
				 EPT_OK);
			for (uint64_t i = 0; i < n; i++)
				m[first + i] = (struct model_page){ hfn + i, perm, mt };
		} else if (kind < 9) {
			CHECK_EQ(ept_unmap(&ept, base + first * KB4, n * KB4), EPT_OK);
			for (uint64_t i = 0; i < n; i++)
				m[first + i].hfn = 0;
		} else {
			ept_merge(&ept);
		}
		/* Edges of the range and a random sample each step. */
		for (int d = -2; d <= 2; d++) {
			int64_t a = (int64_t)first + d, b = (int64_t)(first + n) + d;
			if (a >= 0 && a < (int64_t)WIN_PAGES)
				model_check_page(&ept, maxphyaddr, base, m, (uint64_t)a);
			if (b >= 0 && b < (int64_t)WIN_PAGES)
				model_check_page(&ept, maxphyaddr, base, m, (uint64_t)b);
		}
		for (int s = 0; s < 64; s++)
			model_check_page(&ept, maxphyaddr, base, m, rnd() % WIN_PAGES);
		if (op % 50 == 49 || op == ops - 1) {
			for (uint64_t i = 0; i < WIN_PAGES; i++)
				model_check_page(&ept, maxphyaddr, base, m, i);
			check_tables(&ept);
		}
	}
	/* After a merge of a fully mapped, congruent window, large leaves appear. */
	CHECK_EQ(ept_map(&ept, base, 0x40000000, 2 * GB1, EPT_RWX, EPT_MT_WB), EPT_OK);
	ept_merge(&ept);
	CHECK_EQ(ept.table_pages, levels - 2);
	ept_destroy(&ept);
	CHECK_EQ(fm.outstanding, 0);
	fake_mem_destroy(&fm);
	free(m);
	printf("  random %u-level at 0x%llx seed %llu: %llu checks\n", levels,
	       (unsigned long long)base, (unsigned long long)seed,
	       (unsigned long long)(check_passed - checks_before));
}

int main(void)
{
	test_init_and_eptp();
	test_invalid();
	test_page_sizes();
	test_split_merge(4, 0, 46);
	test_split_merge(4, 0x7f0000000000ull, 47);
	test_split_merge(5, 0, 52);
	/* Above 256 TiB: PML5 index non-zero (bit 48 and up). */
	test_split_merge(5, 0xabc0000000000ull, 52);
	test_split_merge(5, (1ull << 52) - 4 * GB1, 52);
	test_enomem(4);
	test_enomem(5);
	test_random(4, 3 * GB1, 46, 1, 300);
	test_random(4, (1ull << 47) - 2 * GB1, 47, 2, 200);
	test_random(5, 0x3ff0000000000ull, 52, 3, 300);
	test_random(5, (1ull << 49) + (1ull << 48) + 0x8000000000ull, 52, 4, 200);
	return check_done("test_ept");
}
