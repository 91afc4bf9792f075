/* The paging conformance guest: one Multiboot v1 kernel that runs paging
 * tests under one guest paging mode (SDM Vol. 3A chapter 4) and prints
 * "pg:" lines that a runner compares between the bare (emulated) CPU and
 * the hypervisor. Shared declarations of its files:
 *   cpu.S       GDT/IDT stubs, the probe that performs one access, mode entry
 *   pg.c        command line, CPU features, descriptor tables, paging modes,
 *               page-table pool and entry helpers, outcome hashing
 *   access.c    suite=access: cross-products of entry bits and control bits
 *   random.c    suite=random: random address spaces and edits
 *   scenarios.c suite=scenarios: self-checking kernel-style edit sequences */
#ifndef UMBRA_TESTS_GUEST_PAGING_PG_H
#define UMBRA_TESTS_GUEST_PAGING_PG_H

#include "lib/glib.h"

/* Paging-structure entry bits (SDM Vol. 3A 4.3, 4.4.2, 4.5). */
#define PTE_P		0x001ull
#define PTE_W		0x002ull
#define PTE_U		0x004ull
#define PTE_A		0x020ull
#define PTE_D		0x040ull
#define PTE_PS		0x080ull
#define PTE_XD		(1ull << 63)

#define CR0_WP		(1u << 16)
#define CR0_PG		(1u << 31)
#define CR4_PSE		(1u << 4)
#define CR4_PGE		(1u << 7)
#define CR4_OSFXSR	(1u << 9)
#define CR4_PAE		(1u << 5)
#define CR4_SMEP	(1u << 20)
#define CR4_SMAP	(1u << 21)
#define MSR_EFER	0xc0000080u
#define EFER_NXE	(1u << 11)

/* #PF error code (SDM Vol. 3A 4.7). */
#define PF_P		0x01u
#define PF_W		0x02u
#define PF_U		0x04u
#define PF_RSVD		0x08u
#define PF_ID		0x10u

#define VEC_GP		13u
#define VEC_PF		14u
#define VEC_DONE	0x80u	/* the probe's access completed */

/* Selectors of the GDT in pg.c. */
#define SEL_KCODE32	0x08
#define SEL_KDATA	0x10
#define SEL_KCODE64	0x18
#define SEL_UCODE32	0x23
#define SEL_UDATA	0x2b
#define SEL_UCODE64	0x33
#define SEL_TSS		0x38

/* Fixed linear layout (all modes). The kernel image, page-table pool and
 * tagged frames live in the identity-mapped supervisor area below
 * KERNEL_MAP_END; ring 3 runs from one user code page and one user stack
 * page; tests touch addresses at TEST_BASE (TEST_BASE64 in 4-level mode,
 * where the access runs in 64-bit mode under its own PML4E). */
#define KERNEL_MAP_END	0x00800000u
#define USER_CODE	0x00c00000u
#define USER_STACK	0x00c01000u
#define TEST_BASE	0x80000000u
#define TEST_BASE64	0x0000008000000000ull
#define TAG_OFFSET	0x800u	/* where in a tagged frame accesses land */

enum probe_kind {
	PROBE_READ, PROBE_WRITE, PROBE_FETCH,
	PROBE_LOAD_CR3, PROBE_LOAD_CR0, PROBE_LOAD_CR4,	/* value = new register */
	PROBE_NONE,					/* only the INVLPG */
};
#define PROBE_USER	0x1u	/* perform the access at CPL 3 */
#define PROBE_AC	0x2u	/* with EFLAGS.AC = 1 (supervisor only) */
#define PROBE_INVLPG	0x4u	/* INVLPG the address first */
#define PROBE_WIDE	0x8u	/* from 64-bit mode (IA-32e) */

struct probe {
	uint32_t kind, addr_lo, addr_hi, flags, value;
};

/* cpu.S */
uint32_t probe_run(const struct probe *p);
extern volatile uint32_t probe_vector, probe_err, probe_cr2_lo, probe_cr2_hi, probe_value;
extern const uint8_t user_stubs[], user_stubs_end[];
extern const uint32_t isr32_table[], isr64_table[];
void paging_enter_legacy(uint32_t cr3, uint32_t cr4_set);

enum pg_mode_kind { MODE_2LEVEL, MODE_2LEVEL_PSE, MODE_PAE, MODE_4LEVEL };

struct pg_mode {
	enum pg_mode_kind kind;
	const char *name;
	unsigned levels;	/* paging-structure levels, PML4/PDPT/PD/PT */
	bool wide;		/* 8-byte entries */
};

struct cpu_features {
	unsigned maxphyaddr;
	bool nx, smep, smap, pse, pse36, page1g;
};

struct pg_options {
	const char *suite;
	uint32_t seed, count;
	bool verbose;
	int block;		/* access: only this block, -1 for all */
	const char *expect;	/* scenarios: deliberately wrong expectation */
};

/* pg.c */
extern struct pg_mode mode;
extern struct cpu_features cpu;
extern struct pg_options opt;
extern uint32_t root_table;	/* CR3 of the base address space */

static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
static inline void reload_cr3(void) { write_cr3(read_cr3()); }
/* Table clears and copies the way kernels do them (REP STOSD / MOVSD). */
static inline void rep_stosd(uint32_t dst, uint32_t v, uint32_t dwords)
{
	__asm__ volatile("rep stosl" : "+D"(dst), "+c"(dwords) : "a"(v) : "memory");
}
static inline void rep_movsd(uint32_t dst, uint32_t src, uint32_t dwords)
{
	__asm__ volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(dwords) : : "memory");
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

__attribute__((noreturn)) void pg_exit(int code);
uint32_t pool_alloc(void);		/* zeroed 4 KiB page, identity mapped */
uint32_t pool_mark(void);
void pool_release(uint32_t mark);
uint64_t ent_get(uint32_t table, unsigned index);
void ent_set(uint32_t table, unsigned index, uint64_t v);
/* The entry at physical address slot (tables are identity mapped). */
void slot_set(uint32_t slot, uint64_t v);
uint64_t slot_get(uint32_t slot);
unsigned ent_index(uint64_t la, unsigned level);	/* level 0 = PT */
uint64_t ent_addr_mask(void);
bool ent_is_leaf(uint64_t e, unsigned level);
/* Map the 4 KiB page at la to pa in the tree at root, creating tables whose
 * entries are P|W|U so that the leaf's flags alone decide. */
void map_page(uint32_t root, uint64_t la, uint32_t pa, uint64_t flags);
/* Entry that translates la at level in the tree at root, 0 if the walk
 * stops earlier (not present or a large page above level). */
uint32_t ent_slot(uint32_t root, uint64_t la, unsigned level);
uint32_t new_address_space(void);	/* kernel + user mappings, nothing at TEST_BASE */
uint64_t test_base(void);
/* Control bits varied by the access suite; returns false if the CPU lacks one. */
bool env_set(bool wp, bool nxe, bool smep, bool smap);
void env_reset(void);
uint32_t tag_frame(unsigned i);		/* physical address of tagged frame i */
uint32_t tag_word(unsigned i);		/* the word at TAG_OFFSET in frame i */
uint32_t run_probe(enum probe_kind kind, uint64_t la, uint32_t flags, uint32_t value);
void fnv_mix(uint32_t *h, uint64_t v, unsigned bytes);
#define FNV_INIT 0x811c9dc5u

/* suites */
void suite_access(void);
void suite_random(void);
void suite_scenarios(void);

#endif
