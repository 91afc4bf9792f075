/* Fake host/guest memory implementing struct mmu_ops (see fake_mem.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/fake_mem.h"

enum { PAGE_FREE = 0, PAGE_TABLE = 1, PAGE_GUEST = 2 };

static void fake_die(const char *what)
{
	fprintf(stderr, "fake_mem: %s\n", what);
	abort();
}

void *fake_mem_hpa_ptr(struct fake_mem *fm, hpa_t hpa)
{
	hfn_t hfn = hpa >> PAGE_SHIFT;

	if (hfn < fm->base_hfn || hfn - fm->base_hfn >= fm->npages)
		return NULL;
	return fm->arena + ((hfn - fm->base_hfn) << PAGE_SHIFT) + (hpa & ~PAGE_MASK);
}

void *fake_mem_gpa_ptr(struct fake_mem *fm, gpa_t gpa)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;

	if (gfn >= fm->guest_pages)
		return NULL;
	return fake_mem_hpa_ptr(fm, (fm->guest_hfn[gfn] << PAGE_SHIFT) | (gpa & ~PAGE_MASK));
}

static bool fm_read_gpa(void *ctx, gpa_t gpa, void *buf, unsigned len)
{
	struct fake_mem *fm = ctx;
	void *p;

	if ((gpa & ~PAGE_MASK) + len > PAGE_SIZE)
		fake_die("read_gpa crosses a page");
	p = fake_mem_gpa_ptr(fm, gpa);
	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

static bool fm_cmpxchg_gpa(void *ctx, gpa_t gpa, uint64_t old, uint64_t new_val, unsigned len)
{
	struct fake_mem *fm = ctx;
	void *p = fake_mem_gpa_ptr(fm, gpa);

	if (!p)
		return false;
	if (len == 4) {
		uint32_t cur;
		memcpy(&cur, p, 4);
		if (cur != (uint32_t)old)
			return false;
		cur = (uint32_t)new_val;
		memcpy(p, &cur, 4);
		return true;
	}
	if (len != 8 || (gpa & 7))
		fake_die("cmpxchg_gpa: bad length or alignment");
	uint64_t cur;
	memcpy(&cur, p, 8);
	if (cur != old)
		return false;
	memcpy(p, &new_val, 8);
	return true;
}

static bool fm_gfn_to_hfn(void *ctx, gfn_t gfn, hfn_t *hfn)
{
	struct fake_mem *fm = ctx;

	if (gfn >= fm->guest_pages)
		return false;
	*hfn = fm->guest_hfn[gfn];
	return true;
}

static hpa_t fm_alloc_page(void *ctx)
{
	struct fake_mem *fm = ctx;

	if (fm->fail_after && fm->allocs >= fm->fail_after)
		return 0;
	for (uint64_t n = 0; n < fm->npages; n++) {
		uint64_t i = (fm->next_hint + n) % fm->npages;
		if (fm->in_use[i] != PAGE_FREE)
			continue;
		fm->in_use[i] = PAGE_TABLE;
		fm->next_hint = i + 1;
		fm->outstanding++;
		fm->allocs++;
		memset(fm->arena + (i << PAGE_SHIFT), 0, PAGE_SIZE);
		return (fm->base_hfn + i) << PAGE_SHIFT;
	}
	return 0;
}

static void fm_free_page(void *ctx, hpa_t hpa)
{
	struct fake_mem *fm = ctx;
	hfn_t hfn = hpa >> PAGE_SHIFT;

	if ((hpa & ~PAGE_MASK) || hfn < fm->base_hfn || hfn - fm->base_hfn >= fm->npages)
		fake_die("free_page: not an arena page");
	if (fm->in_use[hfn - fm->base_hfn] != PAGE_TABLE)
		fake_die("free_page: page not allocated (double free?)");
	fm->in_use[hfn - fm->base_hfn] = PAGE_FREE;
	/* Poison, so use after free shows up as garbage entries. */
	memset(fm->arena + ((hfn - fm->base_hfn) << PAGE_SHIFT), 0xa5, PAGE_SIZE);
	fm->outstanding--;
}

static void *fm_hpa_to_ptr(void *ctx, hpa_t hpa)
{
	void *p = fake_mem_hpa_ptr(ctx, hpa);

	if (!p)
		fake_die("hpa_to_ptr: not an arena page");
	return p;
}

void fake_mem_init(struct fake_mem *fm, uint64_t npages, hfn_t base_hfn, uint64_t guest_pages,
		   uint64_t seed)
{
	memset(fm, 0, sizeof(*fm));
	if (guest_pages > npages || base_hfn == 0)
		fake_die("init: bad sizes (base_hfn 0 would make hpa 0 look like failure)");
	fm->npages = npages;
	fm->base_hfn = base_hfn;
	fm->guest_pages = guest_pages;
	fm->arena = aligned_alloc(PAGE_SIZE, npages << PAGE_SHIFT);
	fm->in_use = calloc(npages, 1);
	fm->guest_hfn = calloc(guest_pages ? guest_pages : 1, sizeof(hfn_t));
	if (!fm->arena || !fm->in_use || !fm->guest_hfn)
		fake_die("init: out of memory");
	memset(fm->arena, 0, npages << PAGE_SHIFT);
	/* Guest RAM: the last guest_pages arena frames, in a shuffled order. */
	uint64_t first = npages - guest_pages;
	for (uint64_t g = 0; g < guest_pages; g++)
		fm->guest_hfn[g] = base_hfn + first + g;
	uint64_t x = seed * 2654435761u + 1;
	for (uint64_t g = guest_pages; g > 1; g--) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		uint64_t j = x % g;
		hfn_t t = fm->guest_hfn[g - 1];
		fm->guest_hfn[g - 1] = fm->guest_hfn[j];
		fm->guest_hfn[j] = t;
	}
	for (uint64_t i = first; i < npages; i++)
		fm->in_use[i] = PAGE_GUEST;
	fm->ops = (struct mmu_ops){
		.ctx = fm,
		.read_gpa = fm_read_gpa,
		.cmpxchg_gpa = fm_cmpxchg_gpa,
		.gfn_to_hfn = fm_gfn_to_hfn,
		.alloc_page = fm_alloc_page,
		.free_page = fm_free_page,
		.hpa_to_ptr = fm_hpa_to_ptr,
	};
}

void fake_mem_destroy(struct fake_mem *fm)
{
	free(fm->arena);
	free(fm->in_use);
	free(fm->guest_hfn);
	memset(fm, 0, sizeof(*fm));
}

void fake_mem_write32(struct fake_mem *fm, gpa_t gpa, uint32_t val)
{
	void *p = fake_mem_gpa_ptr(fm, gpa);
	if (!p)
		fake_die("write32 outside guest RAM");
	memcpy(p, &val, 4);
}

void fake_mem_write64(struct fake_mem *fm, gpa_t gpa, uint64_t val)
{
	void *p = fake_mem_gpa_ptr(fm, gpa);
	if (!p)
		fake_die("write64 outside guest RAM");
	memcpy(p, &val, 8);
}

uint64_t fake_mem_read64(struct fake_mem *fm, gpa_t gpa)
{
	uint64_t v;
	void *p = fake_mem_gpa_ptr(fm, gpa);
	if (!p)
		fake_die("read64 outside guest RAM");
	memcpy(&v, p, 8);
	return v;
}

uint32_t fake_mem_read32(struct fake_mem *fm, gpa_t gpa)
{
	uint32_t v;
	void *p = fake_mem_gpa_ptr(fm, gpa);
	if (!p)
		fake_die("read32 outside guest RAM");
	memcpy(&v, p, 4);
	return v;
}
