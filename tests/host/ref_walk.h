/* Host-test support for the walker: fake guest memory (host_env.c) and an
 * independent reference model of x86 and EPT page walks (ref_walk.c). */
#ifndef UMBRA_TESTS_REF_WALK_H
#define UMBRA_TESTS_REF_WALK_H

#include "mmu/ops.h"
#include "mmu/paging.h"

/* host_env.c: guest-physical memory [0, size) in one buffer. Every
 * successful cmpxchg is logged. With race_countdown = n > 0, the n-th
 * cmpxchg instead XORs race_xor into the entry and fails, as if another
 * agent had written it first (race_gpa, race_nlog record where and when). */
#define FAKEMEM_LOG	16
struct fakemem {
	struct mmu_ops ops;
	uint8_t *bytes;
	size_t size;
	unsigned long reads;
	unsigned nlog;
	gpa_t log[FAKEMEM_LOG];
	uint64_t log_val[FAKEMEM_LOG];	/* value written */
	int race_countdown;
	bool race_always;		/* every cmpxchg races */
	uint64_t race_xor;
	gpa_t race_gpa;			/* where the race fired */
	unsigned race_nlog;		/* writes logged before it */
	bool wrap;			/* size is a power of two and every gpa
					   wraps into it (for fuzzing) */
};

void fakemem_init(struct fakemem *fm, void *buf, size_t size);
uint64_t fakemem_read(const struct fakemem *fm, gpa_t gpa, unsigned len);
void fakemem_write(struct fakemem *fm, gpa_t gpa, uint64_t val, unsigned len);

/* ref_walk.c: the reference walk. It shares no code with mmu/ (only the
 * struct paging_mode and ACC_* inputs): every bit is spelled out from the
 * SDM prose. Outcome codes mirror enum gwalk_status by name. */
enum ref_status {
	REF_OK,
	REF_PAGE_FAULT,
	REF_EPT_VIOLATION,
	REF_EPT_MISCONFIG,
	REF_NO_MEMORY,
};

struct ref_result {
	enum ref_status status;
	uint64_t gpa, page_size;
	uint32_t error_code;
	uint64_t exit_qual;
	unsigned top_level, last_level;	/* entries [last_level..top_level] valid */
	unsigned fault_level;		/* 0 for a rights fault */
	uint64_t entry_gpa[5], entry[5];	/* by level - 1, after A/D updates */
	uint64_t fault_gpa;
};

enum ref_status ref_walk(const struct paging_mode *m, const struct mmu_ops *ops, uint64_t root,
			 const uint64_t pdpte[4], uint64_t addr, unsigned access,
			 struct ref_result *r);

#endif
