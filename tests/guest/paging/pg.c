/* The paging guest's core: command line, CPU features, descriptor tables,
 * entry into the requested paging mode, the page-table pool and generic
 * entry helpers shared by the suites.
 *
 * Command line: mode=2level|2level-pse|pae|4level suite=access|random|scenarios
 *               seed=N count=N verbose=1 block=K (access: run only block K)
 *               expect=wrong (scenarios: demonstrate a failing self-check) */
#include "paging/pg.h"

int guest_entry(uint32_t magic, const struct mb1_info *mbi);
void pg_stray_trap(void);
extern uint32_t trap_ip;

struct pg_mode mode;
struct cpu_features cpu;
struct pg_options opt = { .suite = "access", .seed = 1, .count = 2000, .block = -1 };
uint32_t root_table;

/* ---- command line ---------------------------------------------------------- */

static char words[8][24];

/* The value of key=... in cmdline copied to a static buffer, or NULL. */
static const char *opt_get(const char *cmdline, const char *key, unsigned slot)
{
	for (const char *s = cmdline; *s; s++) {
		const char *a = s, *k = key;

		if (s != cmdline && s[-1] != ' ')
			continue;
		while (*k && *a == *k)
			a++, k++;
		if (*k || *a != '=')
			continue;
		a++;
		unsigned n = 0;
		while (*a && *a != ' ' && n < sizeof(words[0]) - 1)
			words[slot][n++] = *a++;
		words[slot][n] = 0;
		return words[slot];
	}
	return NULL;
}

static uint32_t parse_u32(const char *s)
{
	uint32_t v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint32_t)(*s++ - '0');
	return v;
}

/* ---- CPU features (CPUID, SDM Vol. 2A) ----------------------------------------- */

static void cpu_probe_features(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	cpu.pse = r[3] & (1u << 3);
	cpu.pse36 = r[3] & (1u << 17);
	cpuid(0, 0, r);
	if (r[0] >= 7) {
		cpuid(7, 0, r);
		cpu.smep = r[1] & (1u << 7);
		cpu.smap = r[1] & (1u << 20);
	}
	cpuid(0x80000000, 0, r);
	uint32_t max_ext = r[0];
	cpuid(0x80000001, 0, r);
	cpu.nx = r[3] & (1u << 20);
	cpu.page1g = r[3] & (1u << 26);
	cpu.maxphyaddr = 36;
	if (max_ext >= 0x80000008) {
		cpuid(0x80000008, 0, r);
		cpu.maxphyaddr = r[0] & 0xff;
	}
}

/* ---- descriptor tables ------------------------------------------------------- */

static uint64_t gdt[9] = {
	0,
	0x00cf9b000000ffffull,	/* 0x08 code32, DPL 0 */
	0x00cf93000000ffffull,	/* 0x10 data, DPL 0 */
	0x00af9b000000ffffull,	/* 0x18 code64 (L = 1), DPL 0 */
	0x00cffb000000ffffull,	/* 0x20 code32, DPL 3 */
	0x00cff3000000ffffull,	/* 0x28 data, DPL 3 */
	0x00affb000000ffffull,	/* 0x30 code64, DPL 3 */
	0, 0,			/* 0x38 TSS (16 bytes in IA-32e mode) */
};
/* 32-bit TSS: ESP0 at 4, SS0 at 8; 64-bit TSS: RSP0 at 4 (SDM Vol. 3A
 * 7.2.1, 8.7). The I/O map base beyond the limit means no bitmap. */
static uint32_t tss[26] __attribute__((aligned(16)));
static uint64_t idt[2 * 256] __attribute__((aligned(16)));
static uint8_t kstack0[8192] __attribute__((aligned(16)));
static struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gdtr, idtr;

_Static_assert(SEL_KCODE32 == 0x08 && SEL_KDATA == 0x10, "gdt_load() (lib/lm.S) loads these");

static void gdt_setup(void)
{
	uint32_t base = (uint32_t)(uintptr_t)tss;

	gdt[7] = 0x0000890000000067ull | ((uint64_t)(base & 0xffffff) << 16) |
		 ((uint64_t)(base >> 24) << 56);
	tss[1] = (uint32_t)(uintptr_t)&kstack0[sizeof(kstack0)];
	tss[2] = mode.kind == MODE_4LEVEL ? 0 : SEL_KDATA;
	tss[25] = 104u << 16;
	gdtr.limit = sizeof(gdt) - 1;
	gdtr.base = (uint32_t)(uintptr_t)gdt;
	gdt_load(&gdtr);	/* CS = SEL_KCODE32, data = SEL_KDATA */
}

/* Interrupt gates for vectors 0-31 and INT 0x80 (DPL 3 so ring 3 may use
 * it): 8-byte gates to 32-bit code, or 16-byte gates to 64-bit code in
 * IA-32e mode (SDM Vol. 3A 6.11, 6.14.1). */
static void idt_load(void)
{
	bool wide = mode.kind == MODE_4LEVEL;
	const uint32_t *stubs = wide ? isr64_table : isr32_table;

	for (unsigned i = 0; i < 33; i++) {
		unsigned vec = i < 32 ? i : 0x80;
		uint32_t off = stubs[i];
		uint64_t dpl = vec == 0x80 ? 3 : 0;
		uint64_t gate = (off & 0xffff) | ((uint64_t)(wide ? SEL_KCODE64 : SEL_KCODE32) << 16) |
				((0x8eull | dpl << 5) << 40) | ((uint64_t)(off >> 16) << 48);

		if (wide) {
			idt[2 * vec] = gate;
			idt[2 * vec + 1] = 0;
		} else {
			idt[vec] = gate;
		}
	}
	idtr.limit = wide ? 16 * 256 - 1 : 8 * 256 - 1;
	idtr.base = (uint32_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" ::"m"(idtr));
}

static void tss_load(void)
{
	__asm__ volatile("ltr %w0" ::"r"(SEL_TSS));
}

/* Exit through port 0xf4 (Umbra ends the guest there); on the bare CPU
 * that port does nothing, so then power Bochs off through its shutdown
 * port 0x8900 (the UART is drained first, or queued bytes are lost). */
__attribute__((noreturn)) void pg_exit(int code)
{
	static const char shutdown[] = "Shutdown";

	while (!(inb(0x3f8 + 5) & 0x40))
		;
	outl(0xf4, (uint32_t)code);
	for (const char *p = shutdown; *p; p++)
		outb(0x8900, (uint8_t)*p);
	guest_exit(code);
}

void pg_stray_trap(void)
{
	gprintf("pg: FAIL stray exception %u error 0x%x at 0x%x cr2 0x%x\n", probe_vector,
		probe_err, trap_ip, probe_cr2_lo);
	pg_exit(3);
}

/* ---- page-table pool and entries ---------------------------------------------- */

#define POOL_PAGES 192
static uint8_t pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static uint32_t pool_next;

uint32_t pool_alloc(void)
{
	if (pool_next == POOL_PAGES) {
		gprintf("pg: FAIL page-table pool exhausted\n");
		pg_exit(3);
	}
	gmemset(pool[pool_next], 0, 4096);
	return (uint32_t)(uintptr_t)pool[pool_next++];
}

uint32_t pool_mark(void) { return pool_next; }
void pool_release(uint32_t mark) { pool_next = mark; }

uint64_t ent_get(uint32_t table, unsigned index)
{
	if (mode.wide)
		return ((volatile uint64_t *)(uintptr_t)table)[index];
	return ((volatile uint32_t *)(uintptr_t)table)[index];
}

void ent_set(uint32_t table, unsigned index, uint64_t v)
{
	if (mode.wide)
		((volatile uint64_t *)(uintptr_t)table)[index] = v;
	else
		((volatile uint32_t *)(uintptr_t)table)[index] = (uint32_t)v;
}

void slot_set(uint32_t slot, uint64_t v)
{
	if (mode.wide)
		*(volatile uint64_t *)(uintptr_t)slot = v;
	else
		*(volatile uint32_t *)(uintptr_t)slot = (uint32_t)v;
}

uint64_t slot_get(uint32_t slot)
{
	if (mode.wide)
		return *(volatile uint64_t *)(uintptr_t)slot;
	return *(volatile uint32_t *)(uintptr_t)slot;
}

/* Index bits of a linear address (SDM Vol. 3A figures 4-2, 4-5, 4-8). */
unsigned ent_index(uint64_t la, unsigned level)
{
	if (!mode.wide)
		return (unsigned)(la >> (12 + 10 * level)) & 1023;
	if (mode.kind == MODE_PAE && level == 2)
		return (unsigned)(la >> 30) & 3;
	return (unsigned)(la >> (12 + 9 * level)) & 511;
}

uint64_t ent_addr_mask(void)
{
	return mode.wide ? 0x000ffffffffff000ull : 0xfffff000ull;
}

/* Does entry e at level map a page (rather than reference a table)?
 * PS counts in PDEs with CR4.PSE (32-bit paging) or PAE, and in 4-level
 * PDPTEs (SDM Vol. 3A 4.3, 4.4.2, 4.5.4). */
bool ent_is_leaf(uint64_t e, unsigned level)
{
	if (level == 0)
		return true;
	if (!(e & PTE_PS))
		return false;
	switch (mode.kind) {
	case MODE_2LEVEL:
		return false;
	case MODE_2LEVEL_PSE:
	case MODE_PAE:
		return level == 1;
	case MODE_4LEVEL:
		return level <= 2;
	}
	return false;
}

uint32_t ent_slot(uint32_t root, uint64_t la, unsigned level)
{
	uint32_t table = root;

	for (unsigned l = mode.levels - 1; l > level; l--) {
		uint64_t e = ent_get(table, ent_index(la, l));

		if (!(e & PTE_P) || ent_is_leaf(e, l))
			return 0;
		table = (uint32_t)(e & ent_addr_mask());
	}
	return table + ent_index(la, level) * (mode.wide ? 8 : 4);
}

void map_page(uint32_t root, uint64_t la, uint32_t pa, uint64_t flags)
{
	uint32_t table = root;

	for (unsigned l = mode.levels - 1; l > 0; l--) {
		unsigned i = ent_index(la, l);
		uint64_t e = ent_get(table, i);

		if (!(e & PTE_P)) {
			/* PAE PDPTEs have no R/W or U/S bits (SDM Vol. 3A 4.4.1). */
			uint64_t up = mode.kind == MODE_PAE && l == 2 ? PTE_P : PTE_P | PTE_W | PTE_U;

			e = pool_alloc() | up;
			ent_set(table, i, e);
		}
		table = (uint32_t)(e & ent_addr_mask());
	}
	ent_set(table, ent_index(la, 0), pa | flags);
}

/* ---- address spaces -------------------------------------------------------------- */

static uint8_t user_code_frame[4096] __attribute__((aligned(4096)));
static uint8_t user_stack_frame[4096] __attribute__((aligned(4096)));
static uint8_t tag_frames[4][4096] __attribute__((aligned(4096)));

uint32_t tag_frame(unsigned i) { return (uint32_t)(uintptr_t)tag_frames[i]; }
uint32_t tag_word(unsigned i) { return 0x80cdu | (0x7a00u + i) << 16; }

/* A fresh tree: the supervisor identity map of the first KERNEL_MAP_END
 * bytes (page 0 left out), the user code and stack pages, nothing else. */
uint32_t new_address_space(void)
{
	uint32_t root = pool_alloc();

	for (uint32_t a = 0x1000; a < KERNEL_MAP_END; a += 4096)
		map_page(root, a, a, PTE_P | PTE_W | PTE_A | PTE_D);
	map_page(root, USER_CODE, (uint32_t)(uintptr_t)user_code_frame, PTE_P | PTE_U | PTE_A);
	map_page(root, USER_STACK, (uint32_t)(uintptr_t)user_stack_frame,
		 PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
	return root;
}

uint64_t test_base(void)
{
	return mode.kind == MODE_4LEVEL ? TEST_BASE64 : TEST_BASE;
}

uint32_t run_probe(enum probe_kind kind, uint64_t la, uint32_t flags, uint32_t value)
{
	struct probe p = { kind, (uint32_t)la, (uint32_t)(la >> 32), flags, value };

	if (mode.kind == MODE_4LEVEL)
		p.flags |= PROBE_WIDE;
	return probe_run(&p);
}

void fnv_mix(uint32_t *h, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		*h ^= (uint8_t)(v >> (8 * i));
		*h *= 0x01000193u;
	}
}

/* ---- control bits ------------------------------------------------------------------ */

bool env_set(bool wp, bool nxe, bool smep, bool smap)
{
	if ((nxe && !cpu.nx) || (smep && !cpu.smep) || (smap && !cpu.smap))
		return false;
	uint32_t cr0 = read_cr0(), cr4 = read_cr4();

	cr0 = wp ? cr0 | CR0_WP : cr0 & ~CR0_WP;
	cr4 &= ~(CR4_SMEP | CR4_SMAP);
	cr4 |= (smep ? CR4_SMEP : 0) | (smap ? CR4_SMAP : 0);
	write_cr0(cr0);
	write_cr4(cr4);
	if (cpu.nx) {
		uint64_t efer = rdmsr(MSR_EFER);

		wrmsr(MSR_EFER, nxe ? efer | EFER_NXE : efer & ~(uint64_t)EFER_NXE);
	}
	return true;
}

void env_reset(void)
{
	env_set(true, cpu.nx, false, false);
}

/* ---- entry ---------------------------------------------------------------------------- */

static bool mode_select(const char *name)
{
	static const struct pg_mode modes[] = {
		{ MODE_2LEVEL, "2level", 2, false },
		{ MODE_2LEVEL_PSE, "2level-pse", 2, false },
		{ MODE_PAE, "pae", 3, true },
		{ MODE_4LEVEL, "4level", 4, true },
	};

	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (name && !gstrcmp(name, modes[i].name)) {
			mode = modes[i];
			return true;
		}
	return false;
}

static void paging_start(void)
{
	const uint8_t *src = user_stubs;

	for (unsigned i = 0; src + i < user_stubs_end; i++)
		user_code_frame[i] = src[i];
	for (unsigned i = 0; i < 4; i++)
		*(uint32_t *)&tag_frames[i][TAG_OFFSET] = tag_word(i);
	root_table = new_address_space();
	switch (mode.kind) {
	case MODE_2LEVEL:
		paging_enter_legacy(root_table, 0);
		break;
	case MODE_2LEVEL_PSE:
		paging_enter_legacy(root_table, CR4_PSE);
		break;
	case MODE_PAE:
		paging_enter_legacy(root_table, CR4_PAE);
		break;
	case MODE_4LEVEL:
		lm_enter(root_table, 0);
		break;
	}
	tss_load();
	env_reset();
}

int guest_entry(uint32_t magic, const struct mb1_info *mbi)
{
	const char *cmdline = (magic == 0x2badb002 && (mbi->flags & 4)) ?
		(const char *)(uintptr_t)mbi->cmdline : "";
	const char *v;

	serial_init();
	/* GRUB hands over with caches disabled (CD, NW); paging does not care. */
	write_cr0(read_cr0() & ~0x60000000u);
	if (!mode_select(opt_get(cmdline, "mode", 0))) {
		gprintf("pg: FAIL mode=2level|2level-pse|pae|4level required\n");
		pg_exit(2);
	}
	if ((v = opt_get(cmdline, "suite", 1)))
		opt.suite = v;
	if ((v = opt_get(cmdline, "seed", 2)))
		opt.seed = parse_u32(v);
	if ((v = opt_get(cmdline, "count", 3)))
		opt.count = parse_u32(v);
	if ((v = opt_get(cmdline, "verbose", 4)))
		opt.verbose = v[0] == '1';
	opt.expect = opt_get(cmdline, "expect", 5);
	if ((v = opt_get(cmdline, "block", 6)))
		opt.block = (int)parse_u32(v);
	cpu_probe_features();
	gprintf("pg: start mode %s suite %s\n", mode.name, opt.suite);
	gprintf("pg: cpu maxphyaddr %u nx %u smep %u smap %u pse %u pse36 %u 1g %u\n",
		cpu.maxphyaddr, cpu.nx, cpu.smep, cpu.smap, cpu.pse, cpu.pse36, cpu.page1g);
	if (mode.kind == MODE_2LEVEL_PSE && !cpu.pse) {
		gprintf("pg: skip mode %s: cpu lacks PSE\n", mode.name);
		gprintf("pg: done skipped\n");
		pg_exit(0);
	}
	gdt_setup();
	idt_load();
	paging_start();
	if (!gstrcmp(opt.suite, "access"))
		suite_access();
	else if (!gstrcmp(opt.suite, "random"))
		suite_random();
	else if (!gstrcmp(opt.suite, "scenarios"))
		suite_scenarios();
	else {
		gprintf("pg: FAIL unknown suite %s\n", opt.suite);
		pg_exit(2);
	}
	pg_exit(0);
}
