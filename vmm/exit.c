/* VM-exit dispatch and handlers (SDM Vol. 3C chapter 28 "VM Exits", and
 * chapter 26 for which instructions exit).
 *
 * Policy for a guest's misbehaviour: the guest's fault is the guest's. An
 * EPT violation (memory the guest does not own), a triple fault, HLT (no
 * interrupt source exists, so HLT never ends), string I/O, a failed VM entry
 * or any exit reason without a handler is reported with what is known and
 * ends that guest; the host carries on with the next one. */
#include <stdarg.h>
#include "arch/x86/cpu.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "vmm/guest.h"
#include "vmm/options.h"

#define PORT_COM1	0x3f8
#define PORT_EXIT	0xf4
#define VECTOR_UD	6
#define VECTOR_GP	13
#define VECTOR_PF	14

void guest_stop(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	g->state = GUEST_STOPPED;
	uart_flush(&g->uart);
	kprintf("vmm: guest '%s' stopped: %s (RIP 0x%llx)\n", g->name, g->why,
		(unsigned long long)vmcs_read(VMCS_GUEST_RIP));
}

/* Past the exiting instruction; it also ends STI/MOV-SS blocking (SDM
 * Vol. 3C 25.4.2). */
static void skip_insn(void)
{
	uint64_t intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);

	vmcs_write(VMCS_GUEST_RIP, vmcs_read(VMCS_GUEST_RIP) + vmcs_read(VMCS_EXIT_INSN_LEN));
	if (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS));
}

/* Event injection of a hardware exception (SDM Vol. 3C 27.6). */
void exit_inject_exception(unsigned vector, bool has_error, uint32_t error)
{
	uint64_t info = vector | ((uint64_t)INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) |
			INTR_INFO_VALID;

	if (has_error) {
		info |= INTR_INFO_ERROR_CODE;
		vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR, error);
	}
	vmcs_write(VMCS_ENTRY_INTR_INFO, info);
}

static void inject_gp(void) { exit_inject_exception(VECTOR_GP, true, 0); }
static void inject_ud(void) { exit_inject_exception(VECTOR_UD, false, 0); }

static uint64_t *gpr(struct guest *g, unsigned n)
{
	static uint64_t rsp_tmp;

	switch (n) {
	case 0: return &g->regs.rax;
	case 1: return &g->regs.rcx;
	case 2: return &g->regs.rdx;
	case 3: return &g->regs.rbx;
	case 4: rsp_tmp = vmcs_read(VMCS_GUEST_RSP); return &rsp_tmp;
	case 5: return &g->regs.rbp;
	case 6: return &g->regs.rsi;
	case 7: return &g->regs.rdi;
	case 8: return &g->regs.r8;
	case 9: return &g->regs.r9;
	case 10: return &g->regs.r10;
	case 11: return &g->regs.r11;
	case 12: return &g->regs.r12;
	case 13: return &g->regs.r13;
	case 14: return &g->regs.r14;
	default: return &g->regs.r15;
	}
}

static bool guest_long_mode(void)
{
	return vmcs_read(VMCS_ENTRY_CTLS) & ENTRY_IA32E_MODE_GUEST;
}

static bool guest_64bit_code(void)
{
	return guest_long_mode() && (vmcs_read(VMCS_GUEST_CS_AR) & AR_L);
}

/* Write a 32-bit result the way the CPU does outside 64-bit code: the upper
 * half of the register is cleared in 64-bit mode and undefined otherwise. */
static void set_reg32(uint64_t *r, uint32_t v) { *r = v; }

/* ---- CPUID ---------------------------------------------------------------- */

/* Host CPUID with what the guest must not see removed (SDM Vol. 2A CPUID):
 * VMX and SMX (no nested virtualisation), MONITOR/MWAIT (they exit and get
 * #UD), the local APIC and x2APIC, TSC-deadline and PDCM (nothing behind
 * them), one logical processor in leaves 1, 4, 0xB and 0x1F, the hypervisor
 * bit and an "UmbraUmbraUm" vendor leaf at 0x40000000, RDTSCP and INVPCID
 * only when enabled in the secondary controls, OSXSAVE from the guest's CR4,
 * and no architectural performance monitoring. */
static void handle_cpuid(struct guest *g)
{
	uint32_t leaf = (uint32_t)g->regs.rax, sub = (uint32_t)g->regs.rcx;
	struct cpuid_regs r = { 0 };

	if (leaf >= 0x40000000u && leaf <= 0x4fffffffu) {
		if (leaf == 0x40000000u) {
			r.eax = 0x40000000u;
			memcpy(&r.ebx, "Umbr", 4);
			memcpy(&r.ecx, "aUmb", 4);
			memcpy(&r.edx, "raUm", 4);
		}
	} else {
		r = cpuid(leaf, sub);
		switch (leaf) {
		case 1: {
			uint64_t cr4 = (vmcs_read(VMCS_GUEST_CR4) & ~g->cr4_mask) |
				       (vmcs_read(VMCS_CR4_SHADOW) & g->cr4_mask);
			r.ecx &= ~(uint32_t)(BIT(3) | BIT(5) | BIT(6) | BIT(15) | BIT(21) | BIT(24) |
					     CPUID1_ECX_OSXSAVE);
			if (cr4 & CR4_OSXSAVE)
				r.ecx |= CPUID1_ECX_OSXSAVE;
			if (g->shadow)
				r.ecx &= ~(uint32_t)BIT(17);	/* PCID */
			r.ecx |= CPUID1_ECX_HYPERVISOR;
			r.edx &= ~(uint32_t)(BIT(9) | BIT(28));	/* APIC, HTT */
			r.ebx &= 0x0000ffffu;			/* APIC ID 0, 1 logical CPU */
			r.ebx |= 1u << 16;
			break;
		}
		case 4:
			r.eax &= 0x3fff;			/* one core, one thread per cache */
			break;
		case 5:
		case 0xa:
			r = (struct cpuid_regs){ 0 };
			break;
		case 7:
			if (sub == 0) {
				if (!(vmx_cfg.proc2 & CPU2_INVPCID))
					r.ebx &= ~(uint32_t)BIT(10);
				r.ebx &= ~(uint32_t)BIT(2);	/* SGX */
				r.ecx &= ~(uint32_t)BIT(5);	/* WAITPKG */
				if (g->shadow) {
					r.ebx &= ~(uint32_t)BIT(10);	/* INVPCID */
					r.ecx &= ~(uint32_t)(BIT(3) | BIT(4));	/* PKU, OSPKE */
				}
			}
			break;
		case 0xb:
		case 0x1f:
			r.edx = 0;
			if (sub == 0) {
				r.eax = 0;
				r.ebx = 1;
				r.ecx = (1u << 8) | sub;
			} else if (sub == 1) {
				r.eax = 0;
				r.ebx = 1;
				r.ecx = (2u << 8) | sub;
			} else {
				r.eax = r.ebx = 0;
				r.ecx = sub;
			}
			break;
		case 0x80000001u:
			if (!(vmx_cfg.proc2 & CPU2_RDTSCP))
				r.edx &= ~(uint32_t)BIT(27);
			break;
		}
	}
	g->regs.rax = r.eax;
	g->regs.rbx = r.ebx;
	g->regs.rcx = r.ecx;
	g->regs.rdx = r.edx;
	skip_insn();
}

/* ---- port I/O --------------------------------------------------------------- */

/* Port policy: COM1 (0x3f8-0x3ff) is an emulated 16550; port 0xf4 ends the
 * guest with the written value as its exit code; port 0x80 (POST codes)
 * ignores writes; every other port reads as all-ones (an empty bus) and
 * ignores writes, and those accesses are counted. String I/O (INS/OUTS)
 * is not emulated: the guest is stopped. */
static void handle_io(struct guest *g, uint64_t qual)
{
	unsigned size = (unsigned)(qual & IOQ_SIZE_MASK) + 1;
	bool in = qual & IOQ_IN;
	uint16_t port = (uint16_t)(qual >> IOQ_PORT_SHIFT);
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	uint32_t val = (uint32_t)g->regs.rax & mask;

	if (qual & IOQ_STRING) {
		guest_stop(g, "string I/O (%s) on port 0x%x is not emulated", in ? "INS" : "OUTS", port);
		return;
	}
	if (port >= PORT_COM1 && port < PORT_COM1 + 8) {
		if (in) {
			val = 0;
			for (unsigned i = 0; i < size; i++)
				val |= (uint32_t)uart_read(&g->uart, (port + i - PORT_COM1) & 7) << (8 * i);
		} else {
			for (unsigned i = 0; i < size; i++)
				uart_write(&g->uart, (port + i - PORT_COM1) & 7, (uint8_t)(val >> (8 * i)));
		}
	} else if (port == PORT_EXIT && !in) {
		g->exit_code = val;
		g->state = GUEST_EXITED;
		skip_insn();
		return;
	} else if (in) {
		val = 0xffffffffu;
		g->io_other_reads++;
		if (g->io_other_reads <= 4)
			pr_info("vmm: guest '%s': read of unclaimed port 0x%x returns all-ones\n",
				g->name, port);
	} else {
		if (port != 0x80) {
			g->io_other_writes++;
			if (g->io_other_writes <= 4)
				pr_info("vmm: guest '%s': write 0x%x to unclaimed port 0x%x ignored\n",
					g->name, val, port);
		}
	}
	if (in)
		g->regs.rax = (g->regs.rax & ~(uint64_t)mask) | (val & mask);
	if (in && size == 4)
		g->regs.rax &= 0xffffffffull;
	skip_insn();
}

/* ---- control registers ---------------------------------------------------- */

static uint64_t guest_cr0(struct guest *g)
{
	return (vmcs_read(VMCS_GUEST_CR0) & ~g->cr0_mask) | (vmcs_read(VMCS_CR0_SHADOW) & g->cr0_mask);
}

static uint64_t guest_cr4(struct guest *g)
{
	return (vmcs_read(VMCS_GUEST_CR4) & ~g->cr4_mask) | (vmcs_read(VMCS_CR4_SHADOW) & g->cr4_mask);
}

static uint64_t guest_efer(struct guest *g)
{
	return g->idpt_active || g->shadow ? g->efer : vmcs_read(VMCS_GUEST_EFER);
}

/* With EPT and PAE paging (not IA-32e), VM entry loads the PDPTEs from the
 * VMCS (SDM Vol. 3C 27.3.2.4); an emulated MOV to CR0/CR3/CR4 that enters
 * or stays in PAE paging must therefore load them as the CPU would
 * (SDM Vol. 3A 4.4.1). read_pdptes() returns false when one has reserved
 * bits set (#GP); it changes nothing, so a faulting MOV has no effect. */
static bool read_pdptes(struct guest *g, uint64_t cr3, uint64_t pdpte[4])
{
	uint64_t *p = guest_gpa_ptr(g, cr3 & 0xffffffe0ull, 32);

	for (unsigned i = 0; i < 4; i++) {
		pdpte[i] = p ? p[i] : 0;
		if ((pdpte[i] & 1) && (pdpte[i] & (0x1e6ull | ~((1ull << boot_cpu.maxphyaddr) - 1))))
			return false;
	}
	return true;
}

static void write_pdptes(const uint64_t pdpte[4])
{
	for (unsigned i = 0; i < 4; i++)
		vmcs_write((enum vmcs_field)(VMCS_GUEST_PDPTE0 + 2 * i), pdpte[i]);
}

static bool load_pdptes(struct guest *g, uint64_t cr3)
{
	uint64_t pdpte[4];

	if (!read_pdptes(g, cr3, pdpte))
		return false;
	write_pdptes(pdpte);
	return true;
}

void exit_flush_guest_tlb(struct guest *g)
{
	if (vmx_cfg.vpid)
		invvpid(vmx_cfg.invvpid_type, vmx_cfg.invvpid_type == INVVPID_SINGLE ? g->vpid : 0, 0);
}

/* Apply a new guest view of CR0/CR4/EFER/CR3 to the VMCS. Without
 * unrestricted guest and with the guest's CR0.PG clear, the real CR0 keeps
 * PE and PG, CR3 points at the identity table and CR4 has PSE without PAE;
 * otherwise the guest's values are used, with EFER.LMA = LME & PG and the
 * IA-32e mode guest entry control following LMA (SDM Vol. 3A 9.8.5,
 * Vol. 3C 25.8.1). */
static bool apply_paging_state(struct guest *g, uint64_t cr0, uint64_t cr4, uint64_t efer, uint64_t cr3,
			       bool pdpte_load)
{
	const struct vmx_config *c = &vmx_cfg;
	uint64_t fixed0 = vmx_guest_cr0_fixed0(c);
	bool pg = cr0 & CR0_PG;
	bool lma = pg && (efer & EFER_LME);
	bool pae_paging = pg && (cr4 & CR4_PAE) && !lma;
	uint64_t pdpte[4];

	/* A stopped guest needs no #GP: report success. */
	if (g->shadow)
		return smmu_set_paging(g, cr0, cr4, efer, cr3, pdpte_load) != SMMU_GP;
	/* Check the PDPTEs before anything changes (SDM Vol. 3A 4.4.1). */
	if (pae_paging && !read_pdptes(g, cr3, pdpte))
		return false;

	vmcs_write(VMCS_CR0_SHADOW, cr0);
	vmcs_write(VMCS_CR4_SHADOW, cr4);
	if (!c->unrestricted && !pg) {
		g->idpt_active = true;
		g->efer = efer & ~EFER_LMA;
		g->cr3 = cr3;
		vmcs_write(VMCS_GUEST_CR0, ((cr0 | fixed0 | CR0_PE | CR0_PG) & c->cr0_fixed1) &
					   ~(uint64_t)(CR0_CD | CR0_NW));
		vmcs_write(VMCS_GUEST_CR4, ((cr4 | c->cr4_fixed0 | CR4_PSE) & c->cr4_fixed1 &
					    ~(uint64_t)(CR4_PAE | CR4_PCIDE | CR4_LA57)));
		vmcs_write(VMCS_GUEST_CR3, IDPT_GPA);
		vmcs_write(VMCS_GUEST_EFER, g->efer & ~EFER_LME);
		vmcs_write(VMCS_PROC_CTLS, vmcs_read(VMCS_PROC_CTLS) |
			   ((CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING) & c->proc_allowed1));
		vmcs_write(VMCS_EXCEPTION_BITMAP, BIT(VECTOR_PF));
	} else {
		if (g->idpt_active) {
			g->idpt_active = false;
			vmcs_write(VMCS_PROC_CTLS, (vmcs_read(VMCS_PROC_CTLS) &
				   ~(uint64_t)(CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING)) | c->proc);
			vmcs_write(VMCS_EXCEPTION_BITMAP, 0);
		}
		vmcs_write(VMCS_GUEST_CR0, ((cr0 | fixed0) & c->cr0_fixed1) & ~(uint64_t)(CR0_CD | CR0_NW));
		vmcs_write(VMCS_GUEST_CR4, (cr4 | c->cr4_fixed0) & c->cr4_fixed1);
		vmcs_write(VMCS_GUEST_CR3, cr3);
		vmcs_write(VMCS_GUEST_EFER, lma ? efer | EFER_LMA : efer & ~EFER_LMA);
		if (pae_paging)
			write_pdptes(pdpte);
	}
	vmcs_sync_ia32e();
	exit_flush_guest_tlb(g);
	return true;
}

static uint64_t guest_cr3(struct guest *g)
{
	return g->idpt_active || g->shadow ? g->cr3 : vmcs_read(VMCS_GUEST_CR3);
}

/* MOV to CR0 checks (SDM Vol. 2B MOV CR, Vol. 3A 9.8.5): reserved bits,
 * PG without PE, NW without CD, enabling PG with LME but without PAE,
 * clearing PG in 64-bit code. */
static void emulate_mov_cr0(struct guest *g, uint64_t val)
{
	uint64_t old = guest_cr0(g), efer = guest_efer(g), cr4 = guest_cr4(g);

	val |= CR0_ET;
	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)) ||
	    ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME) && !(cr4 & CR4_PAE)) ||
	    (!(val & CR0_PG) && guest_64bit_code())) {
		inject_gp();
		return;
	}
	/* SDM Vol. 3A 4.4.1: MOV to CR0 changing CD, NW or PG loads PDPTEs. */
	if (!apply_paging_state(g, val, cr4, efer & ~EFER_LMA, guest_cr3(g),
				(val ^ old) & (CR0_CD | CR0_NW | CR0_PG))) {
		inject_gp();
		return;
	}
	skip_insn();
}

static void emulate_mov_cr4(struct guest *g, uint64_t val)
{
	uint64_t cr0 = guest_cr0(g), efer = guest_efer(g);
	uint64_t allowed = vmx_cfg.cr4_fixed1 & ~(uint64_t)CR4_VMXE & ~(uint64_t)CR4_SMXE;
	uint64_t old = guest_cr4(g);

	/* Shadow paging hides PCID and protection keys (CPUID) and has no LA57. */
	if (g->shadow)
		allowed &= ~(uint64_t)(CR4_PCIDE | CR4_PKE | CR4_LA57);
	if ((val & ~allowed) || ((efer & EFER_LMA) && !(val & CR4_PAE))) {
		inject_gp();
		return;
	}
	/* SDM Vol. 3A 4.4.1: MOV to CR4 changing PAE, PGE, PSE or SMEP loads
	 * PDPTEs. */
	if (!apply_paging_state(g, cr0, val, efer & ~EFER_LMA, guest_cr3(g),
				(val ^ old) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP))) {
		inject_gp();
		return;
	}
	skip_insn();
}

static void emulate_mov_cr3(struct guest *g, uint64_t val)
{
	if (g->shadow) {
		/* In IA-32e mode, CR3 bits 63:MAXPHYADDR are reserved (#GP). */
		if (guest_long_mode() && (val >> boot_cpu.maxphyaddr)) {
			inject_gp();
			return;
		}
		if (!apply_paging_state(g, guest_cr0(g), guest_cr4(g), guest_efer(g), val, true)) {
			inject_gp();
			return;
		}
	} else if (g->idpt_active) {
		g->cr3 = val;
	} else {
		uint64_t cr0 = guest_cr0(g), cr4 = guest_cr4(g);

		if ((cr0 & CR0_PG) && (cr4 & CR4_PAE) && !guest_long_mode() && !load_pdptes(g, val)) {
			inject_gp();
			return;
		}
		vmcs_write(VMCS_GUEST_CR3, val);
		exit_flush_guest_tlb(g);
	}
	skip_insn();
}

static void handle_cr(struct guest *g, uint64_t qual)
{
	unsigned cr = qual & CRQ_CR_MASK;
	unsigned type = (unsigned)((qual & CRQ_TYPE_MASK) >> CRQ_TYPE_SHIFT);
	uint64_t *reg = gpr(g, (unsigned)((qual & CRQ_GPR_MASK) >> CRQ_GPR_SHIFT));
	bool is64 = guest_64bit_code();
	uint64_t val = is64 ? *reg : (uint32_t)*reg;

	switch (type) {
	case CRQ_TYPE_MOV_TO_CR:
		if (cr == 0)
			emulate_mov_cr0(g, val);
		else if (cr == 3)
			emulate_mov_cr3(g, is64 ? val & ~BIT(63) : val);
		else if (cr == 4)
			emulate_mov_cr4(g, val);
		else if (cr == 8) {
			if (val >> 4)
				inject_gp();
			else {
				g->cr8 = val;
				skip_insn();
			}
		} else
			guest_stop(g, "MOV to CR%u exit", cr);
		if ((unsigned)((qual & CRQ_GPR_MASK) >> CRQ_GPR_SHIFT) == 4)
			vmcs_write(VMCS_GUEST_RSP, *reg);
		return;
	case CRQ_TYPE_MOV_FROM_CR:
		if (cr == 3)
			val = guest_cr3(g);
		else if (cr == 8)
			val = g->cr8;
		else {
			guest_stop(g, "MOV from CR%u exit", cr);
			return;
		}
		*reg = is64 ? val : (uint32_t)val;
		if ((unsigned)((qual & CRQ_GPR_MASK) >> CRQ_GPR_SHIFT) == 4)
			vmcs_write(VMCS_GUEST_RSP, *reg);
		skip_insn();
		return;
	case CRQ_TYPE_CLTS:
		emulate_mov_cr0(g, guest_cr0(g) & ~(uint64_t)CR0_TS);
		return;
	default: {	/* LMSW: loads PE, MP, EM, TS; cannot clear PE */
		uint64_t src = (qual >> CRQ_LMSW_SRC_SHIFT) & 0xf;
		uint64_t cr0 = guest_cr0(g);

		emulate_mov_cr0(g, (cr0 & ~0xeull) | src | (cr0 & CR0_PE));
		return;
	}
	}
}

/* ---- MSRs ------------------------------------------------------------------ */

#define MSR_IA32_TSC		0x010u
#define MSR_IA32_APIC_BASE	0x01bu
#define MSR_IA32_MISC_ENABLE	0x1a0u

/* RDMSR/WRMSR for the MSRs the bitmap intercepts (SDM Vol. 4). EFER is
 * virtualised (LME/LMA/NXE rules, SDM Vol. 3A 9.8.5); PAT is validated when
 * the VMCS does not switch it; MTRRs read as disabled; IA32_FEATURE_CONTROL
 * reads as locked with VMX off; the VMX capability MSRs and anything else
 * unknown raise #GP, as on a CPU without them. */
static void handle_msr(struct guest *g, bool write)
{
	uint32_t msr = (uint32_t)g->regs.rcx;
	uint64_t val = (g->regs.rdx << 32) | (uint32_t)g->regs.rax;
	bool ok = true;

	if (!write) {
		switch (msr) {
		case MSR_EFER: val = guest_efer(g); break;
		case MSR_IA32_PAT:
			val = (vmx_cfg.entry & ENTRY_LOAD_PAT) ? vmcs_read(VMCS_GUEST_PAT) : g->pat;
			break;
		case MSR_IA32_TSC: val = rdtsc(); break;
		case MSR_IA32_FEATURE_CONTROL: val = FEATURE_CONTROL_LOCK; break;
		case MSR_IA32_MISC_ENABLE: val = 1; break;
		case MSR_IA32_MTRRCAP: val = 0; break;
		case MSR_IA32_MTRR_DEF_TYPE: val = 0; break;
		case MSR_IA32_DEBUGCTL: val = vmcs_read(VMCS_GUEST_DEBUGCTL); break;
		default: ok = false; break;
		}
		if (ok) {
			g->regs.rax = (uint32_t)val;
			g->regs.rdx = val >> 32;
		}
	} else {
		switch (msr) {
		case MSR_EFER: {
			uint64_t cur = guest_efer(g);
			uint64_t allowed = EFER_SCE | EFER_LME | EFER_LMA |
					   (boot_cpu.nx ? EFER_NXE : 0);

			if ((val & ~allowed) ||
			    ((guest_cr0(g) & CR0_PG) && ((val ^ cur) & EFER_LME))) {
				ok = false;
				break;
			}
			val = (val & ~EFER_LMA) | (cur & EFER_LMA);
			if (g->shadow) {
				/* NXE changes what shadow leaves mean: new root. */
				(void)apply_paging_state(g, guest_cr0(g), guest_cr4(g), val, g->cr3,
							 false);
			} else if (g->idpt_active) {
				g->efer = val;
				vmcs_write(VMCS_GUEST_EFER, val & ~(EFER_LME | EFER_LMA));
			} else {
				vmcs_write(VMCS_GUEST_EFER, val);
			}
			break;
		}
		case MSR_IA32_PAT:
			for (unsigned i = 0; i < 8; i++) {
				unsigned t = (val >> (8 * i)) & 0xff;
				if (t == 2 || t == 3 || t > 7)
					ok = false;
			}
			if (!ok)
				break;
			if (vmx_cfg.entry & ENTRY_LOAD_PAT)
				vmcs_write(VMCS_GUEST_PAT, val);
			else
				g->pat = val;
			break;
		case MSR_IA32_TSC:
		case MSR_IA32_MTRR_DEF_TYPE:
			break;			/* ignored */
		case MSR_IA32_DEBUGCTL:
			ok = val == 0;
			break;
		default: ok = false; break;
		}
	}
	if (!ok) {
		g->msr_unknown++;
		pr_info("vmm: guest '%s': %s of MSR 0x%x: #GP\n", g->name, write ? "WRMSR" : "RDMSR", msr);
		inject_gp();
		return;
	}
	skip_insn();
}

/* ---- XSETBV ---------------------------------------------------------------- */

/* XCR0 is not switched by the VMCS and the host never uses extended state,
 * so a valid value is written to the real XCR0 (SDM Vol. 2C XSETBV: #GP for
 * ECX != 0, bit 0 clear, AVX without SSE, or unsupported bits; #UD when
 * CR4.OSXSAVE is clear). */
static void handle_xsetbv(struct guest *g)
{
	uint64_t val = (g->regs.rdx << 32) | (uint32_t)g->regs.rax;
	struct cpuid_regs d = cpuid(0xd, 0);
	uint64_t supported = ((uint64_t)d.edx << 32) | d.eax;

	if (!(guest_cr4(g) & CR4_OSXSAVE)) {
		inject_ud();
		return;
	}
	if ((uint32_t)g->regs.rcx != 0 || !(val & 1) || (val & ~supported) ||
	    ((val & 4) && !(val & 2))) {
		inject_gp();
		return;
	}
	__asm__ volatile("xsetbv" ::"a"((uint32_t)val), "d"((uint32_t)(val >> 32)), "c"(0));
	skip_insn();
}

/* ---- EPT ---------------------------------------------------------------------- */

static void handle_ept_violation(struct guest *g, uint64_t qual)
{
	gpa_t gpa = vmcs_read(VMCS_GUEST_PHYS_ADDR);
	char lin[40] = "not valid";

	if (qual & EPT_QUAL_LINEAR_VALID)
		snprintf(lin, sizeof(lin), "0x%llx", (unsigned long long)vmcs_read(VMCS_GUEST_LINEAR_ADDR));
	kprintf("vmm: guest '%s': EPT violation: GPA 0x%llx, linear address %s\n", g->name,
		(unsigned long long)gpa, lin);
	kprintf("vmm:   qualification 0x%llx: %s%s%s access; page %s%s%s%s; %s\n",
		(unsigned long long)qual,
		(qual & EPT_QUAL_READ) ? "read" : "",
		(qual & EPT_QUAL_WRITE) ? "write" : "",
		(qual & EPT_QUAL_FETCH) ? "instruction fetch" : "",
		(qual & (EPT_QUAL_READABLE | EPT_QUAL_WRITABLE | EPT_QUAL_EXECUTABLE)) ? "" : "not present",
		(qual & EPT_QUAL_READABLE) ? "r" : "", (qual & EPT_QUAL_WRITABLE) ? "w" : "",
		(qual & EPT_QUAL_EXECUTABLE) ? "x" : "",
		!(qual & EPT_QUAL_LINEAR_VALID) ? "no linear address" :
		(qual & EPT_QUAL_TRANSLATION) ? "access to the translated address" :
		"access to a guest paging structure");
	guest_stop(g, "touched guest-physical 0x%llx, which it does not own (%s)",
		   (unsigned long long)gpa,
		   (qual & EPT_QUAL_WRITE) ? "write" : (qual & EPT_QUAL_FETCH) ? "fetch" : "read");
}

static void handle_ept_misconfig(struct guest *g)
{
	gpa_t gpa = vmcs_read(VMCS_GUEST_PHYS_ADDR);
	uint64_t entry = 0, size = 0;
	bool mapped = ept_lookup(&g->ept, gpa, &entry, &size);

	kprintf("vmm: guest '%s': EPT misconfiguration at GPA 0x%llx: leaf %s 0x%llx "
		"(permissions %c%c%c, memory type %llu, page size 0x%llx)\n", g->name,
		(unsigned long long)gpa, mapped ? "entry" : "not found,", (unsigned long long)entry,
		(entry & EPT_R) ? 'r' : '-', (entry & EPT_W) ? 'w' : '-', (entry & EPT_X) ? 'x' : '-',
		(unsigned long long)((entry >> EPT_MT_SHIFT) & 7), (unsigned long long)size);
	kprintf("vmm:   an entry is misconfigured when it is writable but not readable, has "
		"reserved bits set or a reserved memory type (SDM Vol. 3C 29.3.3.1)\n");
	guest_stop(g, "EPT misconfiguration at GPA 0x%llx (hypervisor bug)", (unsigned long long)gpa);
}

/* ---- exceptions ---------------------------------------------------------------- */

static void handle_exception(struct guest *g)
{
	uint64_t info = vmcs_read(VMCS_EXIT_INTR_INFO);
	unsigned vector = info & INTR_INFO_VECTOR_MASK;
	unsigned type = (unsigned)((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT);

	if (type == INTR_TYPE_NMI) {
		kprintf("vmm: guest '%s': NMI while in guest; ignored\n", g->name);
		return;
	}
	if (vector == 1 && g->shadow && g->step.active && !g->step.mtf) {
		smmu_step_done(g);
		return;
	}
	if (vector == VECTOR_PF && g->shadow && type == INTR_TYPE_HW_EXCEPTION) {
		smmu_page_fault(g);
		return;
	}
	if (vector == VECTOR_PF && g->idpt_active) {
		/* The identity table maps every linear address but the 4 MiB slot
		 * holding itself: the guest, with paging off, touched physical
		 * memory there. */
		guest_stop(g, "touched guest-physical 0x%llx, which it does not own (paging off)",
			   (unsigned long long)vmcs_read(VMCS_EXIT_QUALIFICATION));
		return;
	}
	vmcs_dump("unexpected exception exit");
	guest_stop(g, "unexpected exception exit: vector %u, type %u", vector, type);
}

/* ---- dispatch ------------------------------------------------------------------ */

/* Hypercalls (VMCALL, RAX = function): 0 = "are you Umbra" (returns
 * 0x554d4252 'UMBR'), 1 = exit with code RBX. Others return -1. */
static void handle_vmcall(struct guest *g)
{
	switch (g->regs.rax) {
	case 0:
		g->regs.rax = 0x554d4252;
		break;
	case 1:
		g->exit_code = (uint32_t)g->regs.rbx;
		g->state = GUEST_EXITED;
		break;
	default:
		g->regs.rax = ~0ull;
		break;
	}
	skip_insn();
}

bool exit_handle(struct guest *g)
{
	uint64_t reason_full = vmcs_read(VMCS_EXIT_REASON);
	unsigned reason = reason_full & EXIT_REASON_BASIC_MASK;
	uint64_t qual = vmcs_read(VMCS_EXIT_QUALIFICATION);

	g->exits_total++;
	if (reason < EXIT_REASON_COUNT)
		g->exits[reason]++;
	g->prof_class = reason < EXIT_REASON_COUNT ? reason : 0;
	if (g->shadow && g->step.active)
		smmu_step_check(g, reason);
	/* Any other exit in between (INVLPG, MOV CR3, I/O...) means the guest
	 * moved on: a later #PF at the same place is not "no progress". */
	if (reason != EXIT_EXCEPTION_NMI)
		g->same_pf = 0;

	if (reason_full & EXIT_REASON_ENTRY_FAIL) {
		kprintf("vmm: guest '%s': VM entry failed: exit reason %u (%s), qualification %llu\n",
			g->name, reason, vmx_exit_reason_name(reason), (unsigned long long)qual);
		vmcs_check();
		vmcs_dump("VM-entry failure");
		guest_stop(g, "VM entry failed: %s", vmx_exit_reason_name(reason));
		return false;
	}

	switch (reason) {
	case EXIT_EXCEPTION_NMI:
		handle_exception(g);
		break;
	case EXIT_EXTERNAL_INTR:
		break;		/* PICs are masked; just resume */
	case EXIT_TRIPLE_FAULT:
		guest_stop(g, "triple fault");
		break;
	case EXIT_CPUID:
		handle_cpuid(g);
		break;
	case EXIT_HLT:
		if (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF)
			guest_stop(g, "HLT with interrupts enabled, but no interrupt will ever come");
		else
			guest_stop(g, "HLT with interrupts disabled: guest halted for good");
		break;
	case EXIT_INVD:
	case EXIT_WBINVD:
		/* INVD would discard the host's dirty lines too: do WBINVD. */
		__asm__ volatile("wbinvd" ::: "memory");
		skip_insn();
		break;
	case EXIT_VMCALL:
		handle_vmcall(g);
		break;
	case EXIT_VMCLEAR: case EXIT_VMLAUNCH: case EXIT_VMPTRLD: case EXIT_VMPTRST:
	case EXIT_VMREAD: case EXIT_VMRESUME: case EXIT_VMWRITE: case EXIT_VMXOFF:
	case EXIT_VMXON: case EXIT_INVEPT: case EXIT_INVVPID: case EXIT_VMFUNC:
	case EXIT_MWAIT: case EXIT_MONITOR: case EXIT_GETSEC:
		/* VMX is hidden from the guest (CPUID.1:ECX.VMX = 0), as are
		 * MONITOR/MWAIT: these are undefined opcodes for it. */
		inject_ud();
		break;
	case EXIT_CR_ACCESS:
		handle_cr(g, qual);
		break;
	case EXIT_IO:
		handle_io(g, qual);
		break;
	case EXIT_RDMSR:
		handle_msr(g, false);
		break;
	case EXIT_WRMSR:
		handle_msr(g, true);
		break;
	case EXIT_PREEMPT_TIMER:
		guest_stop(g, "used up its time budget of %llu TSC ticks (VMX-preemption timer)",
			   (unsigned long long)opts.budget);
		break;
	case EXIT_XSETBV:
		handle_xsetbv(g);
		break;
	case EXIT_INVLPG:
		if (!g->shadow) {
			guest_stop(g, "INVLPG exit without shadow paging");
			break;
		}
		smmu_invlpg(g, qual);
		skip_insn();
		break;
	case EXIT_MTF:
		if (!g->shadow) {
			guest_stop(g, "MTF exit without shadow paging");
			break;
		}
		smmu_step_done(g);
		break;
	case EXIT_EPT_VIOLATION:
		handle_ept_violation(g, qual);
		break;
	case EXIT_EPT_MISCONFIG:
		handle_ept_misconfig(g);
		break;
	default:
		kprintf("vmm: guest '%s': unexpected VM exit %u (%s), qualification 0x%llx\n", g->name,
			reason, vmx_exit_reason_name(reason), (unsigned long long)qual);
		vmcs_dump("unexpected VM exit");
		guest_stop(g, "unexpected VM exit %u (%s)", reason, vmx_exit_reason_name(reason));
		break;
	}
	(void)set_reg32;
	return g->state == GUEST_RUNNING;
}
