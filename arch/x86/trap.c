/* Host GDT, TSS and IDT, and the report for any host exception. The host
 * never expects an exception: each one is reported in full, then the machine
 * is powered off with a failure status (never a silent triple fault). */
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"
#include "drivers/power.h"
#include "lib/printf.h"
#include "lib/string.h"

struct __packed tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes (SDM Vol. 3A 8.7)");

struct __packed idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate is 16 bytes (SDM Vol. 3A 6.14.1)");

#define IST_STACK_SIZE	16384
#define IST_CRITICAL	1	/* #DF, NMI and #MC run on their own stack */

static struct tss64 tss __aligned(16);
static uint8_t ist_stack[IST_STACK_SIZE] __aligned(16);
static uint64_t gdt[5] __aligned(16);
static struct idt_gate idt[32] __aligned(16);

extern const uint64_t isr_table[32];
extern uint8_t kernel_stack_bottom[], kernel_stack_top[];

static const char *const vector_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved (15)", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization exception",
	"#CP control protection", "reserved (22)", "reserved (23)", "reserved (24)",
	"reserved (25)", "reserved (26)", "reserved (27)", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security exception", "reserved (31)",
};

uint64_t trap_tss_base(void)
{
	return (uint64_t)&tss;
}

void trap_init(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
	struct desc_ptr gdtr = { sizeof(gdt) - 1, (uint64_t)gdt };
	struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)idt };

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull;	/* 0x08: 64-bit code, DPL 0 */
	gdt[2] = 0x00cf92000000ffffull;	/* 0x10: data, DPL 0 */
	/* 0x18: available 64-bit TSS (type 9), present, 16 bytes (SDM Vol. 3A 8.2.3) */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;

	tss.ist[IST_CRITICAL - 1] = (uint64_t)(ist_stack + IST_STACK_SIZE);
	tss.iomap_base = sizeof(tss);	/* no I/O bitmap */

	for (int v = 0; v < 32; v++) {
		uint64_t off = isr_table[v];
		idt[v] = (struct idt_gate){
			.offset_lo = off & 0xffff,
			.selector = HOST_CS,
			.ist = (v == 2 || v == 8 || v == 18) ? IST_CRITICAL : 0,
			.type_attr = 0x8e,	/* present, DPL 0, 64-bit interrupt gate */
			.offset_mid = (off >> 16) & 0xffff,
			.offset_hi = off >> 32,
		};
	}

	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "ltr %w3\n\t"
			 "lidt %4"
			 :
			 : "m"(gdtr), "i"(HOST_CS), "r"((uint64_t)HOST_DS), "r"((uint64_t)HOST_TSS),
			   "m"(idtr)
			 : "rax", "memory");
}

static bool on_a_stack(uint64_t p)
{
	return (p >= (uint64_t)kernel_stack_bottom && p + 16 <= (uint64_t)kernel_stack_top) ||
	       (p >= (uint64_t)ist_stack && p + 16 <= (uint64_t)(ist_stack + IST_STACK_SIZE));
}

/* Follow the frame-pointer chain (the kernel is built with frame pointers).
 * Addresses resolve with: addr2line -e build/umbra.elf ADDR */
void print_stack_trace(uint64_t rbp);
void print_stack_trace(uint64_t rbp)
{
	kprintf("stack trace (addr2line -e build/umbra.elf):");
	for (int depth = 0; depth < 16 && rbp && !(rbp & 7) && on_a_stack(rbp); depth++) {
		const uint64_t *frame = (const uint64_t *)rbp;
		kprintf(" %#llx", (unsigned long long)frame[1]);
		if (frame[0] <= rbp)
			break;	/* the chain must go up the stack */
		rbp = frame[0];
	}
	kprintf("\n");
}

void trap_handler(struct trap_frame *f);
void trap_handler(struct trap_frame *f)
{
	static int nested;

	if (nested++) {
		kprintf("\nfatal: exception %llu while reporting an exception\n",
			(unsigned long long)f->vector);
		power_off(POWER_FAIL);
	}
	kprintf("\nfatal: host exception %s (vector %llu), error code %#llx\n",
		vector_names[f->vector & 31], (unsigned long long)f->vector,
		(unsigned long long)f->error_code);
	kprintf("RIP %016llx  CS %04llx  RFLAGS %016llx  RSP %016llx  SS %04llx\n",
		(unsigned long long)f->rip, (unsigned long long)f->cs,
		(unsigned long long)f->rflags, (unsigned long long)f->rsp,
		(unsigned long long)f->ss);
	kprintf("CR0 %016llx  CR2 %016llx  CR3 %016llx  CR4 %016llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	kprintf("RAX %016llx  RBX %016llx  RCX %016llx  RDX %016llx\n",
		(unsigned long long)f->rax, (unsigned long long)f->rbx,
		(unsigned long long)f->rcx, (unsigned long long)f->rdx);
	kprintf("RSI %016llx  RDI %016llx  RBP %016llx  R8  %016llx\n",
		(unsigned long long)f->rsi, (unsigned long long)f->rdi,
		(unsigned long long)f->rbp, (unsigned long long)f->r8);
	kprintf("R9  %016llx  R10 %016llx  R11 %016llx  R12 %016llx\n",
		(unsigned long long)f->r9, (unsigned long long)f->r10,
		(unsigned long long)f->r11, (unsigned long long)f->r12);
	kprintf("R13 %016llx  R14 %016llx  R15 %016llx\n", (unsigned long long)f->r13,
		(unsigned long long)f->r14, (unsigned long long)f->r15);
	kprintf("stack trace: %#llx (faulting RIP)\n", (unsigned long long)f->rip);
	print_stack_trace(f->rbp);
	power_off(POWER_FAIL);
}
