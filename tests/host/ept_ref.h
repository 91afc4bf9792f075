/* Reference EPT translation for tests, written naively from the SDM
 * (Vol. 3C 29.3.2 translation, 29.3.3.1 misconfigurations). Shares no code
 * with mmu/ept.c. */
#ifndef UMBRA_TESTS_EPT_REF_H
#define UMBRA_TESTS_EPT_REF_H

#include <stdbool.h>
#include <stdint.h>

enum ept_ref_kind {
	EPT_REF_MAPPED,
	EPT_REF_NOT_PRESENT,	/* would be an EPT violation on any access */
	EPT_REF_MISCONFIG,
};

struct ept_ref_result {
	enum ept_ref_kind kind;
	uint64_t hpa;		/* translation of the gpa itself */
	unsigned perm;		/* effective R/W/X: AND over all levels */
	unsigned mt;		/* leaf memory type */
	bool ipat;
	uint64_t page_size;
	const char *why;	/* misconfiguration reason */
};

/* @read_table returns a pointer to the 512 entries of the table at @hpa.
 * @eptp is an EPTP value (25.6.11) giving the root and walk length. */
void ept_ref_translate(uint64_t *(*read_table)(void *ctx, uint64_t hpa), void *ctx,
		       uint64_t eptp, bool exec_only, unsigned maxphyaddr, uint64_t gpa,
		       struct ept_ref_result *r);

#endif
