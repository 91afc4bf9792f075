/* libFuzzer target: random page tables, paging mode and access from the
 * input; the walker (mmu/walk.c) and the reference model
 * (tests/host/ref_walk.c) must agree on the outcome, translation, error
 * code or exit qualification, the entries visited and the memory left
 * behind. Guest memory is 16 KiB; every gpa wraps into it, so random
 * table addresses still reach tables. Aborts on any mismatch.
 *
 * Input: format, flags, MAXPHYADDR, access, flags2, address (8), root (8),
 * PDPTEs (4 x 8), PKRU (4), then memory contents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/walk.h"
#include "tests/host/ref_walk.h"

#define FUZZ_MEM	(16 * 1024)
#define HEADER		(5 + 8 + 8 + 32 + 4)

static uint8_t mem_w[FUZZ_MEM], mem_r[FUZZ_MEM];

static const enum ref_status status_map[] = {
	[GWALK_OK] = REF_OK,
	[GWALK_PAGE_FAULT] = REF_PAGE_FAULT,
	[GWALK_EPT_VIOLATION] = REF_EPT_VIOLATION,
	[GWALK_EPT_MISCONFIG] = REF_EPT_MISCONFIG,
	[GWALK_NO_MEMORY] = REF_NO_MEMORY,
	[GWALK_RETRY] = 99,
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

#define MUST(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_walk: mismatch: %s (format %d access 0x%x addr 0x%llx)\n", #cond, \
		(int)gm.format, access, (unsigned long long)addr); \
	abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct paging_mode formats[] = {
		{ .cr0_pg = true },
		{ .cr0_pg = true, .cr4_pae = true },
		{ .cr0_pg = true, .cr4_pae = true, .efer_lma = true },
		{ .cr0_pg = true, .cr4_pae = true, .efer_lma = true, .cr4_la57 = true },
		{ .ept = true, .ept_levels = 4 },
		{ .ept = true, .ept_levels = 5 },
		{ .cr0_pg = false },
	};
	struct paging_mode m;
	struct gwalk_mode gm;
	struct fakemem fw, fr;
	struct gwalk_result w;
	struct ref_result r;
	enum gwalk_status ws;
	uint64_t addr, root, pdpte[4];
	unsigned access, flags;

	if (size < HEADER)
		return 0;
	m = formats[data[0] % 7];
	flags = data[1];
	m.cr0_wp = flags & 1;
	m.cr4_pse = flags & 2;
	m.cr4_smep = flags & 4;
	m.cr4_smap = flags & 8;
	m.efer_nx = flags & 16;
	m.gbpages = flags & 32;
	m.ept_ad = flags & 64;
	m.ept_exec_only = flags & 128;
	m.maxphyaddr = 32 + data[2] % 21;
	m.cr4_pke = data[4] & 2;
	memcpy(&m.pkru, data + 53, 4);
	access = data[3] & (ACC_PERM_MASK | ACC_PAGING | ACC_GLA);
	addr = get64(data + 5);
	root = get64(data + 13);
	for (unsigned i = 0; i < 4; i++) {
		pdpte[i] = get64(data + 21 + 8 * i);
		if (!pae_pdpte_valid(&m, pdpte[i]))	/* the caller's contract */
			pdpte[i] &= ~rsvd_pae_pdpte_mask(m.maxphyaddr);
	}
	memset(mem_w, 0, sizeof(mem_w));
	memcpy(mem_w, data + HEADER, MIN(size - HEADER, sizeof(mem_w)));
	memcpy(mem_r, mem_w, sizeof(mem_w));
	fakemem_init(&fw, mem_w, sizeof(mem_w));
	fakemem_init(&fr, mem_r, sizeof(mem_r));
	fw.wrap = fr.wrap = !(data[4] & 1);

	gwalk_mode_init(&gm, &m);
	ws = gwalk(&gm, &fw.ops, root, pdpte, addr, access, &w);
	ref_walk(&m, &fr.ops, root, pdpte, addr, access, &r);

	MUST(ws != GWALK_RETRY);
	MUST(status_map[ws] == r.status);
	if (ws == GWALK_OK) {
		MUST(w.gpa == r.gpa);
		MUST(w.page_size == r.page_size);
	} else {
		MUST(w.fault_level == r.fault_level);
	}
	if (ws == GWALK_PAGE_FAULT)
		MUST(w.error_code == r.error_code);
	if (ws == GWALK_EPT_VIOLATION)
		MUST(w.exit_qual == r.exit_qual);
	if (ws == GWALK_NO_MEMORY)
		MUST(w.fault_gpa == r.fault_gpa);
	if (gm.format != PAGING_NONE) {
		MUST(w.last_level == r.last_level);
		for (unsigned l = r.last_level; l <= r.top_level; l++) {
			if (ws == GWALK_NO_MEMORY && l == r.last_level)
				continue;
			MUST(w.pte_gpa[l - 1] == r.entry_gpa[l - 1]);
			MUST(w.pte[l - 1] == r.entry[l - 1]);
		}
	}
	MUST(memcmp(mem_w, mem_r, sizeof(mem_w)) == 0);
	return 0;
}
