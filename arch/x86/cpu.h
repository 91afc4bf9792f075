/* Thin inline wrappers over x86 instructions: CPUID, MSRs, control
 * registers, port I/O, descriptor tables. No policy lives here. */
#ifndef UMBRA_ARCH_X86_CPU_H
#define UMBRA_ARCH_X86_CPU_H

#include "include/bits.h"
#include "include/types.h"

/* CR0 (SDM Vol. 3A 2.5) */
#define CR0_PE		BIT(0)
#define CR0_MP		BIT(1)
#define CR0_EM		BIT(2)
#define CR0_TS		BIT(3)
#define CR0_ET		BIT(4)
#define CR0_NE		BIT(5)
#define CR0_WP		BIT(16)
#define CR0_AM		BIT(18)
#define CR0_NW		BIT(29)
#define CR0_CD		BIT(30)
#define CR0_PG		BIT(31)

/* CR4 (SDM Vol. 3A 2.5) */
#define CR4_VME		BIT(0)
#define CR4_PVI		BIT(1)
#define CR4_TSD		BIT(2)
#define CR4_DE		BIT(3)
#define CR4_PSE		BIT(4)
#define CR4_PAE		BIT(5)
#define CR4_MCE		BIT(6)
#define CR4_PGE		BIT(7)
#define CR4_PCE		BIT(8)
#define CR4_OSFXSR	BIT(9)
#define CR4_OSXMMEXCPT	BIT(10)
#define CR4_UMIP	BIT(11)
#define CR4_LA57	BIT(12)
#define CR4_VMXE	BIT(13)
#define CR4_SMXE	BIT(14)
#define CR4_FSGSBASE	BIT(16)
#define CR4_PCIDE	BIT(17)
#define CR4_OSXSAVE	BIT(18)
#define CR4_SMEP	BIT(20)
#define CR4_SMAP	BIT(21)
#define CR4_PKE		BIT(22)

/* EFER (MSR 0xc0000080) */
#define MSR_EFER	0xc0000080u
#define EFER_SCE	BIT(0)
#define EFER_LME	BIT(8)
#define EFER_LMA	BIT(10)
#define EFER_NXE	BIT(11)

#define MSR_IA32_FEATURE_CONTROL	0x03au
#define MSR_IA32_SYSENTER_CS		0x174u
#define MSR_IA32_SYSENTER_ESP		0x175u
#define MSR_IA32_SYSENTER_EIP		0x176u
#define MSR_IA32_DEBUGCTL		0x1d9u
#define MSR_IA32_PAT			0x277u
#define MSR_IA32_MTRRCAP		0x0feu
#define MSR_IA32_MTRR_DEF_TYPE		0x2ffu
#define MSR_FS_BASE			0xc0000100u
#define MSR_GS_BASE			0xc0000101u
#define MSR_KERNEL_GS_BASE		0xc0000102u

/* RFLAGS */
#define RFLAGS_CF	BIT(0)
#define RFLAGS_FIXED1	BIT(1)
#define RFLAGS_PF	BIT(2)
#define RFLAGS_ZF	BIT(6)
#define RFLAGS_TF	BIT(8)
#define RFLAGS_IF	BIT(9)
#define RFLAGS_DF	BIT(10)
#define RFLAGS_VM	BIT(17)
#define RFLAGS_AC	BIT(18)

/* Segment selectors of the host GDT built by boot/entry.asm. */
#define HOST_CS		0x08
#define HOST_DS		0x10
#define HOST_TSS	0x18

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
			 : "memory");
}

#define DEFINE_CR_ACCESSORS(n)							\
	static inline uint64_t read_cr##n(void)					\
	{									\
		uint64_t v;							\
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));		\
		return v;							\
	}									\
	static inline void write_cr##n(uint64_t v)				\
	{									\
		__asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory");	\
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

/* DR6 is not switched by the VMCS: the real one is the guest's. */
static inline uint64_t read_dr6(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static inline void write_dr6(uint64_t v)
{
	__asm__ volatile("mov %0, %%dr6" ::"r"(v));
}

static inline uint64_t read_rflags(void)
{
	uint64_t v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline uint64_t read_dr7(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void) { __asm__ volatile("pause"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

struct __packed desc_ptr {
	uint16_t limit;
	uint64_t base;
};

static inline void sgdt(struct desc_ptr *p) { __asm__ volatile("sgdt %0" : "=m"(*p)); }
static inline void sidt(struct desc_ptr *p) { __asm__ volatile("sidt %0" : "=m"(*p)); }
static inline uint16_t str(void) { uint16_t v; __asm__ volatile("str %0" : "=r"(v)); return v; }
#define read_seg(s) ({ uint16_t v_; __asm__ volatile("mov %%" #s ", %0" : "=r"(v_)); v_; })

/* CPU facts gathered once at boot (arch/x86/cpu.c). */
struct cpu_info {
	char vendor[13];
	char brand[49];
	uint32_t family, model, stepping;
	uint32_t max_leaf, max_ext_leaf;
	uint8_t maxphyaddr, maxlinaddr;
	bool vmx, nx, pdpe1gb, la57, smep, smap, pge, pcid, xsave, x2apic, hypervisor;
};
extern struct cpu_info boot_cpu;
void cpu_identify(void);
void cpu_print(void);

#endif
