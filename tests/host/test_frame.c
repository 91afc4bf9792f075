/* lib/frame.c over a fake physical memory arena: no frame handed out may lie
 * in the low MiB, an excluded range or non-usable memory; every usable frame
 * is handed out exactly once; contiguous allocations honour their bounds. */
#include <stdlib.h>
#include <string.h>
#include "lib/frame.h"
#include "tests/host/check.h"
#include "tests/host/host_lib.h"

#define MiB	(1ull << 20)
#define ARENA	(64 * MiB)

static struct boot_info bi;

static void setup(const struct mem_range *map, unsigned n, const struct mem_range *excl,
		  unsigned nexcl, uint64_t limit)
{
	memset(&bi, 0, sizeof(bi));
	memcpy(bi.mmap, map, n * sizeof(*map));
	bi.mmap_count = n;
	memset(host_arena, 0xa5, ARENA);	/* frames must come back zeroed */
	frame_init(&bi, excl, nexcl, limit);
}

static bool inside(hpa_t a, const struct mem_range *r)
{
	return a < r->base + r->len && a + PAGE_SIZE > r->base;
}

static const struct mem_range map[] = {
	{ 0, 0x9f000, MEM_USABLE }, { 0x9f000, 0x1000, MEM_RESERVED },
	{ 0x100000, 60 * MiB - 0x100000, MEM_USABLE }, { 60 * MiB, 2 * MiB, MEM_ACPI_NVS },
	{ 62 * MiB, 2 * MiB, MEM_USABLE }, { 64 * MiB, 64 * MiB, MEM_USABLE } /* beyond limit */,
};
static const struct mem_range excl[] = {
	{ 1 * MiB, 1 * MiB + 123, 0 },		/* kernel image, ragged end */
	{ 3 * MiB + 100, 5000, 0 },		/* module, unaligned */
	{ 62 * MiB, 4096, 0 },			/* boot info */
};

static void test_alloc_all(void)
{
	setup(map, 6, excl, 3, ARENA);
	struct frame_stats st;
	frame_get_stats(&st);

	/* usable: [1M, 60M) + [62M, 64M) minus kernel (1M+4K) and module (2 frames) and MBI (1) */
	uint64_t want_total = (59 * MiB + 2 * MiB) / PAGE_SIZE - (MiB / PAGE_SIZE + 1) - 2 - 1;
	CHECK_EQ(st.total_frames, want_total);
	CHECK(st.free_frames < st.total_frames);	/* the bitmap took some */
	CHECK(st.free_frames + 1 >= st.total_frames - 1);	/* it takes one page here */

	uint8_t *seen = calloc(ARENA / PAGE_SIZE, 1);
	uint64_t n = 0;
	bool all_ok = true;
	for (hpa_t a; (a = frame_alloc()) != 0; n++) {
		all_ok &= IS_ALIGNED(a, PAGE_SIZE) && a >= MiB && a + PAGE_SIZE <= ARENA;
		all_ok &= !inside(a, &excl[0]) && !inside(a, &excl[1]) && !inside(a, &excl[2]);
		all_ok &= !(a >= 60 * MiB && a < 62 * MiB);
		all_ok &= seen[a / PAGE_SIZE] == 0;
		if (a >= MiB && a < ARENA) {
			seen[a / PAGE_SIZE] = 1;
			const uint8_t *p = host_arena + a;
			all_ok &= p[0] == 0 && p[PAGE_SIZE - 1] == 0;
		}
	}
	CHECK(all_ok);
	CHECK_EQ(n, st.free_frames);
	frame_get_stats(&st);
	CHECK_EQ(st.free_frames, 0);
	CHECK_EQ(frame_alloc_contig(1, PAGE_SIZE, 0), 0);

	/* Free everything, then it can all be allocated again. */
	for (uint64_t f = 0; f < ARENA / PAGE_SIZE; f++)
		if (seen[f])
			frame_free(f * PAGE_SIZE);
	frame_get_stats(&st);
	CHECK_EQ(st.free_frames, n);
	free(seen);
}

static void test_contig(void)
{
	setup(map, 6, excl, 3, ARENA);
	hpa_t a = frame_alloc_contig(512, 2 * MiB, 0);
	CHECK(a != 0 && IS_ALIGNED(a, 2 * MiB));
	hpa_t b = frame_alloc_contig(512, 2 * MiB, 0);
	CHECK(b != 0 && b != a && IS_ALIGNED(b, 2 * MiB));
	CHECK(b >= a + 2 * MiB || b + 2 * MiB <= a);
	hpa_t c = frame_alloc_contig(3, PAGE_SIZE, 4 * MiB);
	CHECK(c != 0 && c + 3 * PAGE_SIZE <= 4 * MiB);
	CHECK(!inside(c, &excl[1]) && !inside(c + PAGE_SIZE, &excl[1]) &&
	      !inside(c + 2 * PAGE_SIZE, &excl[1]));
	CHECK_EQ(frame_alloc_contig(1, PAGE_SIZE, MiB), 0);	/* nothing below 1 MiB */
	CHECK_EQ(frame_alloc_contig(100 * MiB / PAGE_SIZE, PAGE_SIZE, 0), 0);	/* too large */
	/* A run cannot straddle the ACPI NVS hole at 60 MiB. */
	hpa_t d = frame_alloc_contig(1024, 4 * MiB, 0);
	CHECK(d == 0 || d + 4 * MiB <= 60 * MiB || d >= 62 * MiB);
	frame_free_contig(a, 512);
	hpa_t e = frame_alloc_contig(512, 2 * MiB, 0);
	CHECK_EQ(e, a);	/* first fit finds the freed run again */
}

static void test_overlapping_map(void)
{
	/* Firmware maps may list a usable range twice; count it once. */
	const struct mem_range dup[] = {
		{ 2 * MiB, 4 * MiB, MEM_USABLE }, { 4 * MiB, 4 * MiB, MEM_USABLE },
	};
	setup(dup, 2, NULL, 0, ARENA);
	struct frame_stats st;
	frame_get_stats(&st);
	CHECK_EQ(st.total_frames, 6 * MiB / PAGE_SIZE);
}

static void test_empty(void)
{
	const struct mem_range low[] = { { 0, 0x9f000, MEM_USABLE } };
	setup(low, 1, NULL, 0, ARENA);
	struct frame_stats st;
	frame_get_stats(&st);
	CHECK_EQ(st.total_frames, 0);
	CHECK_EQ(frame_alloc(), 0);
	CHECK_EQ(frame_alloc_contig(1, PAGE_SIZE, 0), 0);
}

int main(void)
{
	host_arena = aligned_alloc(PAGE_SIZE, ARENA);
	host_arena_base = 0;
	host_arena_size = ARENA;
	test_alloc_all();
	test_contig();
	test_overlapping_map();
	test_empty();
	free(host_arena);
	return check_done("frame");
}
