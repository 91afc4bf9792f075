/* EPT builder (SDM Vol. 3C 29.3). Levels are numbered as the SDM walks them
 * from the bottom: 1 = page table (4 KiB leaves), 2 = page directory (2 MiB
 * leaves), 3 = page-directory-pointer table (1 GiB leaves), 4 = PML4, 5 = PML5.
 *
 *   gpa bits  56:48   47:39   38:30   29:21   20:12   11:0
 *   level       5       4       3       2       1     offset
 *
 * Non-leaf entries always carry R, W and X so the leaf alone decides access;
 * their bits 7:3 stay 0 as 29.3.2 requires. A table pointed to by a present
 * non-leaf entry is never empty after a public call returns (empty tables are
 * freed), except transiently inside one call. */
#include "mmu/ept.h"

#define EPT_ENTRIES	512
#define EPT_ADDR_MASK	GENMASK(51, 12)
#define EPT_PERM_MASK	EPT_RWX
#define EPT_MT_MASK	GENMASK(5, 3)
/* Bits that must match for leaves to merge: everything except the address. */
#define EPT_ATTR_MASK	(~EPT_ADDR_MASK)

_Static_assert(EPT_MT_MASK == (7ull << EPT_MT_SHIFT), "EPT memory type is bits 5:3");
_Static_assert(EPT_LEAF == 0x80 && EPT_A == 0x100 && EPT_D == 0x200, "EPT entry layout");

static inline unsigned ept_shift(unsigned level)
{
	return PAGE_SHIFT + 9 * (level - 1);
}

static inline unsigned ept_index(gpa_t gpa, unsigned level)
{
	return (gpa >> ept_shift(level)) & (EPT_ENTRIES - 1);
}

static inline uint64_t *ept_table(const struct ept *ept, hpa_t table)
{
	return ept->ops->hpa_to_ptr(ept->ops->ctx, table);
}

static inline bool ept_entry_is_present(uint64_t e)
{
	return (e & EPT_PERM_MASK) != 0;
}

static inline bool ept_entry_is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || (e & EPT_LEAF);
}

/* Page size usable for a leaf at @level, if the CPU supports it. */
static bool ept_level_allows_leaf(const struct ept *ept, unsigned level)
{
	switch (level) {
	case 1: return ept->page_sizes & EPT_SIZE_4K;
	case 2: return ept->page_sizes & EPT_SIZE_2M;
	case 3: return ept->page_sizes & EPT_SIZE_1G;
	default: return false;
	}
}

/* Highest gpa + 1 this EPT can translate: the walk covers 12 + 9 * levels
 * bits, and the guest's MAXPHYADDR may be smaller. */
static uint64_t ept_gpa_limit(const struct ept *ept)
{
	uint64_t walk_limit = 1ull << ept_shift(ept->levels + 1);

	return MIN(ept->maxpa, walk_limit);
}

static hpa_t ept_alloc_table(struct ept *ept)
{
	hpa_t hpa = ept->ops->alloc_page(ept->ops->ctx);

	if (hpa) {
		MMU_BUG_ON(hpa & ~PAGE_MASK);
		ept->table_pages++;
	}
	return hpa;
}

static void ept_free_table(struct ept *ept, hpa_t table)
{
	MMU_BUG_ON(ept->table_pages == 0);
	ept->ops->free_page(ept->ops->ctx, table);
	ept->table_pages--;
}

/* Free @table (at @level) and every table below it. */
static void ept_free_tree(struct ept *ept, hpa_t table, unsigned level)
{
	uint64_t *t = ept_table(ept, table);

	if (level > 1) {
		for (unsigned i = 0; i < EPT_ENTRIES; i++) {
			if (ept_entry_is_present(t[i]) && !ept_entry_is_leaf(t[i], level))
				ept_free_tree(ept, t[i] & EPT_ADDR_MASK, level - 1);
		}
	}
	ept_free_table(ept, table);
}

static bool ept_table_is_empty(const uint64_t *t)
{
	for (unsigned i = 0; i < EPT_ENTRIES; i++) {
		if (t[i])
			return false;
	}
	return true;
}

static uint64_t ept_make_table_entry(hpa_t table)
{
	return table | EPT_RWX;
}

/* Replace the large leaf in *@entry (at @level 2 or 3) by a table of 512
 * leaves one level down that map the same range with the same attributes,
 * so the rest of the mapping survives a partial remap or unmap. The new
 * table is filled before it is linked. */
static enum ept_status ept_split(struct ept *ept, uint64_t *entry, unsigned level)
{
	uint64_t old = *entry;
	hpa_t table = ept_alloc_table(ept);
	uint64_t *t;
	uint64_t attrs = old & EPT_ATTR_MASK;
	uint64_t step = 1ull << ept_shift(level - 1);

	if (!table)
		return EPT_ENOMEM;
	if (level - 1 == 1)
		attrs &= ~EPT_LEAF;	/* bit 7 is ignored in a PTE; keep it clear */
	t = ept_table(ept, table);
	for (unsigned i = 0; i < EPT_ENTRIES; i++)
		t[i] = ((old & EPT_ADDR_MASK) + i * step) | attrs;
	*entry = ept_make_table_entry(table);
	return EPT_OK;
}

/* Make *@entry (at @level > 1) point to a table, allocating an empty one or
 * splitting a large leaf. Returns the table's hpa in *@table. */
static enum ept_status ept_descend(struct ept *ept, uint64_t *entry, unsigned level, hpa_t *table)
{
	if (!ept_entry_is_present(*entry)) {
		hpa_t new_table = ept_alloc_table(ept);
		if (!new_table)
			return EPT_ENOMEM;
		*entry = ept_make_table_entry(new_table);
	} else if (ept_entry_is_leaf(*entry, level)) {
		enum ept_status st = ept_split(ept, entry, level);
		if (st != EPT_OK)
			return st;
	}
	*table = *entry & EPT_ADDR_MASK;
	return EPT_OK;
}

/* After a recursive call into the table behind *@entry: drop the table if the
 * call left it empty (an unmap, or a map that failed half-way). */
static void ept_prune(struct ept *ept, uint64_t *entry, unsigned level)
{
	hpa_t table = *entry & EPT_ADDR_MASK;

	if (level > 1 && ept_entry_is_present(*entry) && !ept_entry_is_leaf(*entry, level) &&
	    ept_table_is_empty(ept_table(ept, table))) {
		*entry = 0;
		ept_free_table(ept, table);
	}
}

/* Map [gpa, end) to hpa + (gpa - start) within @table at @level. @leaf_attrs
 * holds permissions and memory type; EPT_LEAF is added for large leaves. */
static enum ept_status ept_map_range(struct ept *ept, hpa_t table, unsigned level, gpa_t gpa,
				     gpa_t end, hpa_t hpa, uint64_t leaf_attrs)
{
	uint64_t span = 1ull << ept_shift(level);

	while (gpa < end) {
		uint64_t *entry = &ept_table(ept, table)[ept_index(gpa, level)];
		gpa_t slot_end = ALIGN_DOWN(gpa, span) + span;
		gpa_t sub_end = MIN(end, slot_end);
		enum ept_status st;

		if (ept_level_allows_leaf(ept, level) && IS_ALIGNED(gpa, span) &&
		    sub_end - gpa == span && IS_ALIGNED(hpa, span)) {
			uint64_t old = *entry;
			*entry = hpa | leaf_attrs | (level > 1 ? EPT_LEAF : 0);
			if (ept_entry_is_present(old) && !ept_entry_is_leaf(old, level))
				ept_free_tree(ept, old & EPT_ADDR_MASK, level - 1);
		} else {
			hpa_t child;
			MMU_BUG_ON(level == 1);
			st = ept_descend(ept, entry, level, &child);
			if (st != EPT_OK)
				return st;
			st = ept_map_range(ept, child, level - 1, gpa, sub_end, hpa, leaf_attrs);
			if (st != EPT_OK) {
				ept_prune(ept, entry, level);
				return st;
			}
		}
		hpa += sub_end - gpa;
		gpa = sub_end;
	}
	return EPT_OK;
}

/* Unmap [gpa, end) within @table at @level, freeing tables left empty. */
static enum ept_status ept_unmap_range(struct ept *ept, hpa_t table, unsigned level, gpa_t gpa,
				       gpa_t end)
{
	uint64_t span = 1ull << ept_shift(level);

	while (gpa < end) {
		uint64_t *entry = &ept_table(ept, table)[ept_index(gpa, level)];
		gpa_t slot_end = ALIGN_DOWN(gpa, span) + span;
		gpa_t sub_end = MIN(end, slot_end);
		enum ept_status st;

		if (!ept_entry_is_present(*entry)) {
			/* nothing mapped here */
		} else if (IS_ALIGNED(gpa, span) && sub_end - gpa == span) {
			uint64_t old = *entry;
			*entry = 0;
			if (!ept_entry_is_leaf(old, level))
				ept_free_tree(ept, old & EPT_ADDR_MASK, level - 1);
		} else {
			hpa_t child;
			MMU_BUG_ON(level == 1);
			st = ept_descend(ept, entry, level, &child);
			if (st != EPT_OK)
				return st;
			st = ept_unmap_range(ept, child, level - 1, gpa, sub_end);
			ept_prune(ept, entry, level);
			if (st != EPT_OK)
				return st;
		}
		gpa = sub_end;
	}
	return EPT_OK;
}

/* Valid leaf permissions (SDM 29.3.3.1, EPT misconfigurations): write
 * without read is never allowed; execute-only needs the CPU's support
 * (IA32_VMX_EPT_VPID_CAP bit 0); no permission at all is an unmap. */
static bool ept_perm_is_valid(const struct ept *ept, uint64_t perm)
{
	if (perm == 0 || (perm & ~EPT_PERM_MASK))
		return false;
	if ((perm & EPT_W) && !(perm & EPT_R))
		return false;
	if (perm == EPT_X && !ept->exec_only)
		return false;
	return true;
}

/* Memory types 2, 3 and 7 are reserved (SDM 29.3.7, 29.3.3.1). */
static bool ept_mt_is_valid(unsigned mt)
{
	return mt == EPT_MT_UC || mt == EPT_MT_WC || mt == EPT_MT_WT || mt == EPT_MT_WP ||
	       mt == EPT_MT_WB;
}

static bool ept_range_is_valid(const struct ept *ept, gpa_t gpa, uint64_t size)
{
	uint64_t limit = ept_gpa_limit(ept);

	return IS_ALIGNED(gpa, PAGE_SIZE) && IS_ALIGNED(size, PAGE_SIZE) && size != 0 &&
	       gpa < limit && size <= limit - gpa;
}

enum ept_status ept_init(struct ept *ept, const struct mmu_ops *ops, unsigned levels,
			 unsigned page_sizes, bool exec_only, unsigned maxphyaddr)
{
	*ept = (struct ept){0};
	if ((levels != 4 && levels != 5) || !(page_sizes & EPT_SIZE_4K) ||
	    (page_sizes & ~(EPT_SIZE_4K | EPT_SIZE_2M | EPT_SIZE_1G)) ||
	    maxphyaddr < 32 || maxphyaddr > 52)
		return EPT_EINVAL;
	ept->ops = ops;
	ept->levels = levels;
	ept->page_sizes = page_sizes;
	ept->exec_only = exec_only;
	ept->maxpa = 1ull << maxphyaddr;
	ept->root = ept_alloc_table(ept);
	if (!ept->root)
		return EPT_ENOMEM;
	return EPT_OK;
}

/* Host addresses go into bits 51:12 of the entry (29.3.2); the host's own
 * MAXPHYADDR is the caller's concern. */
enum ept_status ept_map(struct ept *ept, gpa_t gpa, hpa_t hpa, uint64_t size, uint64_t perm,
			unsigned mt)
{
	if (!ept_range_is_valid(ept, gpa, size) || !IS_ALIGNED(hpa, PAGE_SIZE) ||
	    hpa > EPT_ADDR_MASK || size > (EPT_ADDR_MASK | ~PAGE_MASK) - hpa + 1 ||
	    !ept_perm_is_valid(ept, perm) || !ept_mt_is_valid(mt))
		return EPT_EINVAL;
	return ept_map_range(ept, ept->root, ept->levels, gpa, gpa + size, hpa,
			     perm | ((uint64_t)mt << EPT_MT_SHIFT));
}

enum ept_status ept_unmap(struct ept *ept, gpa_t gpa, uint64_t size)
{
	if (!ept_range_is_valid(ept, gpa, size))
		return EPT_EINVAL;
	return ept_unmap_range(ept, ept->root, ept->levels, gpa, gpa + size);
}

/* If the table below *@entry (at @level 2 or 3) holds 512 leaves with equal
 * attributes whose addresses continue one another from an address aligned to
 * this level's page size, and that page size is allowed, replace it by one
 * large leaf. A and D must match too, so no dirty state is lost. */
static void ept_merge_entry(struct ept *ept, uint64_t *entry, unsigned level)
{
	hpa_t table = *entry & EPT_ADDR_MASK;
	const uint64_t *t = ept_table(ept, table);
	uint64_t step = 1ull << ept_shift(level - 1);
	uint64_t first = t[0];
	uint64_t attrs = first & EPT_ATTR_MASK;

	if (!ept_level_allows_leaf(ept, level) || !ept_entry_is_present(first) ||
	    !ept_entry_is_leaf(first, level - 1) ||
	    !IS_ALIGNED(first & EPT_ADDR_MASK, 1ull << ept_shift(level)))
		return;
	for (unsigned i = 1; i < EPT_ENTRIES; i++) {
		if ((t[i] & EPT_ATTR_MASK) != attrs ||
		    (t[i] & EPT_ADDR_MASK) != (first & EPT_ADDR_MASK) + i * step)
			return;
	}
	*entry = (first & EPT_ADDR_MASK) | attrs | EPT_LEAF;
	ept_free_table(ept, table);
}

static void ept_merge_table(struct ept *ept, hpa_t table, unsigned level)
{
	uint64_t *t = ept_table(ept, table);

	for (unsigned i = 0; i < EPT_ENTRIES; i++) {
		if (!ept_entry_is_present(t[i]) || ept_entry_is_leaf(t[i], level))
			continue;
		if (level - 1 > 1)
			ept_merge_table(ept, t[i] & EPT_ADDR_MASK, level - 1);
		if (level <= 3)
			ept_merge_entry(ept, &t[i], level);
	}
}

/* Bottom-up, so a page table merged into a 2 MiB leaf can let its page
 * directory merge into a 1 GiB leaf in the same pass. */
void ept_merge(struct ept *ept)
{
	ept_merge_table(ept, ept->root, ept->levels);
}

/* EPTP (SDM Vol. 3C 25.6.11): bits 2:0 paging-structure memory type (6 =
 * WB), bits 5:3 page-walk length minus 1, bit 6 enables accessed and dirty
 * flags, bits N-1:12 the root table. */
uint64_t ept_eptp(const struct ept *ept, bool ad)
{
	return ept->root | ((uint64_t)(ept->levels - 1) << 3) | (ad ? BIT(6) : 0) | EPT_MT_WB;
}

bool ept_lookup(const struct ept *ept, gpa_t gpa, uint64_t *entry, uint64_t *page_size)
{
	hpa_t table = ept->root;

	if (gpa >= ept_gpa_limit(ept))
		return false;
	for (unsigned level = ept->levels; level >= 1; level--) {
		uint64_t e = ept_table(ept, table)[ept_index(gpa, level)];
		if (!ept_entry_is_present(e))
			return false;
		if (ept_entry_is_leaf(e, level)) {
			if (entry)
				*entry = e;
			if (page_size)
				*page_size = 1ull << ept_shift(level);
			return true;
		}
		table = e & EPT_ADDR_MASK;
	}
	return false;
}

void ept_destroy(struct ept *ept)
{
	if (ept->root)
		ept_free_tree(ept, ept->root, ept->levels);
	MMU_BUG_ON(ept->table_pages != 0);
	ept->root = 0;
}
