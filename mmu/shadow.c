/* Role-tagged shadow pages (see shadow.h for the model and invariants).
 *
 * Permissions: the shadow's non-leaf entries are always P|W|U (no XD); the
 * U/W/X restriction of the guest's upper levels travels down in role.access,
 * so a leaf gets role.access & (the guest leaf's own bits). Two guest paths
 * reaching one guest table with different upper permissions therefore get
 * two shadow pages, and the hardware (CR0.WP = 1) sees exactly the guest's
 * combined permission at each leaf, minus write protection and D tracking.
 *
 * Shadow levels equal guest levels; the PAE root is level 3 with four
 * entries (SDM Vol. 3A 4.4.1) that the CPU loads at CR3 load, so all four
 * are filled when the root is built and pinned until it goes away. */
#include "mmu/shadow.h"

#define SPT_ENTRIES	512
#define FOUR_GIB	(1ull << 32)
#define META_HDR	64	/* object pages start with the next-page link */

/* Guest x86 entries share the shadow's bit positions (SDM Vol. 3A 4.3-4.5). */
#define GPTE_P		SPTE_P
#define GPTE_W		SPTE_W
#define GPTE_U		SPTE_U
#define GPTE_PWT	SPTE_PWT
#define GPTE_PCD	SPTE_PCD
#define GPTE_A		SPTE_A
#define GPTE_D		SPTE_D
#define GPTE_PAT_4K	BIT(7)
#define GPTE_G		SPTE_G
#define GPTE_PAT_LARGE	BIT(12)
#define GPTE_XD		BIT(63)

/* Non-leaf entries carry full access; PAE root entries only P (4.4.1: bits
 * 2:1 and 8:5 of a PDPTE are reserved). */
#define SPTE_NONLEAF	(SPTE_P | SPTE_W | SPTE_U | SPTE_A)

_Static_assert(SPTE_ADDR == 0x000ffffffffff000ull, "SPTE address bits 51:12");
_Static_assert(SPTE_PS == 0x80 && SPTE_G == 0x100 && SPTE_XD == 1ull << 63, "SPTE layout");
_Static_assert(ACC_ALL == 7, "three access bits fit role.access");

/* ---- small helpers --------------------------------------------------------- */

static inline unsigned spt_index(gva_t gva, unsigned level)
{
	return (gva >> (PAGE_SHIFT + 9 * (level - 1))) & (SPT_ENTRIES - 1);
}

/* 4-byte guest tables are twice (PT) or eight times (PD) what one shadow page
 * covers under PAE:
 *   level 1: guest PT entries [512q, 512q + 511], q = gva bit 21
 *   level 2: guest PD entries [256q, 256q + 255], q = gva bits 31:30 */
unsigned shadow_quadrant(unsigned level, gva_t gva)
{
	if (level == 1)
		return (gva >> 21) & 1;
	if (level == 2)
		return (gva >> 30) & 3;
	return 0;
}

/* Frames covered by one entry of a shadow page at @level. */
static inline uint64_t level_pages(unsigned level)
{
	return 1ull << (9 * (level - 1));
}

static inline void *hpa_ptr(const struct shadow *s, hpa_t hpa)
{
	return s->ops->hpa_to_ptr(s->ops->ctx, hpa);
}

static inline unsigned hash_u64(uint64_t x)
{
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return x & (SHADOW_HASH_SIZE - 1);
}

static inline bool sp_is_indirect(const struct sp *sp)
{
	return !sp->role.direct && !sp->role.pae_root && !sp->role.invalid;
}

/* ---- metadata: sp structs and links carved from ops pages ----------------- */

static hpa_t meta_page(struct shadow *s)
{
	hpa_t hpa = s->ops->alloc_page(s->ops->ctx);

	if (hpa) {
		*(hpa_t *)hpa_ptr(s, hpa) = s->meta;
		s->meta = hpa;
	}
	return hpa;
}

static bool meta_carve_sps(struct shadow *s, unsigned count)
{
	unsigned per_page = (PAGE_SIZE - META_HDR) / sizeof(struct sp);

	while (count) {
		hpa_t hpa = meta_page(s);
		if (!hpa)
			return false;
		struct sp *objs = (struct sp *)((char *)hpa_ptr(s, hpa) + META_HDR);
		for (unsigned i = 0; i < per_page && count; i++, count--) {
			objs[i].hash_next = s->free_sps;
			s->free_sps = &objs[i];
		}
	}
	return true;
}

static bool meta_carve_links(struct shadow *s, unsigned count)
{
	unsigned per_page = (PAGE_SIZE - META_HDR) / sizeof(struct sp_link);

	while (count) {
		hpa_t hpa = meta_page(s);
		if (!hpa)
			return false;
		struct sp_link *objs = (struct sp_link *)((char *)hpa_ptr(s, hpa) + META_HDR);
		for (unsigned i = 0; i < per_page && count; i++, count--) {
			objs[i].next = s->free_links;
			s->free_links = &objs[i];
			s->free_link_count++;
		}
	}
	return true;
}

static void link_add(struct shadow *s, struct sp_link **head, struct sp *sp, unsigned index,
		     gfn_t gfn)
{
	struct sp_link *l = s->free_links;

	MMU_BUG_ON(!l);
	s->free_links = l->next;
	s->free_link_count--;
	l->sp = sp;
	l->index = index;
	l->gfn = gfn;
	l->next = *head;
	*head = l;
}

/* Remove the link to (@sp, @index) from *@head; it must be there. Returns the
 * gfn it recorded. */
static gfn_t link_remove(struct shadow *s, struct sp_link **head, struct sp *sp, unsigned index)
{
	for (struct sp_link **pp = head; *pp; pp = &(*pp)->next) {
		struct sp_link *l = *pp;
		if (l->sp != sp || l->index != index)
			continue;
		gfn_t gfn = l->gfn;
		*pp = l->next;
		l->next = s->free_links;
		s->free_links = l;
		s->free_link_count++;
		return gfn;
	}
	mmu_bug(__FILE__, __LINE__, "link_remove: no such link");
}

/* ---- indexes --------------------------------------------------------------- */

static struct sp **sp_bucket(const struct shadow *s, gfn_t gfn)
{
	return &s->sp_hash[hash_u64(gfn)];
}

struct sp *sp_lookup(const struct shadow *s, gfn_t gfn, union sp_role role)
{
	for (struct sp *sp = *sp_bucket(s, gfn); sp; sp = sp->hash_next) {
		if (sp->gfn == gfn && sp->role.word == role.word)
			return sp;
	}
	return NULL;
}

static struct sp *sp_by_hpa(const struct shadow *s, hpa_t hpa)
{
	for (struct sp *sp = s->hpa_hash[hash_u64(hpa >> PAGE_SHIFT)]; sp; sp = sp->hpa_next) {
		if (sp->hpa == hpa)
			return sp;
	}
	return NULL;
}

static void hash_remove(struct sp **head, struct sp *sp, bool hpa_chain)
{
	for (struct sp **pp = head; *pp; pp = hpa_chain ? &(*pp)->hpa_next : &(*pp)->hash_next) {
		if (*pp == sp) {
			*pp = hpa_chain ? sp->hpa_next : sp->hash_next;
			return;
		}
	}
	mmu_bug(__FILE__, __LINE__, "hash_remove: sp not in bucket");
}

static void lru_unlink(struct shadow *s, struct sp *sp)
{
	if (sp->lru_prev)
		sp->lru_prev->lru_next = sp->lru_next;
	else
		s->lru_head = sp->lru_next;
	if (sp->lru_next)
		sp->lru_next->lru_prev = sp->lru_prev;
	else
		s->lru_tail = sp->lru_prev;
	sp->lru_prev = sp->lru_next = NULL;
}

static void lru_append(struct shadow *s, struct sp *sp)
{
	sp->lru_prev = s->lru_tail;
	sp->lru_next = NULL;
	if (s->lru_tail)
		s->lru_tail->lru_next = sp;
	else
		s->lru_head = sp;
	s->lru_tail = sp;
}

/* A fault went through @sp: it is the most recently used, and the guest
 * evidently still uses it as a page table. */
static void sp_touch(struct shadow *s, struct sp *sp)
{
	lru_unlink(s, sp);
	lru_append(s, sp);
	sp->write_flood = 0;
}

static void unsync_remove(struct shadow *s, struct sp *sp)
{
	for (struct sp **pp = &s->unsync_list; *pp; pp = &(*pp)->unsync_next) {
		if (*pp == sp) {
			*pp = sp->unsync_next;
			sp->unsync = false;
			return;
		}
	}
	mmu_bug(__FILE__, __LINE__, "unsync_remove: sp not on list");
}

/* ---- reverse map ----------------------------------------------------------- */

/* The reverse map is bucketed by host frame (found in the SPTE itself) and
 * each link records the gfn, so lookups by gfn go through gfn_to_hfn. The
 * gfn -> hfn map must not change while SPTEs map the gfn (shadow_zap_gfn
 * first). */
static struct sp_link **rmap_bucket(const struct shadow *s, hfn_t hfn)
{
	return &s->rmap_hash[hash_u64(hfn)];
}

static void rmap_add(struct shadow *s, struct sp *sp, unsigned index, gfn_t gfn, hfn_t hfn)
{
	link_add(s, rmap_bucket(s, hfn), sp, index, gfn);
	s->stats.rmap_entries++;
}

static struct sp_link *rmap_find(const struct shadow *s, const struct sp *sp, unsigned index)
{
	hfn_t hfn = (sp->spt[index] & SPTE_ADDR) >> PAGE_SHIFT;

	for (struct sp_link *l = *rmap_bucket(s, hfn); l; l = l->next) {
		if (l->sp == sp && l->index == index)
			return l;
	}
	return NULL;
}

/* ---- entries --------------------------------------------------------------- */

/* What the host CPU would reject in a shadow entry at @level of @sp (SDM
 * Vol. 3A 4.4.2 and 4.5.4, reserved bits): physical-address bits at or above
 * the host MAXPHYADDR, XD without EFER.NX, PS anywhere (shadow leaves are
 * 4 KiB), anything but P/PWT/PCD in a PAE PDPTE. */
static bool spte_is_valid(const struct shadow *s, const struct sp *sp, uint64_t spte)
{
	uint64_t rsvd = GENMASK(51, s->host_maxphyaddr);

	if (!(spte & SPTE_P))
		return spte == 0;
	if (sp->role.pae_root)
		rsvd |= ~(SPTE_ADDR | SPTE_P | SPTE_PWT | SPTE_PCD);
	if (!sp->role.efer_nx)
		rsvd |= SPTE_XD;
	if (sp->role.level > 1)
		rsvd |= SPTE_PS;
	return !(spte & rsvd);
}

static void spte_set(struct shadow *s, struct sp *sp, unsigned index, uint64_t spte)
{
	MMU_BUG_ON(!spte_is_valid(s, sp, spte));
	if ((sp->spt[index] & SPTE_P) && !(spte & SPTE_P))
		sp->nr_present--;
	else if (!(sp->spt[index] & SPTE_P) && (spte & SPTE_P))
		sp->nr_present++;
	sp->spt[index] = spte;
}

static void sp_zap(struct shadow *s, struct sp *sp);

/* Clear entry @index of @sp and undo what it held: a leaf's reverse-map link,
 * or a non-leaf's parent link in the child, zapping a child that nothing
 * references any more. */
static void spte_drop(struct shadow *s, struct sp *sp, unsigned index)
{
	uint64_t spte = sp->spt[index];

	if (!(spte & SPTE_P))
		return;
	spte_set(s, sp, index, 0);
	s->need_flush = true;
	if (sp->role.level == 1) {
		link_remove(s, rmap_bucket(s, (spte & SPTE_ADDR) >> PAGE_SHIFT), sp, index);
		s->stats.rmap_entries--;
		return;
	}
	struct sp *child = sp_by_hpa(s, spte & SPTE_ADDR);
	MMU_BUG_ON(!child);
	link_remove(s, &child->parents, sp, index);
	s->stats.parent_links--;
	if (sp->role.pae_root) {
		/* A PAE root's entry is its pin on the child. */
		MMU_BUG_ON(child->root_count == 0);
		child->root_count--;
	}
	/* An indirect child nothing references stays cached: it is kept in
	 * sync like any other (its frame stays write-protected), so a later
	 * fault that needs the same (gfn, role) relinks it with its entries;
	 * the LRU reclaims it. A direct child's leaves carry the guest large
	 * page's D and caching bits, which its role does not: it goes now. */
	if (!child->parents && !child->root_count && !sp_is_indirect(child))
		sp_zap(s, child);
}

static void sp_free(struct shadow *s, struct sp *sp)
{
	MMU_BUG_ON(sp->parents || sp->root_count || sp->unsync);
	hash_remove(&s->hpa_hash[hash_u64(sp->hpa >> PAGE_SHIFT)], sp, true);
	lru_unlink(s, sp);
	s->ops->free_page(s->ops->ctx, sp->hpa);
	s->nr_pages--;
	s->stats.pages--;
	sp->hash_next = s->free_sps;
	s->free_sps = sp;
}

/* Remove @sp from the shadow: drop all its entries (children no longer
 * referenced go too, recursively; depth is at most five), clear the parent
 * entries pointing at it, and free it -- unless it is pinned, in which case
 * it becomes invalid and is freed at its last unpin. A zapped child of a PAE
 * root releases that root's pin and invalidates the root. */
static void sp_zap(struct shadow *s, struct sp *sp)
{
	if (sp->role.invalid && !sp->role.pae_root)
		return;
	for (unsigned i = 0; i < SPT_ENTRIES; i++)
		spte_drop(s, sp, i);
	while (sp->parents) {
		struct sp_link *l = sp->parents;
		struct sp *parent = l->sp;
		unsigned index = l->index;
		link_remove(s, &sp->parents, parent, index);
		s->stats.parent_links--;
		spte_set(s, parent, index, 0);
		s->need_flush = true;
		if (parent->role.pae_root) {
			MMU_BUG_ON(sp->root_count == 0);
			sp->root_count--;
			parent->role.invalid = 1;
		}
	}
	if (sp->unsync)
		unsync_remove(s, sp);
	if (!sp->role.pae_root && !sp->role.invalid)
		hash_remove(sp_bucket(s, sp->gfn), sp, false);
	s->stats.pages_zapped++;
	if (sp->root_count) {
		sp->role.invalid = 1;
		return;
	}
	sp_free(s, sp);
}

/* ---- allocation and write protection --------------------------------------- */

static struct sp *sp_alloc(struct shadow *s, gfn_t gfn, union sp_role role)
{
	struct sp *sp = s->free_sps;
	hpa_t hpa;

	if (s->nr_pages >= s->capacity || !sp)
		return NULL;
	hpa = s->ops->alloc_page(s->ops->ctx);
	if (!hpa)
		return NULL;
	MMU_BUG_ON(hpa & ~PAGE_MASK);
	/* The PAE root is loaded through a 32-bit CR3 (4.4.1). */
	MMU_BUG_ON(role.pae_root && hpa + PAGE_SIZE > FOUR_GIB);
	s->free_sps = sp->hash_next;
	*sp = (struct sp){ .gfn = gfn, .role = role, .hpa = hpa, .spt = hpa_ptr(s, hpa) };
	sp->hpa_next = s->hpa_hash[hash_u64(hpa >> PAGE_SHIFT)];
	s->hpa_hash[hash_u64(hpa >> PAGE_SHIFT)] = sp;
	if (!role.pae_root) {
		sp->hash_next = *sp_bucket(s, gfn);
		*sp_bucket(s, gfn) = sp;
	}
	lru_append(s, sp);
	s->nr_pages++;
	s->stats.pages++;
	s->stats.pages_allocated++;
	return sp;
}

/* Next sp in @gfn's bucket shadowing @gfn that this walk has not visited.
 * Bucket walks restart from the head after each step because a step may zap
 * pages of the same bucket. */
static struct sp *sp_next_of_gfn(struct shadow *s, gfn_t gfn)
{
	for (struct sp *sp = *sp_bucket(s, gfn); sp; sp = sp->hash_next) {
		if (sp->gfn == gfn && sp_is_indirect(sp) && sp->visit != s->visit_gen) {
			sp->visit = s->visit_gen;
			return sp;
		}
	}
	return NULL;
}

/* Whether a leaf mapping @gfn must be read-only: some shadow page that is in
 * sync shadows the guest table in @gfn. */
static bool gfn_is_write_protected(const struct shadow *s, gfn_t gfn)
{
	for (struct sp *sp = *sp_bucket(s, gfn); sp; sp = sp->hash_next) {
		if (sp->gfn == gfn && sp_is_indirect(sp) && !sp->unsync)
			return true;
	}
	return false;
}

static void write_protect_gfn(struct shadow *s, gfn_t gfn)
{
	hfn_t hfn;

	if (!s->ops->gfn_to_hfn(s->ops->ctx, gfn, &hfn))
		return;
	for (struct sp_link *l = *rmap_bucket(s, hfn); l; l = l->next) {
		uint64_t *spte = &l->sp->spt[l->index];
		if (l->gfn == gfn && (*spte & SPTE_W)) {
			*spte &= ~(SPTE_W | SPTE_D);
			s->need_flush = true;
		}
	}
}

static void sp_sync(struct shadow *s, struct sp *sp);

/* Find or create the shadow page (@gfn, @role). A new page shadowing a guest
 * table write-protects that table's frame, after bringing any unsync pages
 * of the same frame back in sync (they must not stay writable). */
static struct sp *sp_get(struct shadow *s, gfn_t gfn, union sp_role role)
{
	struct sp *sp = sp_lookup(s, gfn, role);

	/* A cached page table that went unsync while nothing referenced it
	 * missed the INVLPGs of the paths it was not on: sync it first. */
	if (sp && sp->unsync && !sp->parents)
		sp_sync(s, sp);
	if (sp)
		return sp;
	sp = sp_alloc(s, gfn, role);
	if (!sp || role.direct)
		return sp;
	s->visit_gen++;
	for (struct sp *other; (other = sp_next_of_gfn(s, gfn));) {
		if (other->unsync)
			sp_sync(s, other);
	}
	write_protect_gfn(s, gfn);
	return sp;
}

/* A guest write hit frame @gfn holding guest tables. If every page shadowing
 * it is a page table (level 1), let them go out of sync so the guest may
 * write directly; upper levels stay write-protected (their changes must be
 * seen at once, as the CPU may cache them in paging-structure caches that
 * the guest flushes with the same INVLPG as leaves, SDM Vol. 3A 4.10.4). */
static bool sp_try_unsync(struct shadow *s, gfn_t gfn)
{
	for (struct sp *sp = *sp_bucket(s, gfn); sp; sp = sp->hash_next) {
		if (sp->gfn == gfn && sp_is_indirect(sp) && sp->role.level != 1)
			return false;
	}
	for (struct sp *sp = *sp_bucket(s, gfn); sp; sp = sp->hash_next) {
		if (sp->gfn == gfn && sp_is_indirect(sp) && !sp->unsync) {
			sp->unsync = true;
			sp->unsync_next = s->unsync_list;
			s->unsync_list = sp;
			s->stats.unsync_pages++;
		}
	}
	return true;
}

/* ---- leaves ---------------------------------------------------------------- */

/* U/W/X a guest entry itself grants. Without EFER.NX (and always for
 * 4-byte entries) bit 63 is not an XD bit. */
static unsigned gpte_access(const struct sp *sp, uint64_t gpte)
{
	unsigned acc = ACC_X;

	if (gpte & GPTE_U)
		acc |= ACC_U;
	if (gpte & GPTE_W)
		acc |= ACC_W;
	if (sp->role.efer_nx && !sp->role.gpte_is_4byte && (gpte & GPTE_XD))
		acc &= ~ACC_X;
	return acc;
}

/* Caching and global bits of a guest leaf for a 4 KiB shadow leaf (the PAT
 * bit moves from 12 to 7 when the guest leaf is large). */
static uint64_t gpte_leaf_attrs(uint64_t gpte, unsigned leaf_level)
{
	uint64_t attrs = gpte & (GPTE_PWT | GPTE_PCD | GPTE_G);

	if (leaf_level == 1 ? (gpte & GPTE_PAT_4K) : (gpte & GPTE_PAT_LARGE))
		attrs |= SPTE_PS;
	return attrs;
}

struct leaf_req {
	hfn_t hfn;
	unsigned access;	/* guest-allowed ACC_* for this leaf */
	bool dirty;
	bool write_protected;
	uint64_t attrs;		/* PWT/PCD/PAT/G */
	unsigned fault_access;	/* ACC_* of the access being served (0: sync) */
};

/* Build a 4 KiB shadow leaf (SDM Vol. 3A 4.5, table 4-20).
 * - W only if the guest allows it, its D bit is already set (so the first
 *   write faults and the walker sets D), and the frame holds no shadowed
 *   guest table; A (and D when writable) are preset so the CPU never writes
 *   them.
 * - XD only with EFER.NX (reserved otherwise).
 * - Guest CR0.WP = 0 lets supervisor writes through read-only guest pages
 *   (4.6.1); the CPU runs with WP = 1, so such a write gets a
 *   supervisor-only writable leaf (U cleared; XD added under SMEP, which
 *   would otherwise let the supervisor execute a user page). Under SMAP, or
 *   SMEP without NX, that would widen access: false -> emulate instead. */
static bool spte_make_leaf(const struct sp *sp, const struct leaf_req *r, uint64_t *out)
{
	uint64_t spte = SPTE_P | SPTE_A | ((uint64_t)r->hfn << PAGE_SHIFT) | r->attrs;
	unsigned acc = r->access;
	bool can_write = r->dirty && !r->write_protected;

	if (!sp->role.cr0_wp && (r->fault_access & ACC_W) && !(r->fault_access & ACC_U) &&
	    !(acc & ACC_W)) {
		if ((acc & ACC_U) && (sp->role.smap_andnot_wp ||
				      (sp->role.smep_andnot_wp && !sp->role.efer_nx)))
			return false;
		if ((acc & ACC_U) && sp->role.smep_andnot_wp)
			acc &= ~ACC_X;
		acc = (acc & ~ACC_U) | ACC_W;
	}
	if (acc & ACC_U)
		spte |= SPTE_U;
	if ((acc & ACC_W) && can_write)
		spte |= SPTE_W | SPTE_D;
	if (!(acc & ACC_X) && sp->role.efer_nx)
		spte |= SPTE_XD;
	*out = spte;
	return true;
}

/* Put @spte (mapping @gfn) at @index of leaf page @sp, keeping the reverse
 * map in step; a replaced mapping is dropped first. */
static void spte_install_leaf(struct shadow *s, struct sp *sp, unsigned index, gfn_t gfn,
			      uint64_t spte)
{
	uint64_t old = sp->spt[index];

	if (old & SPTE_P) {
		if ((old & SPTE_ADDR) == (spte & SPTE_ADDR)) {
			/* Same frame: the link stays if it names the same gfn. */
			struct sp_link *l = rmap_find(s, sp, index);
			MMU_BUG_ON(!l);
			if (l->gfn == gfn) {
				if (old & ~spte & (SPTE_W | SPTE_U))
					s->need_flush = true;
				if ((spte & SPTE_XD) && !(old & SPTE_XD))
					s->need_flush = true;
				spte_set(s, sp, index, spte);
				return;
			}
		}
		spte_drop(s, sp, index);
	}
	spte_set(s, sp, index, spte);
	rmap_add(s, sp, index, gfn, (spte & SPTE_ADDR) >> PAGE_SHIFT);
}

/* Bring unsync page table @sp back in sync (SDM Vol. 3A 4.10.4: the guest
 * has now invalidated, so it expects its PTE writes to take effect): re-read
 * every guest entry behind a present leaf and drop the leaf unless the same
 * leaf would be built from the entry now; then write-protect the frame. */
static void sp_sync(struct shadow *s, struct sp *sp)
{
	unsigned esize = sp->role.gpte_is_4byte ? 4 : 8;
	gpa_t table = (gpa_t)sp->gfn << PAGE_SHIFT;

	MMU_BUG_ON(sp->role.level != 1 || !sp->unsync);
	unsync_remove(s, sp);
	s->stats.syncs++;
	for (unsigned i = 0; i < SPT_ENTRIES; i++) {
		uint64_t spte = sp->spt[i], gpte = 0, want;
		unsigned e = i + (sp->role.gpte_is_4byte ? sp->role.quadrant * SPT_ENTRIES : 0);
		gfn_t gfn;
		hfn_t hfn;

		if (!(spte & SPTE_P))
			continue;
		if (!s->ops->read_gpa(s->ops->ctx, table + e * esize, &gpte, esize) ||
		    !(gpte & GPTE_P) || !(gpte & GPTE_A)) {
			spte_drop(s, sp, i);
			continue;
		}
		if (esize == 4) {
			gfn = (gpte & 0xfffff000u) >> PAGE_SHIFT;
		} else {
			uint64_t rsvd = GENMASK(51, s->mode.guest_maxphyaddr);
			if (!sp->role.efer_nx)
				rsvd |= GPTE_XD;
			if (gpte & rsvd) {
				spte_drop(s, sp, i);
				continue;
			}
			gfn = (gpte & SPTE_ADDR) >> PAGE_SHIFT;
		}
		struct leaf_req r = {
			.access = sp->role.access & gpte_access(sp, gpte),
			.dirty = gpte & GPTE_D,
			.write_protected = gfn_is_write_protected(s, gfn),
			.attrs = gpte_leaf_attrs(gpte, 1),
		};
		if (!s->ops->gfn_to_hfn(s->ops->ctx, gfn, &hfn)) {
			spte_drop(s, sp, i);
			continue;
		}
		r.hfn = hfn;
		if (!spte_make_leaf(sp, &r, &want) || rmap_find(s, sp, i)->gfn != gfn) {
			spte_drop(s, sp, i);
		} else if (want != spte && want == (spte & ~(SPTE_W | SPTE_D))) {
			/* Only the write permission went (e.g. the frame is
			 * write-protected again): keep the leaf, read-only. */
			spte_set(s, sp, i, want);
			s->need_flush = true;
		} else if (want != spte) {
			spte_drop(s, sp, i);
		}
	}
	write_protect_gfn(s, sp->gfn);
}

void shadow_sync_all(struct shadow *s)
{
	while (s->unsync_list)
		sp_sync(s, s->unsync_list);
}

/* ---- reclaim ---------------------------------------------------------------- */

/* Zap the least recently used unpinned pages until @pages table pages and
 * @links links are free. Done before a fault or root build starts, so no
 * page on the path being built is zapped under it. */
static bool make_room(struct shadow *s, unsigned pages, unsigned links)
{
	while (s->capacity - s->nr_pages < pages || s->free_link_count < links) {
		struct sp *victim = s->lru_head;
		while (victim && victim->root_count)
			victim = victim->lru_next;
		if (!victim)
			return false;
		sp_zap(s, victim);
		s->stats.lru_zaps++;
	}
	return true;
}

/* ---- roots ------------------------------------------------------------------- */

static union sp_role mode_base_role(const struct shadow_mode *m)
{
	union sp_role role = { .word = 0 };

	role.gpte_is_4byte = m->guest_levels == 2;
	if (m->guest_levels == 0) {
		/* Paging off: no guest permissions, so no mode bit matters. */
		role.cr0_wp = 1;
		return role;
	}
	role.cr0_wp = m->cr0_wp;
	role.smep_andnot_wp = m->cr4_smep && !m->cr0_wp;
	role.smap_andnot_wp = m->cr4_smap && !m->cr0_wp;
	role.efer_nx = m->efer_nx;
	return role;
}

/* Drop one pin of root @root (current root or a cache slot). A PAE root has
 * exactly one; its entries pin its children. */
static void root_put(struct shadow *s, struct sp *root)
{
	MMU_BUG_ON(root->root_count == 0);
	if (root->role.pae_root) {
		for (unsigned i = 0; i < 4; i++)
			spte_drop(s, root, i);
		root->root_count--;
		MMU_BUG_ON(root->root_count != 0);
		sp_free(s, root);
		return;
	}
	if (--root->root_count)
		return;
	if (root->role.invalid)
		sp_free(s, root);
	/* else it stays cached like any unreferenced indirect page */
}

/* Build the root for @r (cr3, mode, pdptes already set). 4/5-level guests:
 * the shadow page of the guest's top table. Otherwise a PAE root whose four
 * entries are filled now, as the CPU reads them only at CR3 load: shadow
 * PDs of the guest's PDPTEs (PAE), of the four GiB quadrants of the guest's
 * 4-byte PD (32-bit), or direct PDs of an identity map (paging off). */
static enum shadow_status root_build(struct shadow *s, struct shadow_root *r)
{
	unsigned levels = s->mode.guest_levels;
	union sp_role role = s->base_role;
	struct sp *root;

	if (!make_room(s, 5, 4))
		return SHADOW_ENOMEM;
	role.access = ACC_ALL;
	if (levels >= 4) {
		role.level = levels;
		root = sp_get(s, r->cr3 >> PAGE_SHIFT, role);
		if (!root)
			return SHADOW_ENOMEM;
		root->root_count++;
		r->sp = root;
		return SHADOW_OK;
	}
	role.level = 3;
	role.pae_root = 1;
	root = sp_alloc(s, r->cr3 >> PAGE_SHIFT, role);
	if (!root)
		return SHADOW_ENOMEM;
	root->root_count = 1;
	for (unsigned i = 0; i < 4; i++) {
		union sp_role crole = s->base_role;
		gfn_t gfn;

		crole.level = 2;
		crole.access = ACC_ALL;
		if (levels == 0) {
			crole.direct = 1;
			gfn = (gfn_t)i << 18;
		} else if (levels == 2) {
			crole.quadrant = i;
			gfn = r->cr3 >> PAGE_SHIFT;
		} else {
			if (!(r->pdptes[i] & GPTE_P))
				continue;
			gfn = (r->pdptes[i] & GENMASK(s->mode.guest_maxphyaddr - 1, 12)) >> PAGE_SHIFT;
		}
		struct sp *child = sp_get(s, gfn, crole);
		if (!child) {
			root_put(s, root);
			return SHADOW_ENOMEM;
		}
		child->root_count++;
		spte_set(s, root, i, child->hpa | SPTE_P);
		link_add(s, &child->parents, root, i, 0);
		s->stats.parent_links++;
	}
	r->sp = root;
	return SHADOW_OK;
}

static bool root_matches(const struct shadow_root *a, const struct shadow_root *b)
{
	if (!a->sp || a->sp->role.invalid || a->cr3 != b->cr3 || a->mode_role != b->mode_role)
		return false;
	for (unsigned i = 0; i < 4; i++) {
		if (a->pdptes[i] != b->pdptes[i])
			return false;
	}
	return true;
}

static bool mode_is_valid(const struct shadow_mode *m)
{
	unsigned l = m->guest_levels;

	return (l == 0 || l == 2 || l == 3 || l == 4 || l == 5) && m->guest_maxphyaddr >= 32 &&
	       m->guest_maxphyaddr <= 52;
}

enum shadow_status shadow_load_root(struct shadow *s, const struct shadow_mode *mode, gpa_t cr3,
				    const uint64_t pdptes[4], hpa_t *root_hpa)
{
	struct shadow_root want = { 0 }, old;
	struct shadow_mode old_mode = s->mode;
	union sp_role old_role = s->base_role;
	int hit = -1;

	if (!mode_is_valid(mode))
		return SHADOW_EINVAL;
	s->mode = *mode;
	s->base_role = mode_base_role(mode);
	want.mode_role = s->base_role.word | mode->guest_levels;
	switch (mode->guest_levels) {
	case 0: want.cr3 = 0; break;
	case 2: want.cr3 = cr3 & 0xfffff000u; break;
	case 3:
		want.cr3 = cr3 & 0xffffffe0u;
		for (unsigned i = 0; i < 4; i++)
			want.pdptes[i] = pdptes[i];
		break;
	default: want.cr3 = cr3 & GENMASK(mode->guest_maxphyaddr - 1, 12); break;
	}
	/* A CR3 load flushes the guest's non-global translations. */
	shadow_sync_all(s);
	for (unsigned i = 0; i < SHADOW_ROOT_CACHE; i++) {
		if (s->cache[i].sp && s->cache[i].sp->role.invalid) {
			root_put(s, s->cache[i].sp);
			s->cache[i].sp = NULL;
		}
	}
	if (root_matches(&s->root, &want)) {
		s->stats.root_cache_hits++;
		*root_hpa = s->root.sp->hpa;
		return SHADOW_OK;
	}
	for (unsigned i = 0; i < SHADOW_ROOT_CACHE && hit < 0; i++) {
		if (root_matches(&s->cache[i], &want))
			hit = (int)i;
	}
	old = s->root;
	if (hit >= 0) {
		want.sp = s->cache[hit].sp;
		for (unsigned i = (unsigned)hit; i + 1 < SHADOW_ROOT_CACHE; i++)
			s->cache[i] = s->cache[i + 1];
		s->cache[SHADOW_ROOT_CACHE - 1].sp = NULL;
		s->stats.root_cache_hits++;
	} else {
		enum shadow_status st = root_build(s, &want);
		if (st != SHADOW_OK) {
			/* Keep the current root usable with the mode it was built for. */
			s->mode = old_mode;
			s->base_role = old_role;
			return st;
		}
		s->stats.root_cache_misses++;
	}
	if (old.sp && old.sp->role.invalid) {
		root_put(s, old.sp);
	} else if (old.sp) {
		if (s->cache[SHADOW_ROOT_CACHE - 1].sp)
			root_put(s, s->cache[SHADOW_ROOT_CACHE - 1].sp);
		for (unsigned i = SHADOW_ROOT_CACHE - 1; i > 0; i--)
			s->cache[i] = s->cache[i - 1];
		s->cache[0] = old;
	}
	s->root = want;
	*root_hpa = want.sp->hpa;
	return SHADOW_OK;
}

/* ---- faults ------------------------------------------------------------------- */

/* Walk the shadow from the current root towards @gva, creating or replacing
 * shadow pages so that each level matches the guest walk @w, then install
 * the 4 KiB leaf. The child of a shadow page at level L is
 *  - indirect (gfn = guest table at L-1, access narrowed by the guest entry
 *    at L, quadrant from the gva for 4-byte guests) while L-1 >= the guest
 *    leaf level;
 *  - direct below that (gfn = first frame it covers, access = the whole
 *    walk's), and always below a direct page.
 * A present entry pointing at a different page (the guest changed an upper
 * entry) is dropped and relinked. */
enum shadow_status shadow_fault(struct shadow *s, gva_t gva, const struct shadow_gwalk *w,
				unsigned fault_access)
{
	struct sp *sp = s->root.sp;
	unsigned levels = s->mode.guest_levels;
	unsigned leaf_level = levels ? w->leaf_level : 4;
	enum shadow_status st = SHADOW_OK;
	unsigned level;
	hfn_t hfn;

	s->stats.faults++;
	if (!sp)
		return SHADOW_EINVAL;
	if (sp->role.invalid)
		return SHADOW_NEED_RELOAD;
	if (levels && (leaf_level < 1 || leaf_level > 3 || leaf_level > levels ||
		       (levels == 2 && leaf_level > 2)))
		return SHADOW_EINVAL;
	if (!make_room(s, 4, 6))
		return SHADOW_ENOMEM;
	if (!s->ops->gfn_to_hfn(s->ops->ctx, w->gfn, &hfn))
		return SHADOW_NOT_RAM;
	level = sp->role.level;
	if (sp->role.pae_root) {
		uint64_t pdpte = sp->spt[(gva >> 30) & 3];
		if (!(pdpte & SPTE_P))
			return SHADOW_EINVAL;
		sp_touch(s, sp);
		sp = sp_by_hpa(s, pdpte & SPTE_ADDR);
		level = 2;
	}
	for (; level > 1; level--) {
		unsigned index = spt_index(gva, level);
		union sp_role role = sp->role;
		struct sp *child = NULL;
		gfn_t gfn;

		sp_touch(s, sp);
		if (sp->role.direct && (w->gfn & ~(level_pages(level + 1) - 1)) != sp->gfn)
			return SHADOW_EINVAL;
		role.level = level - 1;
		role.quadrant = 0;
		if (sp->role.direct || level - 1 < leaf_level) {
			if (!sp->role.direct) {
				uint64_t attrs = gpte_leaf_attrs(w->gpte[level], level);

				role.access = sp->role.access & gpte_access(sp, w->gpte[level]);
				role.large = (w->dirty ? SP_LARGE_D : 0) |
					     ((attrs & SPTE_PWT) ? SP_LARGE_PWT : 0) |
					     ((attrs & SPTE_PCD) ? SP_LARGE_PCD : 0) |
					     ((attrs & SPTE_PS) ? SP_LARGE_PAT : 0);
			}
			role.direct = 1;
			gfn = w->gfn & ~(level_pages(level) - 1);
		} else {
			role.access = sp->role.access & gpte_access(sp, w->gpte[level]);
			if (role.gpte_is_4byte)
				role.quadrant = shadow_quadrant(level - 1, gva);
			gfn = w->table_gfn[level - 1];
		}
		if (sp->spt[index] & SPTE_P) {
			child = sp_by_hpa(s, sp->spt[index] & SPTE_ADDR);
			if (child->gfn != gfn || child->role.word != role.word) {
				spte_drop(s, sp, index);
				child = NULL;
			}
		}
		if (!child) {
			child = sp_get(s, gfn, role);
			if (!child)
				return SHADOW_ENOMEM;
			spte_set(s, sp, index, child->hpa | SPTE_NONLEAF);
			link_add(s, &child->parents, sp, index, 0);
			s->stats.parent_links++;
		}
		sp = child;
	}
	sp_touch(s, sp);
	if (sp->role.direct && (w->gfn & ~(gfn_t)(SPT_ENTRIES - 1)) != sp->gfn)
		return SHADOW_EINVAL;

	struct leaf_req r = {
		.hfn = hfn,
		.access = sp->role.direct ? sp->role.access
					  : sp->role.access & gpte_access(sp, w->gpte[1]),
		.dirty = levels ? w->dirty : true,
		.write_protected = gfn_is_write_protected(s, w->gfn),
		.attrs = levels ? gpte_leaf_attrs(w->gpte[leaf_level], leaf_level) : 0,
		.fault_access = fault_access,
	};
	uint64_t spte;

	/* The walker's verdict and the shadow's reading of the same entries
	 * must agree, or the leaf would not match what the guest allowed. */
	if (levels && r.access != w->access)
		return SHADOW_EINVAL;
	if (r.write_protected && (fault_access & ACC_W)) {
		if (sp_try_unsync(s, w->gfn))
			r.write_protected = false;
		else
			st = SHADOW_EMULATE;
	}
	if (!spte_make_leaf(sp, &r, &spte)) {
		r.fault_access = 0;
		(void)spte_make_leaf(sp, &r, &spte);
		st = SHADOW_EMULATE;
	}
	spte_install_leaf(s, sp, spt_index(gva, 1), w->gfn, spte);
	return st;
}

void shadow_invlpg(struct shadow *s, gva_t gva)
{
	struct sp *sp = s->root.sp;
	unsigned level;

	if (!sp || sp->role.invalid)
		return;
	level = sp->role.level;
	if (sp->role.pae_root) {
		uint64_t pdpte = sp->spt[(gva >> 30) & 3];
		if (!(pdpte & SPTE_P))
			return;
		sp = sp_by_hpa(s, pdpte & SPTE_ADDR);
		level = 2;
	}
	for (; level > 1; level--) {
		uint64_t spte = sp->spt[spt_index(gva, level)];
		if (!(spte & SPTE_P))
			return;
		sp = sp_by_hpa(s, spte & SPTE_ADDR);
	}
	spte_drop(s, sp, spt_index(gva, 1));
}

/* The leaf SPTE mapping @gva under the current root, or NULL. */
static uint64_t *leaf_spte(struct shadow *s, gva_t gva)
{
	struct sp *sp = s->root.sp;
	unsigned level;

	if (!sp || sp->role.invalid)
		return NULL;
	level = sp->role.level;
	if (sp->role.pae_root) {
		uint64_t pdpte = sp->spt[(gva >> 30) & 3];
		if (!(pdpte & SPTE_P))
			return NULL;
		sp = sp_by_hpa(s, pdpte & SPTE_ADDR);
		level = 2;
	}
	for (; level > 1; level--) {
		uint64_t spte = sp->spt[spt_index(gva, level)];
		if (!(spte & SPTE_P))
			return NULL;
		sp = sp_by_hpa(s, spte & SPTE_ADDR);
	}
	return &sp->spt[spt_index(gva, 1)];
}

bool shadow_unprotect(struct shadow *s, gva_t gva, bool supervisor_only)
{
	uint64_t *spte = leaf_spte(s, gva);

	if (!spte || !(*spte & SPTE_P))
		return false;
	*spte |= SPTE_W | SPTE_D | SPTE_A;
	if (supervisor_only)
		*spte &= ~SPTE_U;
	return true;
}

void shadow_reprotect(struct shadow *s, gva_t gva)
{
	shadow_invlpg(s, gva);
	s->need_flush = true;
}

#define SHADOW_FLOOD_LIMIT	3

/* Entries of @sp that a guest write to entry @e of its table may change:
 * one for 8-byte tables; for 4-byte ones, nothing unless @e falls in this
 * page's quadrant, and two shadow PDEs per guest PDE (a 4 MiB guest entry
 * covers two 2 MiB shadow entries). */
static void sp_drop_guest_entry(struct shadow *s, struct sp *sp, unsigned e)
{
	if (!sp->role.gpte_is_4byte) {
		spte_drop(s, sp, e);
	} else if (sp->role.level == 1) {
		if (e / SPT_ENTRIES == sp->role.quadrant)
			spte_drop(s, sp, e % SPT_ENTRIES);
	} else if (e / 256 == sp->role.quadrant) {
		spte_drop(s, sp, (e % 256) * 2);
		spte_drop(s, sp, (e % 256) * 2 + 1);
	}
}

/* The caller emulated a guest write to a write-protected frame. Drop what it
 * may have changed; a page written SHADOW_FLOOD_LIMIT times without being
 * used by a fault in between is probably no page table any more: zap it. */
void shadow_guest_write(struct shadow *s, gpa_t gpa, unsigned len)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;
	unsigned off = gpa & ~PAGE_MASK;

	if (len == 0)
		return;
	if (off + len > PAGE_SIZE)
		len = PAGE_SIZE - off;
	s->stats.emulated_writes++;
	s->visit_gen++;
	for (struct sp *sp; (sp = sp_next_of_gfn(s, gfn));) {
		unsigned esize = sp->role.gpte_is_4byte ? 4 : 8;
		for (unsigned e = off / esize; e <= (off + len - 1) / esize; e++)
			sp_drop_guest_entry(s, sp, e);
		if (++sp->write_flood >= SHADOW_FLOOD_LIMIT && !sp->root_count)
			sp_zap(s, sp);
	}
}

void shadow_protect_gfn(struct shadow *s, gfn_t gfn)
{
	write_protect_gfn(s, gfn);
}

bool shadow_gfn_protected(const struct shadow *s, gfn_t gfn)
{
	return gfn_is_write_protected(s, gfn);
}

void shadow_zap_gfn(struct shadow *s, gfn_t gfn)
{
	hfn_t hfn;

	s->visit_gen++;
	for (struct sp *sp; (sp = sp_next_of_gfn(s, gfn));)
		sp_zap(s, sp);
	if (!s->ops->gfn_to_hfn(s->ops->ctx, gfn, &hfn))
		return;
	for (;;) {
		struct sp_link *l = *rmap_bucket(s, hfn);
		while (l && l->gfn != gfn)
			l = l->next;
		if (!l)
			break;
		spte_drop(s, l->sp, l->index);
	}
}

void shadow_zap_all(struct shadow *s)
{
	for (;;) {
		struct sp *sp = s->lru_head;
		while (sp && sp->role.invalid)
			sp = sp->lru_next;
		if (!sp)
			break;
		sp_zap(s, sp);
	}
}

bool shadow_take_flush(struct shadow *s)
{
	bool flush = s->need_flush;

	s->need_flush = false;
	return flush;
}

/* ---- setup ---------------------------------------------------------------------- */

_Static_assert(SHADOW_HASH_SIZE * sizeof(void *) <= PAGE_SIZE, "a hash table fits one page");

enum shadow_status shadow_init(struct shadow *s, const struct mmu_ops *ops, unsigned capacity,
			       unsigned max_links, unsigned host_maxphyaddr)
{
	*s = (struct shadow){ 0 };
	if (capacity < 8 || host_maxphyaddr < 32 || host_maxphyaddr > 52)
		return SHADOW_EINVAL;
	s->ops = ops;
	s->capacity = capacity;
	s->max_links = max_links ? max_links : capacity * SPT_ENTRIES;
	s->host_maxphyaddr = host_maxphyaddr;
	for (unsigned i = 0; i < 3; i++) {
		s->hash_pages[i] = ops->alloc_page(ops->ctx);
		if (!s->hash_pages[i]) {
			shadow_destroy(s);
			return SHADOW_ENOMEM;
		}
	}
	s->sp_hash = hpa_ptr(s, s->hash_pages[0]);
	s->hpa_hash = hpa_ptr(s, s->hash_pages[1]);
	s->rmap_hash = hpa_ptr(s, s->hash_pages[2]);
	if (!meta_carve_sps(s, capacity) || !meta_carve_links(s, s->max_links)) {
		shadow_destroy(s);
		return SHADOW_ENOMEM;
	}
	return SHADOW_OK;
}

void shadow_destroy(struct shadow *s)
{
	if (!s->ops)
		return;
	if (s->root.sp)
		root_put(s, s->root.sp);
	s->root.sp = NULL;
	for (unsigned i = 0; i < SHADOW_ROOT_CACHE; i++) {
		if (s->cache[i].sp)
			root_put(s, s->cache[i].sp);
		s->cache[i].sp = NULL;
	}
	if (s->sp_hash)
		shadow_zap_all(s);
	MMU_BUG_ON(s->nr_pages != 0);
	while (s->meta) {
		hpa_t next = *(hpa_t *)hpa_ptr(s, s->meta);
		s->ops->free_page(s->ops->ctx, s->meta);
		s->meta = next;
	}
	for (unsigned i = 0; i < 3; i++) {
		if (s->hash_pages[i])
			s->ops->free_page(s->ops->ctx, s->hash_pages[i]);
	}
	*s = (struct shadow){ 0 };
}

/* ---- invariant check (tests) ------------------------------------------------------ */

static unsigned root_pins(const struct shadow *s, const struct sp *sp)
{
	unsigned pins = s->root.sp == sp;

	for (unsigned i = 0; i < SHADOW_ROOT_CACHE; i++)
		pins += s->cache[i].sp == sp;
	for (const struct sp_link *l = sp->parents; l; l = l->next)
		pins += l->sp->role.pae_root;
	return pins;
}

static const char *sp_check(const struct shadow *s, const struct sp *sp, uint64_t *parents)
{
	unsigned present = 0;

	if (sp_by_hpa(s, sp->hpa) != sp)
		return "sp missing from hpa index";
	if (!sp->role.invalid && !sp->role.pae_root && sp_lookup(s, sp->gfn, sp->role) != sp)
		return "valid sp missing from hash";
	if (sp->role.invalid && !sp->role.pae_root && sp_lookup(s, sp->gfn, sp->role) == sp)
		return "invalid sp still hashed";
	if (sp->role.level < 1 || sp->role.level > 5)
		return "bad level";
	if (sp->root_count != root_pins(s, sp))
		return "root_count does not match pins";
	if (!sp->parents && !sp->root_count && !sp_is_indirect(sp))
		return "unreferenced direct sp";
	if (sp->unsync && (sp->role.level != 1 || !sp_is_indirect(sp)))
		return "unsync page is not an indirect page table";
	for (unsigned i = 0; i < SPT_ENTRIES; i++) {
		uint64_t spte = sp->spt[i];
		if (!spte_is_valid(s, sp, spte))
			return "SPTE with reserved bits";
		if (!(spte & SPTE_P))
			continue;
		present++;
		if (sp->role.level == 1) {
			const struct sp_link *l = rmap_find(s, sp, i);
			hfn_t hfn;
			unsigned n = 0;
			if (!l)
				return "leaf without reverse-map link";
			for (const struct sp_link *k = l; k; k = k->next)
				n += k->sp == sp && k->index == i;
			if (n != 1)
				return "leaf with several reverse-map links";
			if (!s->ops->gfn_to_hfn(s->ops->ctx, l->gfn, &hfn) ||
			    hfn != (spte & SPTE_ADDR) >> PAGE_SHIFT)
				return "reverse-map gfn does not map to the leaf's frame";
			if (sp->role.direct && l->gfn != sp->gfn + i)
				return "direct leaf maps the wrong gfn";
			continue;
		}
		const struct sp *child = sp_by_hpa(s, spte & SPTE_ADDR);
		unsigned n = 0;
		if (!child)
			return "non-leaf SPTE to unknown page";
		if (child->role.level != sp->role.level - 1 || child->role.invalid)
			return "child level or validity wrong";
		if (spte != (child->hpa | (sp->role.pae_root ? SPTE_P : SPTE_NONLEAF)))
			return "non-leaf SPTE flags";
		for (const struct sp_link *l = child->parents; l; l = l->next)
			n += l->sp == sp && l->index == i;
		if (n != 1)
			return "child lacks exactly one parent link";
	}
	if (present != sp->nr_present)
		return "nr_present wrong";
	for (const struct sp_link *l = sp->parents; l; l = l->next) {
		(*parents)++;
		if ((l->sp->spt[l->index] & SPTE_ADDR) != sp->hpa || !(l->sp->spt[l->index] & SPTE_P))
			return "parent link to an entry not pointing here";
	}
	if (sp_is_indirect(sp) && !sp->unsync && gfn_is_write_protected(s, sp->gfn)) {
		hfn_t hfn;
		if (s->ops->gfn_to_hfn(s->ops->ctx, sp->gfn, &hfn)) {
			for (const struct sp_link *l = *rmap_bucket(s, hfn); l; l = l->next) {
				if (l->gfn == sp->gfn && (l->sp->spt[l->index] & SPTE_W))
					return "writable leaf maps a write-protected table";
			}
		}
	}
	return NULL;
}

const char *shadow_check(const struct shadow *s)
{
	uint64_t n = 0, rmaps = 0, parents = 0, unsync = 0;
	const struct sp *prev = NULL;

	for (const struct sp *sp = s->lru_head; sp; prev = sp, sp = sp->lru_next) {
		const char *why;
		if (sp->lru_prev != prev)
			return "LRU list broken";
		if (++n > s->capacity)
			return "more pages than capacity";
		why = sp_check(s, sp, &parents);
		if (why)
			return why;
		unsync += sp->unsync;
	}
	if (s->lru_tail != prev)
		return "LRU tail wrong";
	if (n != s->nr_pages || n != s->stats.pages)
		return "page count mismatch";
	for (unsigned b = 0; b < SHADOW_HASH_SIZE; b++) {
		for (const struct sp_link *l = s->rmap_hash[b]; l; l = l->next) {
			rmaps++;
			if (l->sp->role.level != 1 || !(l->sp->spt[l->index] & SPTE_P) ||
			    hash_u64((l->sp->spt[l->index] & SPTE_ADDR) >> PAGE_SHIFT) != b)
				return "reverse-map link to a non-leaf or empty entry";
		}
	}
	for (const struct sp *sp = s->unsync_list; sp; sp = sp->unsync_next) {
		if (!sp->unsync || unsync-- == 0)
			return "unsync list wrong";
	}
	if (unsync)
		return "unsync page missing from list";
	if (rmaps != s->stats.rmap_entries || parents != s->stats.parent_links)
		return "link counters wrong";
	if (rmaps + parents + s->free_link_count != s->max_links)
		return "links leaked";
	if (s->root.sp && s->root.sp->root_count == 0)
		return "current root not pinned";
	return NULL;
}
