/* Physical frame allocator: one bit per 4 KiB frame of usable RAM (1 = in use).
 *
 * Invariants:
 *  - regions[] are disjoint, page-aligned, sorted by base, and lie inside
 *    usable memory-map ranges, above the first MiB, below the mapped limit and
 *    outside every excluded range;
 *  - region i owns bits [regions[i].first_bit, + regions[i].frames);
 *  - free_frames == number of clear bits.
 */
#include "lib/frame.h"
#include "lib/panic.h"
#include "lib/string.h"

#define MAX_REGIONS	256
#define LOW_LIMIT	0x100000ull	/* the first MiB: IVT, BDA, EBDA, option ROMs */

struct region {
	hpa_t base;
	uint64_t frames;
	uint64_t first_bit;
};

static struct region regions[MAX_REGIONS];
static unsigned nregions;
static uint64_t *bitmap;
static uint64_t total_bits, free_frames, reserved_bytes, next_hint;

static void add_region(hpa_t base, hpa_t end)
{
	if (end <= base)
		return;
	if (nregions == MAX_REGIONS) {
		reserved_bytes += end - base;	/* too fragmented: withhold the rest */
		return;
	}
	unsigned i = nregions++;
	while (i > 0 && regions[i - 1].base > base) {
		regions[i] = regions[i - 1];
		i--;
	}
	regions[i] = (struct region){ .base = base, .frames = (end - base) >> PAGE_SHIFT };
}

/* Add [base, end) minus every excluded range (recursively splitting). */
static void add_minus(hpa_t base, hpa_t end, const struct mem_range *excl, unsigned nexcl)
{
	for (unsigned i = 0; i < nexcl; i++) {
		hpa_t eb = ALIGN_DOWN(excl[i].base, PAGE_SIZE);
		hpa_t ee = ALIGN_UP(excl[i].base + excl[i].len, PAGE_SIZE);
		if (ee <= base || eb >= end || excl[i].len == 0)
			continue;
		reserved_bytes += MIN(ee, end) - MAX(eb, base);
		add_minus(base, MAX(eb, base), excl + i + 1, nexcl - i - 1);
		add_minus(MIN(ee, end), end, excl + i + 1, nexcl - i - 1);
		return;
	}
	add_region(base, end);
}

static bool bit_test(uint64_t b) { return bitmap[b / 64] & BIT(b % 64); }
static void bit_set(uint64_t b) { bitmap[b / 64] |= BIT(b % 64); }
static void bit_clear(uint64_t b) { bitmap[b / 64] &= ~BIT(b % 64); }

static hpa_t bit_to_hpa(uint64_t b)
{
	for (unsigned i = 0; i < nregions; i++)
		if (b < regions[i].first_bit + regions[i].frames)
			return regions[i].base + ((b - regions[i].first_bit) << PAGE_SHIFT);
	panic("frame: bit %llu out of range", (unsigned long long)b);
}

/* The bit of @hpa, or total_bits when @hpa is not a managed frame. */
static uint64_t hpa_to_bit(hpa_t hpa)
{
	for (unsigned i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];
		if (hpa >= r->base && hpa < r->base + (r->frames << PAGE_SHIFT))
			return r->first_bit + ((hpa - r->base) >> PAGE_SHIFT);
	}
	return total_bits;
}

void frame_init(const struct boot_info *bi, const struct mem_range *excl, unsigned nexcl,
		uint64_t limit)
{
	nregions = 0;
	total_bits = free_frames = reserved_bytes = next_hint = 0;
	bitmap = NULL;

	for (unsigned i = 0; i < bi->mmap_count; i++) {
		const struct mem_range *m = &bi->mmap[i];
		if (m->type != MEM_USABLE)
			continue;
		hpa_t base = ALIGN_UP(m->base, PAGE_SIZE);
		hpa_t end = ALIGN_DOWN(m->base + m->len, PAGE_SIZE);
		if (base < LOW_LIMIT) {
			reserved_bytes += MIN(end, LOW_LIMIT) > base ? MIN(end, LOW_LIMIT) - base : 0;
			base = LOW_LIMIT;
		}
		if (end > limit)
			end = limit;
		add_minus(base, end, excl, nexcl);
	}
	/* Firmware maps may overlap: a usable range inside another usable
	 * range must not be counted twice. Trim overlaps (regions are sorted). */
	for (unsigned i = 1; i < nregions; i++) {
		hpa_t prev_end = regions[i - 1].base + (regions[i - 1].frames << PAGE_SHIFT);
		if (regions[i].base < prev_end) {
			hpa_t end = regions[i].base + (regions[i].frames << PAGE_SHIFT);
			regions[i].base = prev_end;
			regions[i].frames = end > prev_end ? (end - prev_end) >> PAGE_SHIFT : 0;
		}
	}
	for (unsigned i = 0; i < nregions; i++) {
		regions[i].first_bit = total_bits;
		total_bits += regions[i].frames;
	}

	/* The bitmap lives at the start of the first region large enough. */
	uint64_t bitmap_bytes = ALIGN_UP((total_bits + 63) / 64 * 8, PAGE_SIZE);
	unsigned home = nregions;
	for (unsigned i = 0; i < nregions; i++) {
		if ((regions[i].frames << PAGE_SHIFT) >= bitmap_bytes) {
			home = i;
			break;
		}
	}
	if (home == nregions || total_bits == 0) {
		total_bits = 0;
		nregions = 0;
		return;
	}
	bitmap = phys_to_virt(regions[home].base);
	memset(bitmap, 0, bitmap_bytes);
	free_frames = total_bits;
	for (uint64_t b = 0; b < bitmap_bytes >> PAGE_SHIFT; b++)
		bit_set(regions[home].first_bit + b);
	free_frames -= bitmap_bytes >> PAGE_SHIFT;
	reserved_bytes += bitmap_bytes;
	/* Bits past total_bits in the last word stay clear but are never scanned. */
}

hpa_t frame_alloc(void)
{
	if (free_frames == 0)
		return 0;
	for (uint64_t n = 0; n < total_bits; n++) {
		uint64_t b = (next_hint + n) % total_bits;
		if ((b % 64) == 0 && b + 64 <= total_bits && bitmap[b / 64] == ~0ull) {
			n += 63;
			continue;
		}
		if (!bit_test(b)) {
			bit_set(b);
			free_frames--;
			next_hint = b + 1;
			hpa_t hpa = bit_to_hpa(b);
			memset(phys_to_virt(hpa), 0, PAGE_SIZE);
			return hpa;
		}
	}
	panic("frame: free count %llu but no clear bit", (unsigned long long)free_frames);
}

hpa_t frame_alloc_contig(uint64_t count, uint64_t align, hpa_t below)
{
	if (count == 0 || count > free_frames)
		return 0;
	if (align < PAGE_SIZE)
		align = PAGE_SIZE;
	for (unsigned i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];
		hpa_t end = r->base + (r->frames << PAGE_SHIFT);
		for (hpa_t start = ALIGN_UP(r->base, align); start + (count << PAGE_SHIFT) <= end;
		     start += align) {
			if (below && start + (count << PAGE_SHIFT) > below)
				break;
			uint64_t b0 = r->first_bit + ((start - r->base) >> PAGE_SHIFT);
			uint64_t k = 0;
			while (k < count && !bit_test(b0 + k))
				k++;
			if (k < count)
				continue;
			for (k = 0; k < count; k++)
				bit_set(b0 + k);
			free_frames -= count;
			memset(phys_to_virt(start), 0, count << PAGE_SHIFT);
			return start;
		}
	}
	return 0;
}

void frame_free(hpa_t hpa)
{
	uint64_t b = hpa_to_bit(hpa);

	if (!IS_ALIGNED(hpa, PAGE_SIZE) || b == total_bits)
		panic("frame_free(%#llx): not a managed frame", (unsigned long long)hpa);
	if (!bit_test(b))
		panic("frame_free(%#llx): double free", (unsigned long long)hpa);
	bit_clear(b);
	free_frames++;
}

void frame_free_contig(hpa_t hpa, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++)
		frame_free(hpa + (i << PAGE_SHIFT));
}

void frame_get_stats(struct frame_stats *st)
{
	st->total_frames = total_bits;
	st->free_frames = free_frames;
	st->reserved_bytes = reserved_bytes;
}
