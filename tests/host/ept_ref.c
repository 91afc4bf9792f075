/* Naive reference EPT walk; see ept_ref.h. */
#include "tests/host/ept_ref.h"

static int bad_rwx(uint64_t e, bool exec_only)
{
	unsigned rwx = e & 7;

	if (rwx == 2 || rwx == 6)	/* write without read */
		return 1;
	if (rwx == 4 && !exec_only)	/* execute-only unsupported */
		return 1;
	return 0;
}

void ept_ref_translate(uint64_t *(*read_table)(void *ctx, uint64_t hpa), void *ctx,
		       uint64_t eptp, bool exec_only, unsigned maxphyaddr, uint64_t gpa,
		       struct ept_ref_result *r)
{
	int walk_len = (int)((eptp >> 3) & 7) + 1;		/* 4 or 5 */
	uint64_t addr_mask = ((1ull << maxphyaddr) - 1) & ~0xfffull;	/* bits N-1:12 */
	uint64_t table = eptp & addr_mask;
	unsigned perm = 7;

	*r = (struct ept_ref_result){ .kind = EPT_REF_NOT_PRESENT };
	/* Levels counted from the top: 5 = PML5 ... 1 = PT; bit position of index. */
	for (int lvl = walk_len; lvl >= 1; lvl--) {
		int lo = 12 + 9 * (lvl - 1);
		uint64_t idx = (gpa >> lo) & 0x1ff;
		uint64_t e = read_table(ctx, table)[idx];
		int can_be_large = (lvl == 2 || lvl == 3);
		int is_leaf;

		if ((e & 7) == 0)
			return;
		if (bad_rwx(e, exec_only)) {
			r->kind = EPT_REF_MISCONFIG;
			r->why = "rwx";
			return;
		}
		if (maxphyaddr < 52 && (e & ((1ull << 52) - 1) & ~((1ull << maxphyaddr) - 1))) {
			r->kind = EPT_REF_MISCONFIG;	/* bits 51:N reserved */
			r->why = "address bits above MAXPHYADDR";
			return;
		}
		is_leaf = (lvl == 1) || (can_be_large && (e & 0x80));
		if (lvl >= 4 && (e & 0xf8)) {
			r->kind = EPT_REF_MISCONFIG;	/* PML5E/PML4E bits 7:3 reserved */
			r->why = "PML4E/PML5E bits 7:3";
			return;
		}
		if (!is_leaf && (e & 0x78)) {
			r->kind = EPT_REF_MISCONFIG;	/* non-leaf bits 6:3 reserved */
			r->why = "non-leaf bits 6:3";
			return;
		}
		perm &= (unsigned)(e & 7);
		if (!is_leaf) {
			table = e & addr_mask;
			continue;
		}
		unsigned mt = (e >> 3) & 7;
		if (mt == 2 || mt == 3 || mt == 7) {
			r->kind = EPT_REF_MISCONFIG;
			r->why = "memory type";
			return;
		}
		uint64_t size = 1ull << lo;
		if (e & addr_mask & (size - 1)) {
			r->kind = EPT_REF_MISCONFIG;	/* large page: bits lo-1:12 reserved */
			r->why = "large page alignment";
			return;
		}
		r->kind = EPT_REF_MAPPED;
		r->hpa = (e & addr_mask) + (gpa & (size - 1));
		r->perm = perm;
		r->mt = mt;
		r->ipat = (e >> 6) & 1;
		r->page_size = size;
		return;
	}
}
