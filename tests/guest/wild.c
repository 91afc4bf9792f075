/* A misbehaving test guest for the hypervisor's error paths. The command
 * line picks what it does after greeting:
 *   touch=ADDR  read guest-physical ADDR (hex) with paging off
 *   hlt         cli; hlt
 *   triple      load an empty IDT and raise #UD: triple fault
 *   vmxon       execute VMXON (VMX is hidden: #UD, then triple fault)
 *   spin        cli, then loop forever without exits
 *   paging32    32-bit paging with 4 MiB pages, an alias, then paging off again
 *   pae         PAE paging (no long mode) with 2 MiB pages and an alias
 *   doublefault 32-bit paging; a #PF whose delivery faults on the IDT
 *               entry for #PF (the IDT straddles a page that is not
 *               mapped): #DF, reported with its error code and CR2
 *   exit=N      exit with code N
 * Without a word it exits with code 0. */
#include "lib/glib.h"

int guest_entry(uint32_t magic, const struct mb1_info *mbi);

static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd_pae[4][512] __attribute__((aligned(4096)));

static uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

/* Identity-map the first 64 MiB, alias linear 0x40000000 -> physical
 * 0x800000, check a word through both, and (32-bit only) turn paging off
 * again. Returns true when every check held. */
static bool paging_check(bool pae)
{
	volatile uint32_t *phys = (volatile uint32_t *)0x800000;
	volatile uint32_t *alias = (volatile uint32_t *)0x40000000;
	bool ok;

	if (pae) {
		for (unsigned i = 0; i < 32; i++)
			pd_pae[0][i] = ((uint64_t)i << 21) | 0x83;
		pd_pae[1][0] = 0x800000 | 0x83;		/* 1 GiB -> 8 MiB */
		for (unsigned i = 0; i < 4; i++)
			pdpt[i] = (uint32_t)(uintptr_t)pd_pae[i] | 1;
		write_cr4(read_cr4() | 0x20);		/* PAE */
		write_cr3((uint32_t)(uintptr_t)pdpt);
	} else {
		for (unsigned i = 0; i < 16; i++)
			pd32[i] = (i << 22) | 0x83;
		pd32[256] = 0x800000 | 0x83;		/* 1 GiB -> 8 MiB, 4 MiB page */
		write_cr4(read_cr4() | 0x10);		/* PSE */
		write_cr3((uint32_t)(uintptr_t)pd32);
	}
	write_cr0(read_cr0() | 0x80000000u);
	phys[5] = 0x1234abcd;
	ok = alias[5] == 0x1234abcd && (read_cr0() & 0x80000000u);
	alias[6] = 0x0badf00d;
	ok = ok && phys[6] == 0x0badf00d;
	gprintf("guest: %s paging on, CR0 0x%x CR4 0x%x: alias %s\n", pae ? "PAE" : "32-bit",
		read_cr0(), read_cr4(), ok ? "ok" : "WRONG");
	if (!pae) {
		write_cr0(read_cr0() & ~0x80000000u);
		ok = ok && !(read_cr0() & 0x80000000u) && phys[6] == 0x0badf00d;
		gprintf("guest: paging off again, CR0 0x%x\n", read_cr0());
	}
	return ok;
}

/* #DF handler: error code on the stack (SDM Vol. 3A 6.15, interrupt 8). */
void df_report(uint32_t err, uint32_t cr2);
void df_report(uint32_t err, uint32_t cr2)
{
	gprintf("guest: double fault, error code %u, CR2 0x%x\n", err, cr2);
	guest_exit(0);
}
__asm__(".globl df_entry\n"
	"df_entry:\n"
	"	movl (%esp), %eax\n"
	"	movl %cr2, %ecx\n"
	"	pushl %ecx\n"
	"	pushl %eax\n"
	"	call df_report\n"
	"1:	jmp 1b\n");
void df_entry(void);

/* Identity-map 0-16 MiB with 4 MiB pages, put the IDT at 16 MiB - 72 so
 * that entry 8 (#DF) is the last one on a mapped page and entry 14 (#PF)
 * lies on the unmapped page at 16 MiB, then read unmapped memory: the
 * #PF's delivery faults reading its own gate, which is a #DF (table 6-5). */
static void double_fault(void)
{
	uint32_t base = 0x1000000u - 72;
	uint32_t *gate8 = (uint32_t *)(uintptr_t)(base + 8 * 8);
	uint32_t h = (uint32_t)(uintptr_t)df_entry;
	struct __attribute__((packed)) { uint16_t l; uint32_t b; } idtr = { 32 * 8 - 1, base };

	for (unsigned i = 0; i < 4; i++)
		pd32[i] = (i << 22) | 0x83;
	write_cr4(read_cr4() | 0x10);		/* PSE */
	write_cr3((uint32_t)(uintptr_t)pd32);
	write_cr0(read_cr0() | 0x80000000u);
	gate8[0] = (0x08u << 16) | (h & 0xffff);
	gate8[1] = (h & 0xffff0000u) | 0x8e00;	/* present 32-bit interrupt gate */
	__asm__ volatile("lidt %0" ::"m"(idtr));
	gprintf("guest: reading 0x2000000 with the #PF gate unmapped\n");
	gprintf("guest: read 0x%x\n", *(volatile uint32_t *)0x2000000);
}

static const char *find(const char *s, const char *word)
{
	for (; *s; s++) {
		const char *a = s, *b = word;

		while (*b && *a == *b)
			a++, b++;
		if (!*b && (s[-1] == ' '))
			return a;
	}
	return 0;
}

static uint32_t parse_num(const char *s)
{
	uint32_t v = 0;
	unsigned base = 10;

	if (s[0] == '0' && s[1] == 'x')
		base = 16, s += 2;
	for (;; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else
			break;
		v = v * base + d;
	}
	return v;
}

int guest_entry(uint32_t magic, const struct mb1_info *mbi)
{
	const char *cmd = (mbi->flags & 4) ? (const char *)(uintptr_t)mbi->cmdline : "";
	const char *arg;

	serial_init();
	gprintf("guest: wild guest starting (magic 0x%x), command line \"%s\"\n", magic, cmd);
	if ((arg = find(cmd, "touch="))) {
		uint32_t a = parse_num(arg);

		gprintf("guest: reading 0x%x\n", a);
		gprintf("guest: read 0x%x\n", *(volatile uint32_t *)(uintptr_t)a);
	} else if (find(cmd, "hlt")) {
		gprintf("guest: halting with interrupts disabled\n");
		__asm__ volatile("cli; hlt");
	} else if (find(cmd, "triple")) {
		static const struct __attribute__((packed)) { uint16_t l; uint32_t b; } idtr = { 0, 0 };

		gprintf("guest: empty IDT, then ud2\n");
		__asm__ volatile("lidt %0; ud2" ::"m"(idtr));
	} else if (find(cmd, "vmxon")) {
		static uint64_t region;

		gprintf("guest: executing VMXON\n");
		__asm__ volatile("vmxon %0" ::"m"(region));
	} else if (find(cmd, "paging32")) {
		return report("paging 32-bit", paging_check(false)) ? 0 : 1;
	} else if (find(cmd, "pae")) {
		return report("paging PAE", paging_check(true)) ? 0 : 1;
	} else if (find(cmd, "doublefault")) {
		double_fault();
	} else if (find(cmd, "spin")) {
		gprintf("guest: spinning forever\n");
		for (;;)
			__asm__ volatile("cli; pause");
	} else if ((arg = find(cmd, "exit="))) {
		return (int)parse_num(arg);
	}
	gprintf("guest: still running\n");
	return 0;
}
