/* libFuzzer target for the shadow MMU: the input picks a guest paging mode,
 * random guest tables, a pool size, and a sequence of guest accesses, table
 * edits, CR3 reloads, INVLPGs and zaps. After each step the shadow tables
 * are walked by the reference walker (tests/host/shadow_ref.c): whatever the
 * shadow allows, the guest must allow, to the same frame (checked whenever
 * the guest has flushed since its last table edit); after each fault the
 * faulting access must succeed; shadow_check must hold; nothing may leak.
 * Failures abort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/shadow.h"
#include "tests/host/fake_mem.h"
#include "tests/host/shadow_ref.h"

#define HOST_MAXPHY	40

static const unsigned accesses[] = { 0, ACC_W, ACC_X, ACC_U, ACC_U | ACC_W, ACC_U | ACC_X };

static void fail(const char *what, gva_t gva)
{
	fprintf(stderr, "fuzz_shadow: %s at gva 0x%llx\n", what, (unsigned long long)gva);
	abort();
}

static struct shadow_mode mode_from_byte(uint8_t b)
{
	static const unsigned levels[] = { 0, 2, 3, 4, 5 };
	struct shadow_mode m = { .guest_maxphyaddr = 40 };

	m.guest_levels = levels[b % 5];
	b /= 5;
	m.cr0_wp = !(b & 1);
	m.efer_nx = (b & 2) && m.guest_levels >= 3;
	m.cr4_smep = b & 4;
	m.cr4_smap = b & 8;
	m.cr4_pse = b & 16;
	/* Paging off: the VMM runs the identity shadow with CR4.SMEP/SMAP clear
	 * (see shadow.h), so the hardware model must not apply them. */
	if (!m.guest_levels)
		m.cr4_smep = m.cr4_smap = false;
	return m;
}

static void check_coherent(struct fake_mem *fm, struct gtest *g, hpa_t root, gva_t gva)
{
	for (unsigned a = 0; a < 6; a++) {
		unsigned acc = accesses[a], sperm, gperm;
		struct shadow_gwalk w;
		hpa_t hpa;
		hfn_t hfn;
		int sr = sref_walk(fm, root, gtest_shadow_fmt(&g->mode), HOST_MAXPHY,
				   g->mode.efer_nx, gva, &hpa, &sperm);
		if (sr == GW_RSVD)
			fail("reserved bit in the shadow", gva);
		if (sr != GW_OK || !gtest_access_ok(sperm, acc, true, g->mode.cr4_smep,
						    g->mode.cr4_smap, g->mode.efer_nx))
			continue;
		if (gtest_walk(g, gva, acc, false, &w, &gperm) != GW_OK)
			fail("shadow allows what the guest does not", gva);
		if (!fm->ops.gfn_to_hfn(fm->ops.ctx, w.gfn, &hfn) ||
		    hpa != ((hfn << 12) | (gva & 0xfff)))
			fail("shadow translation differs from the guest's", gva);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_mem fm;
	struct shadow s;
	struct gtest g;
	hpa_t root;
	uint64_t seed = 0;
	bool stale = false;	/* guest edited tables since its last flush */
	gva_t last = 0;

	if (size < 4)
		return 0;
	struct shadow_mode mode = mode_from_byte(data[0]);
	unsigned capacity = 10 + data[1] % 48;	/* PAE root, 4 pinned PDs, a path */
	for (unsigned i = 2; i < 4; i++)
		seed = seed << 8 | data[i];
	data += 4;
	size -= 4;

	fake_mem_init(&fm, 1024, 0x100, 384, seed);
	gtest_build(&g, &fm, &mode, seed, 24);
	if (shadow_init(&s, &fm.ops, capacity, capacity * 64, HOST_MAXPHY) != SHADOW_OK)
		fail("init", 0);
	if (shadow_load_root(&s, &mode, g.cr3, g.pdptes, &root) != SHADOW_OK)
		fail("load_root", 0);
	for (size_t i = 0; i + 1 < size; i += 2) {
		uint8_t op = data[i], arg = data[i + 1];
		g.rng ^= (uint64_t)arg << 32 | op;
		gtest_rand(&g);
		switch (op % 10) {
		case 0: case 1: case 2: case 3: case 4: case 5: {
			struct shadow_gwalk w;
			unsigned perm, sperm, acc = accesses[op % 6];
			gva_t gva = arg < 16 ? last : gtest_random_gva(&g);
			hpa_t hpa;
			last = gva;
			if (gtest_walk(&g, gva, acc, true, &w, &perm) != GW_OK)
				break;
			enum shadow_status st = shadow_fault(&s, gva, &w, acc);
			if (st == SHADOW_NEED_RELOAD) {
				if (shadow_load_root(&s, &mode, g.cr3, g.pdptes, &root) != SHADOW_OK)
					fail("reload", gva);
				stale = false;
				st = shadow_fault(&s, gva, &w, acc);
			}
			if (st == SHADOW_EMULATE) {
				gpa_t gpa = (w.gfn << 12) | (gva & 0xff8);
				fake_mem_write64(&fm, gpa, fake_mem_read64(&fm, gpa));
				shadow_guest_write(&s, gpa, 8);
			} else if (st == SHADOW_OK) {
				if (sref_walk(&fm, root, gtest_shadow_fmt(&mode), HOST_MAXPHY,
					      mode.efer_nx, gva, &hpa, &sperm) != GW_OK ||
				    !gtest_access_ok(sperm, acc, true, mode.cr4_smep,
						     mode.cr4_smap, mode.efer_nx))
					fail("fault did not make the access succeed", gva);
			} else if (st != SHADOW_NOT_RAM) {
				fail("unexpected fault status", gva);
			}
			break;
		}
		case 6: {
			if (!mode.guest_levels)
				break;
			unsigned len;
			gpa_t gpa = gtest_mutate(&g, &len);
			bool traps = false;
			for (const struct sp *sp = s.lru_head; sp; sp = sp->lru_next)
				traps |= sp->gfn == gpa >> 12 && !sp->role.direct &&
					 !sp->role.pae_root && !sp->role.invalid && !sp->unsync;
			if (traps)
				shadow_guest_write(&s, gpa, len);
			stale = true;
			break;
		}
		case 7:
			if (shadow_load_root(&s, &mode, g.cr3, g.pdptes, &root) != SHADOW_OK)
				fail("load_root", 0);
			stale = false;
			break;
		case 8:
			shadow_invlpg(&s, last);
			break;
		default:
			shadow_zap_gfn(&s, arg % 32);
			break;
		}
		if (!stale)
			check_coherent(&fm, &g, root, last);
		if ((i & 31) == 0 && shadow_check(&s))
			fail(shadow_check(&s), last);
	}
	if (shadow_check(&s))
		fail(shadow_check(&s), last);
	shadow_destroy(&s);
	if (fm.outstanding)
		fail("pages leaked", 0);
	fake_mem_destroy(&fm);
	return 0;
}
