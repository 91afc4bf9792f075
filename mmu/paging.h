/* x86 paging modes and paging-structure entry bits: the inputs of the guest
 * walker (mmu/walk.h) and of the reserved-bit and permission tables.
 * SDM Vol. 3A chapter 4 (ordinary paging), Vol. 3C 29.3 (EPT). */
#ifndef UMBRA_MMU_PAGING_H
#define UMBRA_MMU_PAGING_H

#include "include/bits.h"
#include "include/types.h"

/* Ordinary paging-structure entries (SDM Vol. 3A 4.3-4.5, Tables 4-4 to 4-20).
 * Levels are numbered from the leaf up: 1 PTE, 2 PDE, 3 PDPTE, 4 PML4E, 5 PML5E. */
#define PTE_P		BIT(0)
#define PTE_W		BIT(1)
#define PTE_U		BIT(2)
#define PTE_PWT		BIT(3)
#define PTE_PCD		BIT(4)
#define PTE_A		BIT(5)
#define PTE_D		BIT(6)	/* in entries that map a page */
#define PTE_PS		BIT(7)	/* PDE, PDPTE: entry maps a page */
#define PTE_PAT		BIT(7)	/* PTE */
#define PTE_G		BIT(8)
#define PTE_PAT_LARGE	BIT(12)	/* PDE/PDPTE mapping a page */
#define PTE_NX		BIT(63)	/* XD; reserved when IA32_EFER.NXE = 0 */
#define PTE_PKEY_SHIFT	59	/* 4/5-level leaf: protection key in bits 62:59 */
#define PTE_PKEY_MASK	GENMASK(62, 59)

/* 32-bit paging, PDE mapping a 4 MiB page (Table 4-4): bits 20:13 hold
 * physical-address bits 39:32 (PSE-36), bit 21 is reserved. */
#define PDE32_PSE36_SHIFT	13
#define PDE32_PSE36_MASK	GENMASK(20, 13)

#define PAGE_SIZE_4K	(1ull << 12)
#define PAGE_SIZE_2M	(1ull << 21)
#define PAGE_SIZE_4M	(1ull << 22)
#define PAGE_SIZE_1G	(1ull << 30)

/* Page-fault error code (SDM Vol. 3A 4.7). */
#define PFEC_P		BIT(0)	/* 0: not present; 1: protection or reserved bit */
#define PFEC_W		BIT(1)	/* access was a write */
#define PFEC_U		BIT(2)	/* access was a user-mode access (CPL 3, not implicit) */
#define PFEC_RSVD	BIT(3)	/* a reserved bit was set in some entry */
#define PFEC_I		BIT(4)	/* instruction fetch, when SMEP or (PAE and NXE) */
#define PFEC_PK		BIT(5)	/* data access denied by PKRU (SDM 4.6.2) */

/* EPT violation exit qualification (SDM Vol. 3C 28.2.1 / Table 28-7). */
#define EPT_QUAL_READ		BIT(0)
#define EPT_QUAL_WRITE		BIT(1)
#define EPT_QUAL_FETCH		BIT(2)
#define EPT_QUAL_READABLE	BIT(3)	/* AND of bit 0 over the entries used */
#define EPT_QUAL_WRITABLE	BIT(4)	/* AND of bit 1 */
#define EPT_QUAL_EXECUTABLE	BIT(5)	/* AND of bit 2 */
#define EPT_QUAL_GLA_VALID	BIT(7)	/* guest linear-address field valid */
#define EPT_QUAL_GLA_XLAT	BIT(8)	/* access was to the translation of the GLA,
					   not to a guest paging-structure entry */

/* Access types: the walker's input. ACC_FETCH wins over ACC_WRITE. */
#define ACC_WRITE	BIT(0)
#define ACC_USER	BIT(1)	/* CPL 3 (ignored with ACC_IMPLICIT) */
#define ACC_FETCH	BIT(2)
#define ACC_IMPLICIT	BIT(3)	/* implicit supervisor access (GDT, IDT, TSS...) */
#define ACC_AC		BIT(4)	/* EFLAGS.AC, relevant to SMAP only */
#define ACC_PAGING	BIT(5)	/* EPT: access to a guest paging-structure entry */
#define ACC_GLA		BIT(6)	/* EPT: a guest linear address exists (qual. bit 7) */
#define ACC_PERM_MASK	(ACC_WRITE | ACC_USER | ACC_FETCH | ACC_IMPLICIT | ACC_AC)

/* Effective permissions of a translation, ANDed over the levels. For ordinary
 * paging R is always set and X means "XD clear at every level". */
#define PERM_R		BIT(0)
#define PERM_W		BIT(1)
#define PERM_X		BIT(2)
#define PERM_U		BIT(3)
#define PERM_ALL	(PERM_R | PERM_W | PERM_X | PERM_U)

enum paging_format {
	PAGING_NONE,		/* CR0.PG = 0: linear = physical */
	PAGING_32,		/* 2-level, 4-byte entries, 4 KiB and 4 MiB pages */
	PAGING_PAE,		/* PDPTE registers + 2 levels, 4 KiB and 2 MiB pages */
	PAGING_4LEVEL,
	PAGING_5LEVEL,
	PAGING_EPT4,
	PAGING_EPT5,
	PAGING_NR_FORMATS,
};

/* The paging configuration as values, built by vmm/ from guest CR0, CR4,
 * EFER and CPUID (or from EPTP and IA32_VMX_EPT_VPID_CAP for EPT). Never
 * read from registers inside mmu/. */
struct paging_mode {
	bool cr0_pg, cr0_wp;
	bool cr4_pae, cr4_pse, cr4_smep, cr4_smap, cr4_la57, cr4_pke;
	bool efer_nx, efer_lma;
	/* PKRU (SDM 4.6.2), used with CR4.PKE in 4/5-level paging. It is read
	 * by each walk, so it may be updated in place in a struct gwalk_mode
	 * without rebuilding the tables. */
	uint32_t pkru;
	bool gbpages;		/* 1 GiB pages: CPUID.80000001H:EDX[26]; for EPT, cap bit 17 */
	uint8_t maxphyaddr;	/* CPUID.80000008H:EAX[7:0], 32..52 */
	/* Guest-physical translation through EPT (SDM Vol. 3C 29.3) instead of
	 * the fields above. 2 MiB EPT pages are assumed supported. */
	bool ept;
	uint8_t ept_levels;	/* 4 or 5: EPTP bits 5:3 plus 1 */
	bool ept_ad;		/* EPTP bit 6 */
	bool ept_exec_only;	/* IA32_VMX_EPT_VPID_CAP bit 0 */
};

/* Which entry format a mode walks (SDM Vol. 3A 4.1.1, Table 4-1). */
static inline enum paging_format paging_mode_format(const struct paging_mode *m)
{
	if (m->ept)
		return m->ept_levels == 5 ? PAGING_EPT5 : PAGING_EPT4;
	if (!m->cr0_pg)
		return PAGING_NONE;
	if (!m->cr4_pae)
		return PAGING_32;
	if (!m->efer_lma)
		return PAGING_PAE;
	return m->cr4_la57 ? PAGING_5LEVEL : PAGING_4LEVEL;
}

static inline unsigned paging_format_levels(enum paging_format f)
{
	static const unsigned char levels[PAGING_NR_FORMATS] = {
		[PAGING_NONE] = 0, [PAGING_32] = 2, [PAGING_PAE] = 3,
		[PAGING_4LEVEL] = 4, [PAGING_5LEVEL] = 5, [PAGING_EPT4] = 4, [PAGING_EPT5] = 5,
	};
	return levels[f];
}

static inline bool paging_format_is_ept(enum paging_format f)
{
	return f == PAGING_EPT4 || f == PAGING_EPT5;
}

_Static_assert(PTE_P == 0x1 && PTE_W == 0x2 && PTE_U == 0x4, "P, R/W, U/S are bits 0-2");
_Static_assert(PTE_A == 0x20 && PTE_D == 0x40 && PTE_PS == 0x80, "A, D, PS are bits 5-7");
_Static_assert(PTE_NX == 0x8000000000000000ull, "XD is bit 63");
_Static_assert(PDE32_PSE36_MASK == 0x1fe000, "PSE-36 address bits 20:13");
_Static_assert(PTE_PKEY_MASK == 0x7800000000000000ull, "protection key bits 62:59");
_Static_assert(PFEC_P == 1 && PFEC_W == 2 && PFEC_U == 4 && PFEC_RSVD == 8 && PFEC_I == 16 &&
	       PFEC_PK == 32,
	       "#PF error code layout");
_Static_assert(EPT_QUAL_READABLE == 8 && EPT_QUAL_GLA_VALID == 0x80 && EPT_QUAL_GLA_XLAT == 0x100,
	       "EPT violation qualification layout");
_Static_assert((ACC_PERM_MASK & (ACC_PAGING | ACC_GLA)) == 0 && ACC_PERM_MASK < 32,
	       "permission-relevant access bits index a 32-entry table");

#endif
