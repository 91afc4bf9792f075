/* Reserved-bit and permission tables against values written out by hand
 * from the SDM entry-format tables (Vol. 3A 4.3-4.6, Vol. 3C 29.3). */
#include "mmu/perm.h"
#include "mmu/rsvd.h"
#include "tests/host/check.h"

static struct rsvd_table build(struct paging_mode m)
{
	struct rsvd_table t;

	rsvd_build(&t, &m);
	return t;
}

static void test_32bit(void)
{
	struct paging_mode m = { .cr0_pg = true, .cr4_pse = true, .maxphyaddr = 32 };
	struct rsvd_table t = build(m);

	/* 4 MiB PDE: bits 21:(M-19), M = min(MAXPHYADDR, 40) (Table 4-4). */
	CHECK_EQ(t.ps_bit[2], 0x80);
	CHECK_EQ(t.mask[2][1], 0x3fe000);	/* M=32: 21:13 */
	CHECK_EQ(t.mask[2][0], 0);
	CHECK_EQ(t.mask[1][0], 0);
	m.maxphyaddr = 36;
	t = build(m);
	CHECK_EQ(t.mask[2][1], 0x3e0000);	/* 21:17 */
	m.maxphyaddr = 40;
	t = build(m);
	CHECK_EQ(t.mask[2][1], 0x200000);	/* 21 */
	m.maxphyaddr = 52;
	t = build(m);
	CHECK_EQ(t.mask[2][1], 0x200000);
	/* CR4.PSE = 0: PS ignored, nothing reserved. */
	m.cr4_pse = false;
	t = build(m);
	CHECK_EQ(t.ps_bit[2], 0);
	CHECK_EQ(t.mask[2][1], 0);
}

static void test_pae(void)
{
	struct paging_mode m = { .cr0_pg = true, .cr4_pae = true, .efer_nx = true, .maxphyaddr = 36 };
	struct rsvd_table t = build(m);

	/* Tables 4-8 to 4-11: 62:M, plus 63 without NXE; 20:13 in a 2 MiB PDE. */
	CHECK_EQ(t.mask[1][0], 0x7ffffff000000000ull);
	CHECK_EQ(t.mask[2][0], 0x7ffffff000000000ull);
	CHECK_EQ(t.mask[2][1], 0x7ffffff0001fe000ull);
	CHECK_EQ(t.ps_bit[2], 0x80);
	CHECK_EQ(t.pae_pdpte, 0xfffffff0000001e6ull);
	m.efer_nx = false;
	t = build(m);
	CHECK_EQ(t.mask[1][0], 0xfffffff000000000ull);
	CHECK_EQ(t.mask[2][1], 0xfffffff0001fe000ull);

	/* PDPTE registers (SDM 4.4.1): checked only when P = 1. */
	m.maxphyaddr = 40;
	CHECK(pae_pdpte_valid(&m, 0));
	CHECK(pae_pdpte_valid(&m, 0xfffffffffffffffeull));	/* P = 0: anything */
	CHECK(pae_pdpte_valid(&m, 0xfffffff001ull));		/* address bits 39:12 */
	CHECK(!pae_pdpte_valid(&m, 0x10000000001ull));		/* bit 40 = M */
	CHECK(pae_pdpte_valid(&m, 0x1 | 0x18 | 0xe00));		/* PWT, PCD, ignored 11:9 */
	for (unsigned b = 1; b <= 8; b++)
		CHECK(pae_pdpte_valid(&m, 1 | BIT(b)) == (b == 3 || b == 4));
	CHECK(!pae_pdpte_valid(&m, 1 | BIT(63)));		/* no XD in PDPTEs */
	m.maxphyaddr = 52;
	CHECK(pae_pdpte_valid(&m, 1 | BIT(51)));
	CHECK(!pae_pdpte_valid(&m, 1 | BIT(52)));
	CHECK_EQ(rsvd_pae_pdpte_mask(52), 0xfff00000000001e6ull);
}

static void test_long(void)
{
	struct paging_mode m = { .cr0_pg = true, .cr4_pae = true, .efer_lma = true, .efer_nx = true,
				 .gbpages = true, .maxphyaddr = 46 };
	struct rsvd_table t = build(m);

	/* Tables 4-14 to 4-20: 51:M; PS in PML4E; 29:13 (1 GiB), 20:13 (2 MiB). */
	CHECK_EQ(t.mask[5][0], 0);	/* 4-level: no PML5 */
	CHECK_EQ(t.mask[4][0], 0x000fc00000000080ull);
	CHECK_EQ(t.mask[3][0], 0x000fc00000000000ull);
	CHECK_EQ(t.mask[3][1], 0x000fc0003fffe000ull);
	CHECK_EQ(t.mask[2][0], 0x000fc00000000000ull);
	CHECK_EQ(t.mask[2][1], 0x000fc000001fe000ull);
	CHECK_EQ(t.mask[1][0], 0x000fc00000000000ull);
	CHECK_EQ(t.ps_bit[4], 0);
	CHECK_EQ(t.ps_bit[3], 0x80);
	CHECK_EQ(t.ps_bit[2], 0x80);
	/* Without 1 GiB pages PS is reserved in a PDPTE. */
	m.gbpages = false;
	t = build(m);
	CHECK_EQ(t.ps_bit[3], 0);
	CHECK_EQ(t.mask[3][0], 0x000fc00000000080ull);
	/* MAXPHYADDR 52 and NXE = 0: only XD (and the PS bits) remain. */
	m.maxphyaddr = 52;
	m.efer_nx = false;
	m.cr4_la57 = true;
	t = build(m);
	CHECK_EQ(t.mask[1][0], 0x8000000000000000ull);
	CHECK_EQ(t.mask[5][0], 0x8000000000000080ull);
	CHECK_EQ(t.mask[4][0], 0x8000000000000080ull);
	CHECK_EQ(t.mask[2][1], 0x80000000001fe000ull);
}

static void test_ept(void)
{
	struct paging_mode m = { .ept = true, .ept_levels = 4, .gbpages = true, .maxphyaddr = 39 };
	struct rsvd_table t = build(m);

	/* Vol. 3C Tables 29-1 to 29-6: 51:M; 7:3 in PML4E and non-leaf entries
	 * (bit 7 the page bit in PDPTE/PDE); 29:12 and 20:12 in large leaves. */
	CHECK_EQ(t.mask[5][0], 0);
	CHECK_EQ(t.mask[4][0], 0x000fff80000000f8ull);
	CHECK_EQ(t.mask[3][0], 0x000fff8000000078ull);
	CHECK_EQ(t.mask[3][1], 0x000fff803ffff000ull);
	CHECK_EQ(t.mask[2][0], 0x000fff8000000078ull);
	CHECK_EQ(t.mask[2][1], 0x000fff80001ff000ull);
	CHECK_EQ(t.mask[1][0], 0x000fff8000000000ull);
	/* Misconfigured XWR: 010b and 110b, and 100b without execute-only. */
	CHECK_EQ(t.ept_xwr_bad, 0x54);
	CHECK_EQ(t.ept_mt_bad, 0x8c);	/* memory types 2, 3, 7 */
	m.ept_exec_only = true;
	m.ept_levels = 5;
	m.gbpages = false;
	t = build(m);
	CHECK_EQ(t.ept_xwr_bad, 0x44);
	CHECK_EQ(t.mask[5][0], 0x000fff80000000f8ull);
	CHECK_EQ(t.ps_bit[3], 0);
	CHECK_EQ(t.mask[3][0], 0x000fff80000000f8ull);
}

/* Permission bitmaps: bit (W | X<<1 | U<<2) of fault[access] (SDM 4.6). */
static void test_perm(void)
{
	struct paging_mode m = { .cr0_pg = true, .cr0_wp = true, .cr4_pae = true, .efer_nx = true };
	struct perm_table t;

	perm_build(&t, &m);
	CHECK_EQ(t.fault[0], 0x00);				/* supervisor read */
	CHECK_EQ(t.fault[ACC_WRITE], 0x55);			/* needs W */
	CHECK_EQ(t.fault[ACC_USER], 0x0f);			/* needs U */
	CHECK_EQ(t.fault[ACC_USER | ACC_WRITE], 0x5f);		/* U and W */
	CHECK_EQ(t.fault[ACC_USER | ACC_FETCH], 0x3f);		/* U and X */
	CHECK_EQ(t.fault[ACC_FETCH], 0x33);			/* needs X */
	CHECK_EQ(t.fault[ACC_FETCH | ACC_WRITE], 0x33);		/* fetch wins */
	CHECK_EQ(t.fault[ACC_IMPLICIT | ACC_USER], 0x00);	/* implicit is supervisor */
	m.cr0_wp = false;
	perm_build(&t, &m);
	CHECK_EQ(t.fault[ACC_WRITE], 0x00);
	CHECK_EQ(t.fault[ACC_USER | ACC_WRITE], 0x5f);
	m.cr4_smep = true;
	perm_build(&t, &m);
	CHECK_EQ(t.fault[ACC_FETCH], 0xf3);			/* not from user pages */
	CHECK_EQ(t.fault[ACC_USER | ACC_FETCH], 0x3f);
	m.cr4_smap = true;
	m.cr0_wp = true;
	perm_build(&t, &m);
	CHECK_EQ(t.fault[0], 0xf0);				/* AC = 0 */
	CHECK_EQ(t.fault[ACC_AC], 0x00);
	CHECK_EQ(t.fault[ACC_AC | ACC_WRITE], 0x55);
	CHECK_EQ(t.fault[ACC_AC | ACC_IMPLICIT], 0xf0);		/* AC ignored */
	CHECK_EQ(t.fault[ACC_FETCH | ACC_AC], 0xf3);		/* SMAP: data only */
	m.efer_nx = false;
	perm_build(&t, &m);
	CHECK_EQ(t.fault[ACC_USER | ACC_FETCH], 0x0f);		/* no XD */
	CHECK(perm_faults(&t, ACC_USER, PERM_R | PERM_W | PERM_X));
	CHECK(!perm_faults(&t, ACC_USER, PERM_ALL));
}

/* Protection keys: bit (AD | WD << 1) of pk_fault[access] (SDM 4.6.2). */
static void test_pkeys(void)
{
	struct paging_mode m = { .cr0_pg = true, .cr0_wp = true, .cr4_pae = true, .efer_lma = true,
				 .cr4_pke = true };
	struct perm_table t;

	perm_build(&t, &m);
	CHECK_EQ(t.pk_fault[0], 0x0a);				/* AD */
	CHECK_EQ(t.pk_fault[ACC_USER], 0x0a);
	CHECK_EQ(t.pk_fault[ACC_WRITE], 0x0e);			/* AD or WD */
	CHECK_EQ(t.pk_fault[ACC_USER | ACC_WRITE], 0x0e);
	CHECK_EQ(t.pk_fault[ACC_FETCH], 0);			/* not for fetches */
	CHECK_EQ(t.pk_fault[ACC_USER | ACC_FETCH], 0);
	CHECK(perm_pk_faults(&t, ACC_WRITE, 0x2u << 6, 3));
	CHECK(!perm_pk_faults(&t, ACC_WRITE, 0x2u << 6, 2));
	m.cr0_wp = false;
	perm_build(&t, &m);
	CHECK_EQ(t.pk_fault[ACC_WRITE], 0x0a);			/* WD: user or WP only */
	CHECK_EQ(t.pk_fault[ACC_IMPLICIT | ACC_USER | ACC_WRITE], 0x0a);
	CHECK_EQ(t.pk_fault[ACC_USER | ACC_WRITE], 0x0e);
	m.efer_lma = false;					/* PAE: no keys */
	perm_build(&t, &m);
	CHECK_EQ(t.pk_fault[ACC_USER | ACC_WRITE], 0);
}

/* Entry format from CR0.PG, CR4.PAE, EFER.LMA, CR4.LA57 (SDM 4.1.1). */
static void test_format(void)
{
	struct paging_mode m = { .maxphyaddr = 36 };

	CHECK_EQ(paging_mode_format(&m), PAGING_NONE);
	m.cr4_pae = m.efer_lma = m.cr4_la57 = true;	/* PG = 0 wins */
	CHECK_EQ(paging_mode_format(&m), PAGING_NONE);
	m = (struct paging_mode){ .cr0_pg = true, .cr4_la57 = true };
	CHECK_EQ(paging_mode_format(&m), PAGING_32);
	m.cr4_pae = true;				/* LA57 needs LMA */
	CHECK_EQ(paging_mode_format(&m), PAGING_PAE);
	m.efer_lma = true;
	CHECK_EQ(paging_mode_format(&m), PAGING_5LEVEL);
	m.cr4_la57 = false;
	CHECK_EQ(paging_mode_format(&m), PAGING_4LEVEL);
	m = (struct paging_mode){ .ept = true, .ept_levels = 5 };
	CHECK_EQ(paging_mode_format(&m), PAGING_EPT5);
	m.ept_levels = 4;
	CHECK_EQ(paging_mode_format(&m), PAGING_EPT4);
	CHECK_EQ(paging_format_levels(PAGING_32), 2);
	CHECK_EQ(paging_format_levels(PAGING_PAE), 3);
	CHECK_EQ(paging_format_levels(PAGING_EPT5), 5);
}

int main(void)
{
	test_format();
	test_32bit();
	test_pae();
	test_long();
	test_ept();
	test_perm();
	test_pkeys();
	return check_done("rsvd");
}
