/* Reserved-bit masks, straight from the entry-format tables of the SDM. */
#include "mmu/rsvd.h"
#include "mmu/ept.h"
#include "mmu/ops.h"

/* Bits 63:from, or 0 when from is 64. */
static uint64_t bits_from(unsigned from)
{
	return from >= 64 ? 0 : GENMASK(63, from);
}

/* Physical-address bits 51:M, reserved in every 64-bit entry format. */
static uint64_t above_maxphyaddr(unsigned maxphyaddr)
{
	return maxphyaddr >= 52 ? 0 : GENMASK(51, maxphyaddr);
}

uint64_t rsvd_pae_pdpte_mask(unsigned maxphyaddr)
{
	return GENMASK(2, 1) | GENMASK(8, 5) | bits_from(maxphyaddr);
}

bool pae_pdpte_valid(const struct paging_mode *m, uint64_t pdpte)
{
	return !(pdpte & PTE_P) || !(pdpte & rsvd_pae_pdpte_mask(m->maxphyaddr));
}

/* 32-bit paging (Tables 4-4 to 4-6): only a PDE mapping a 4 MiB page has
 * reserved bits, 21:(M-19) with M = min(MAXPHYADDR, 40); bits (M-20):13 hold
 * physical-address bits (M-1):32. With CR4.PSE = 0 the PS bit is ignored. */
static void build_32(struct rsvd_table *t, const struct paging_mode *m)
{
	unsigned m32 = MIN(m->maxphyaddr, 40u);

	if (m->cr4_pse) {
		t->ps_bit[2] = PTE_PS;
		t->mask[2][1] = GENMASK(21, m32 - 19);
	}
}

/* PAE paging (Tables 4-8 to 4-11): 62:M reserved, XD reserved without NXE,
 * 20:13 in a 2 MiB PDE. PDPTEs are checked on load, never by the walk. */
static void build_pae(struct rsvd_table *t, const struct paging_mode *m)
{
	uint64_t common = GENMASK(62, m->maxphyaddr) | (m->efer_nx ? 0 : PTE_NX);

	t->pae_pdpte = rsvd_pae_pdpte_mask(m->maxphyaddr);
	t->ps_bit[2] = PTE_PS;
	t->mask[2][0] = common;
	t->mask[2][1] = common | GENMASK(20, 13);
	t->mask[1][0] = common;
}

/* 4- and 5-level paging (Tables 4-14 to 4-20): 51:M reserved, 62:52 ignored,
 * XD reserved without NXE; PS reserved in PML5E/PML4E, and in a PDPTE when
 * 1 GiB pages are not supported; 29:13 in a 1 GiB PDPTE, 20:13 in a 2 MiB PDE. */
static void build_long(struct rsvd_table *t, const struct paging_mode *m)
{
	uint64_t common = above_maxphyaddr(m->maxphyaddr) | (m->efer_nx ? 0 : PTE_NX);

	t->mask[5][0] = m->cr4_la57 ? common | PTE_PS : 0;
	t->mask[4][0] = common | PTE_PS;
	if (m->gbpages) {
		t->ps_bit[3] = PTE_PS;
		t->mask[3][0] = common;
		t->mask[3][1] = common | GENMASK(29, 13);
	} else {
		t->mask[3][0] = common | PTE_PS;
	}
	t->ps_bit[2] = PTE_PS;
	t->mask[2][0] = common;
	t->mask[2][1] = common | GENMASK(20, 13);
	t->mask[1][0] = common;
}

/* EPT (SDM Vol. 3C 29.3.2 Tables 29-1 to 29-6, misconfigurations 29.3.3.1):
 * 51:M reserved everywhere; 7:3 in PML5E/PML4E and in non-leaf PDPTE/PDE
 * (bit 7 selects a page in PDPTE/PDE); 29:12 in a 1 GiB PDPTE, 20:12 in a
 * 2 MiB PDE. Bits 2:0 = 010b or 110b (write without read) always, 100b
 * without execute-only support; leaf memory types 2, 3 and 7. */
static void build_ept(struct rsvd_table *t, const struct paging_mode *m)
{
	uint64_t common = above_maxphyaddr(m->maxphyaddr);

	t->mask[5][0] = m->ept_levels == 5 ? common | GENMASK(7, 3) : 0;
	t->mask[4][0] = common | GENMASK(7, 3);
	if (m->gbpages) {
		t->ps_bit[3] = EPT_LEAF;
		t->mask[3][0] = common | GENMASK(6, 3);
		t->mask[3][1] = common | GENMASK(29, 12);
	} else {
		t->mask[3][0] = common | GENMASK(7, 3);
	}
	t->ps_bit[2] = EPT_LEAF;
	t->mask[2][0] = common | GENMASK(6, 3);
	t->mask[2][1] = common | GENMASK(20, 12);
	t->mask[1][0] = common;
	t->ept_xwr_bad = BIT(EPT_W) | BIT(EPT_W | EPT_X) | (m->ept_exec_only ? 0 : BIT(EPT_X));
	t->ept_mt_bad = BIT(2) | BIT(3) | BIT(7);
}

void rsvd_build(struct rsvd_table *t, const struct paging_mode *m)
{
	*t = (struct rsvd_table){ 0 };
	MMU_BUG_ON(m->maxphyaddr < 32 || m->maxphyaddr > 52);
	switch (paging_mode_format(m)) {
	case PAGING_NONE:
		break;
	case PAGING_32:
		build_32(t, m);
		break;
	case PAGING_PAE:
		build_pae(t, m);
		break;
	case PAGING_4LEVEL:
	case PAGING_5LEVEL:
		build_long(t, m);
		break;
	case PAGING_EPT4:
	case PAGING_EPT5:
		build_ept(t, m);
		break;
	default:
		MMU_BUG_ON(1);
	}
}

_Static_assert(EPT_W == BIT(1) && EPT_X == BIT(2), "XWR index of ept_xwr_bad");
