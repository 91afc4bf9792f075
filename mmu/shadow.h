/* Shadow paging: host page tables that mirror the guest's, found by
 * (guest frame, role). The hardware walks the shadow tables; every guest
 * page-table frame that has a shadow page is write-protected so changes to it
 * are seen (or the shadow page is marked unsync and resynchronised at the
 * next TLB flush the guest asks for).
 *
 * Host format (what CR3 points to while the guest runs): PAE tables with a
 * 4-entry root for guests with paging off, 32-bit or PAE paging; 4-level or
 * 5-level tables for 4- and 5-level guests (SDM Vol. 3A 4.4, 4.5).
 * Shadow leaves are always 4 KiB: a guest large page is shadowed by direct
 * shadow pages whose leaves cover it piece by piece.
 *
 * The VMM runs the guest with the real CR0.WP = 1 (owned by the host) and the
 * guest's CR4.SMEP/SMAP and EFER.NX; a guest CR0.WP = 0 is emulated here.
 * While the guest has paging off, the real CR4.SMEP and SMAP are 0 (the
 * identity shadow maps everything user-accessible, as paging-off access
 * is unrestricted at every CPL).
 * mmu/ never flushes: after a call, shadow_take_flush() says whether the TLB
 * (the guest's VPID or everything) must be flushed before the guest runs. */
#ifndef UMBRA_MMU_SHADOW_H
#define UMBRA_MMU_SHADOW_H

#include "mmu/ops.h"

/* Host (shadow) x86 page-table entry bits, SDM Vol. 3A 4.5 tables 4-15..4-20. */
#define SPTE_P		BIT(0)
#define SPTE_W		BIT(1)
#define SPTE_U		BIT(2)
#define SPTE_PWT	BIT(3)
#define SPTE_PCD	BIT(4)
#define SPTE_A		BIT(5)
#define SPTE_D		BIT(6)
#define SPTE_PS		BIT(7)	/* PAT in a 4 KiB PTE */
#define SPTE_G		BIT(8)
#define SPTE_XD		BIT(63)
#define SPTE_ADDR	GENMASK(51, 12)

/* Access kinds, both for permissions and for the access that faulted. */
#define ACC_X		BIT(0)
#define ACC_W		BIT(1)
#define ACC_U		BIT(2)
#define ACC_ALL		(ACC_X | ACC_W | ACC_U)

/* The role of a shadow page, compared as one word: two shadow pages for the
 * same guest frame differ exactly when their roles do.
 *
 * level		1 = page table ... 5 = PML5 (shadow level = guest level)
 * gpte_is_4byte	guest uses 32-bit paging (4-byte entries, 1024 per table)
 * quadrant		for 4-byte guests, which part of the guest table this
 *			shadow page covers: level 1: gva bit 21 (entries 0-511 or
 *			512-1023); level 2: gva bits 31:30 (one GiB each)
 * direct		no guest table behind it: a piece of a guest large page
 *			or guest paging off; gfn is the first frame covered
 * access		ACC_* the guest entries above this table allow (for
 *			direct pages: the whole walk, large leaf included); the
 *			shadow's non-leaf entries grant everything, so leaves
 *			carry access & (the guest leaf's own bits)
 * large		direct pages of a guest large page: that leaf's D, PWT, PCD
 *			and PAT bits (SP_LARGE_*), which its 4 KiB pieces inherit,
 *			so guest entries that differ in them never share pieces
 * cr0_wp ...		paging mode bits that change what an SPTE means
 * pae_root		the 4-entry PAE root (never hashed)
 * invalid		zapped while still pinned as a root; freed on unpin */
union sp_role {
	uint32_t word;
	struct {
		uint32_t level : 3;
		uint32_t gpte_is_4byte : 1;
		uint32_t quadrant : 2;
		uint32_t direct : 1;
		uint32_t access : 3;
		uint32_t cr0_wp : 1;
		uint32_t smep_andnot_wp : 1;
		uint32_t smap_andnot_wp : 1;
		uint32_t efer_nx : 1;
		uint32_t pae_root : 1;
		uint32_t invalid : 1;
		uint32_t large : 4;
		uint32_t unused : 12;
	};
};
_Static_assert(sizeof(union sp_role) == sizeof(uint32_t), "role compares as one word");
#define SP_LARGE_D	1
#define SP_LARGE_PWT	2
#define SP_LARGE_PCD	4
#define SP_LARGE_PAT	8

/* Location of one SPTE: a shadow page and an index into it. Used for parent
 * links (child -> the non-leaf SPTEs pointing at it) and for the reverse map
 * (gfn -> the leaf SPTEs mapping that frame). */
struct sp_link {
	struct sp_link *next;
	struct sp *sp;
	uint64_t gfn : 52;	/* reverse map only: the frame the leaf maps */
	uint64_t index : 9;
};

/* One shadow page table.
 * Invariants (checked by shadow_check):
 *  - a valid, non-PAE-root sp is in the hash bucket of (gfn, role) and no
 *    other sp there has the same key;
 *  - every sp is on the LRU list and in the hpa index;
 *  - nr_present == number of present entries in the table;
 *  - every present non-leaf entry (level > 1) points at a valid sp whose
 *    parents list holds exactly this (sp, index); every parent link
 *    points back to an entry holding this sp's hpa;
 *  - every present leaf entry (level 1) has exactly one reverse-map link
 *    and gfn_to_hfn(link gfn) == the entry's frame;
 *  - a non-direct sp that is not unsync makes its gfn write-protected: no
 *    writable leaf SPTE maps that gfn;
 *  - an sp with no parents is pinned (root_count > 0) or indirect: an
 *    unreferenced indirect page stays cached (write-protected, or unsync
 *    and synced when relinked) until the LRU or a zap takes it;
 *  - an invalid sp is pinned and not in the hash; it is freed on its last
 *    unpin (a PAE root becomes invalid when one of its four children is
 *    zapped, as the CPU loads PDPTEs only at CR3 load). */
struct sp {
	gfn_t gfn;
	union sp_role role;
	hpa_t hpa;
	uint64_t *spt;
	struct sp_link *parents;
	unsigned nr_present;
	unsigned root_count;	/* pins: current root, root cache, PAE root children */
	unsigned write_flood;	/* emulated guest writes since last use */
	bool unsync;
	uint32_t visit;		/* generation mark for bucket walks that may zap */
	struct sp *hash_next;
	struct sp *hpa_next;
	struct sp *lru_prev, *lru_next;
	struct sp *unsync_next;
};

/* The guest's paging mode as far as shadowing cares; vmm/ builds it. */
struct shadow_mode {
	unsigned guest_levels;	/* 0 paging off, 2 32-bit, 3 PAE, 4, 5 */
	bool cr0_wp, cr4_smep, cr4_smap, efer_nx;
	bool cr4_pse;		/* 32-bit paging: 4 MiB pages */
	unsigned guest_maxphyaddr;
};

/* What the guest walker found for one access, as the shadow needs it
 * (wired to mmu/walk.h by the caller). Guest levels use the shadow numbering:
 * 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4, 5 = PML5.
 *
 * gfn		frame the gva translates to (the 4 KiB frame, also inside a
 *		large page)
 * access	ACC_* allowed by the whole walk (U and W ANDed, X unless XD
 *		anywhere with EFER.NX), in the guest's own terms (before CR0.WP
 *		etc.); must agree with gpte[], else SHADOW_EINVAL
 * leaf_level	level of the guest leaf: 1 (4 KiB), 2 (2 or 4 MiB), 3 (1 GiB)
 * dirty	the guest leaf's D bit (after the walker set it for a write)
 * gpte[l]	the guest entry read at level l (leaf_level .. guest levels;
 *		for PAE the PDPTE register at 3)
 * table_gfn[l]	frame of the guest table holding gpte[l] */
struct shadow_gwalk {
	gfn_t gfn;
	unsigned access;
	unsigned leaf_level;
	bool dirty;
	uint64_t gpte[6];
	gfn_t table_gfn[6];
};

struct shadow_stats {
	uint64_t faults;
	uint64_t pages;			/* shadow table pages in use (pool) */
	uint64_t pages_allocated;	/* total ever */
	uint64_t pages_zapped;
	uint64_t lru_zaps;
	uint64_t rmap_entries;
	uint64_t parent_links;
	uint64_t root_cache_hits;
	uint64_t root_cache_misses;
	uint64_t unsync_pages;		/* total marked unsync */
	uint64_t syncs;
	uint64_t emulated_writes;
};

enum shadow_status {
	SHADOW_OK = 0,
	SHADOW_ENOMEM,		/* pool full of pinned pages, or alloc_page failed */
	SHADOW_NOT_RAM,		/* gfn not guest RAM: the caller emulates (MMIO) */
	SHADOW_EMULATE,		/* write to a frame holding guest page tables: emulate
				 * the instruction, then call shadow_guest_write() */
	SHADOW_NEED_RELOAD,	/* current root was zapped: call shadow_load_root() */
	SHADOW_EINVAL,		/* inconsistent input */
};

#define SHADOW_ROOT_CACHE	3
#define SHADOW_HASH_SIZE	512

struct shadow_root {
	struct sp *sp;		/* NULL: empty slot */
	gpa_t cr3;
	uint32_t mode_role;	/* role word of the mode (level 0) */
	uint64_t pdptes[4];	/* PAE guests: the PDPTE registers */
};

struct shadow {
	const struct mmu_ops *ops;
	unsigned host_maxphyaddr;
	unsigned capacity;		/* max shadow table pages */
	unsigned max_links;
	unsigned nr_pages;
	struct shadow_mode mode;
	union sp_role base_role;	/* mode bits, level 0 */
	struct shadow_root root;	/* current */
	struct shadow_root cache[SHADOW_ROOT_CACHE];	/* previous roots, [0] newest */
	struct sp **sp_hash;		/* by (gfn, role) */
	struct sp **hpa_hash;		/* by table hpa */
	struct sp_link **rmap_hash;	/* by hfn of the mapped frame */
	struct sp *free_sps;
	struct sp_link *free_links;
	unsigned free_link_count;
	struct sp *lru_head, *lru_tail;	/* head = oldest */
	struct sp *unsync_list;
	hpa_t meta;			/* chain of metadata object pages */
	hpa_t hash_pages[3];
	uint32_t visit_gen;
	bool need_flush;
	struct shadow_stats stats;
};

/* Set up an empty shadow MMU holding at most @capacity shadow table pages
 * and @max_links parent/reverse-map links (0: capacity * 512, never short). */
enum shadow_status shadow_init(struct shadow *s, const struct mmu_ops *ops, unsigned capacity,
			       unsigned max_links, unsigned host_maxphyaddr) __must_check;
void shadow_destroy(struct shadow *s);

/* Load the root for guest CR3 @cr3 in @mode (@pdptes: the PDPTE registers of
 * a PAE guest, else ignored). *@root_hpa receives the value for the real CR3.
 * Reuses a cached root when possible, and syncs unsync pages (a CR3 load
 * flushes the guest's non-global translations). */
enum shadow_status shadow_load_root(struct shadow *s, const struct shadow_mode *mode, gpa_t cr3,
				    const uint64_t pdptes[4], hpa_t *root_hpa) __must_check;
/* Install the shadow entries that make the access @fault_access (ACC_*) at
 * @gva succeed, given the guest walk @w that allowed it. */
enum shadow_status shadow_fault(struct shadow *s, gva_t gva, const struct shadow_gwalk *w,
				unsigned fault_access) __must_check;
/* INVLPG @gva: clear the shadow leaf for @gva under the current root. */
void shadow_invlpg(struct shadow *s, gva_t gva);
/* Resynchronise every unsync shadow page with the guest's tables. */
void shadow_sync_all(struct shadow *s);
/* The guest wrote @len bytes at @gpa (emulated write to a write-protected
 * page-table frame): drop the shadow entries the write may have changed. */
void shadow_guest_write(struct shadow *s, gpa_t gpa, unsigned len);
/* Letting the CPU do a write that shadow_fault() answered with
 * SHADOW_EMULATE (the VMM does not decode instructions).
 * shadow_unprotect() makes the leaf that maps @gva under the current root
 * writable (A and D preset); @supervisor_only also clears U, so a stepped
 * supervisor write cannot fault on SMAP or on CR0.WP = 0 emulation. Returns
 * false when no leaf maps @gva (the caller falls back to shadow_zap_gfn()).
 * Until the leaf is write-protected again the invariant "no writable leaf
 * maps a write-protected frame" is suspended for it, and the caller reports
 * every changed entry with shadow_guest_write():
 *  - single step: run exactly the faulting instruction, then
 *    shadow_reprotect(), which drops the leaf (the next access rebuilds it
 *    from the guest's tables) and asks for a flush;
 *  - open frame: leave the frame writable until the guest's next TLB flush,
 *    then shadow_protect_gfn() (the shadow lags the guest's table writes
 *    until then, as paging-structure caches may, SDM Vol. 3A 4.10.4). */
bool shadow_unprotect(struct shadow *s, gva_t gva, bool supervisor_only) __must_check;
void shadow_reprotect(struct shadow *s, gva_t gva);
/* Make every leaf mapping @gfn read-only again, under whatever root (ends
 * an open frame; asks for a flush when a leaf changed). */
void shadow_protect_gfn(struct shadow *s, gfn_t gfn);
/* Whether some in-sync shadow page shadows a guest table in @gfn (so its
 * leaves must be read-only). */
bool shadow_gfn_protected(const struct shadow *s, gfn_t gfn);
/* Zap every shadow page and mapping of @gfn (e.g. before its host frame
 * changes). */
void shadow_zap_gfn(struct shadow *s, gfn_t gfn);
/* Zap everything except the pinned roots' pages themselves. */
void shadow_zap_all(struct shadow *s);
/* Whether the TLB must be flushed before the guest runs again; clears it. */
bool shadow_take_flush(struct shadow *s);

/* Quadrant of a 4-byte guest table shadowed at @level for @gva. */
unsigned shadow_quadrant(unsigned level, gva_t gva);
/* Find the shadow page for (@gfn, @role), or NULL. */
struct sp *sp_lookup(const struct shadow *s, gfn_t gfn, union sp_role role);
/* Verify all invariants; NULL when they hold, else what is broken. */
const char *shadow_check(const struct shadow *s);

#endif
