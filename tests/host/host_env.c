/* Host environment for mmu/ tests: mmu_bug() aborts so that sanitizers and
 * fuzzers see broken invariants, and a fake guest-physical memory that
 * implements the memory half of struct mmu_ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/ref_walk.h"

void mmu_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "mmu_bug: %s:%d: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

static bool fakemem_in_range(const struct fakemem *fm, gpa_t gpa, unsigned len)
{
	return gpa < fm->size && len <= fm->size - gpa;
}

static gpa_t fakemem_wrap(const struct fakemem *fm, gpa_t gpa)
{
	return fm->wrap ? gpa & (fm->size - 1) : gpa;
}

static bool fakemem_read_gpa(void *ctx, gpa_t gpa, void *buf, unsigned len)
{
	struct fakemem *fm = ctx;

	fm->reads++;
	gpa = fakemem_wrap(fm, gpa);
	if (!fakemem_in_range(fm, gpa, len))
		return false;
	memcpy(buf, fm->bytes + gpa, len);
	return true;
}

static bool fakemem_cmpxchg_gpa(void *ctx, gpa_t gpa, uint64_t old, uint64_t new_val, unsigned len)
{
	struct fakemem *fm = ctx;
	uint64_t cur = 0;

	gpa = fakemem_wrap(fm, gpa);
	if ((len != 4 && len != 8) || !fakemem_in_range(fm, gpa, len) || gpa % len)
		return false;
	if (fm->race_always || (fm->race_countdown > 0 && --fm->race_countdown == 0)) {
		/* Another walker (or the guest) changes the entry first. */
		fakemem_write(fm, gpa, fakemem_read(fm, gpa, len) ^ fm->race_xor, len);
		fm->race_gpa = gpa;
		fm->race_nlog = fm->nlog;
		return false;
	}
	memcpy(&cur, fm->bytes + gpa, len);
	if (cur != old)
		return false;
	memcpy(fm->bytes + gpa, &new_val, len);
	if (fm->nlog < FAKEMEM_LOG) {
		fm->log[fm->nlog] = gpa;
		fm->log_val[fm->nlog] = new_val;
	}
	fm->nlog++;
	return true;
}

void fakemem_init(struct fakemem *fm, void *buf, size_t size)
{
	memset(fm, 0, sizeof(*fm));
	fm->bytes = buf;
	fm->size = size;
	fm->ops.ctx = fm;
	fm->ops.read_gpa = fakemem_read_gpa;
	fm->ops.cmpxchg_gpa = fakemem_cmpxchg_gpa;
}

uint64_t fakemem_read(const struct fakemem *fm, gpa_t gpa, unsigned len)
{
	uint64_t v = 0;

	if (!fakemem_in_range(fm, gpa, len))
		mmu_bug(__FILE__, __LINE__, "fakemem_read out of range");
	memcpy(&v, fm->bytes + gpa, len);
	return v;
}

void fakemem_write(struct fakemem *fm, gpa_t gpa, uint64_t val, unsigned len)
{
	if (!fakemem_in_range(fm, gpa, len))
		mmu_bug(__FILE__, __LINE__, "fakemem_write out of range");
	memcpy(fm->bytes + gpa, &val, len);
}
