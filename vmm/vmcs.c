/* VMCS set-up for a fresh guest in the Multiboot v1 machine state, and the
 * VMCS dump used on failed entries and unexpected exits. */
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"
#include "lib/frame.h"
#include "lib/printf.h"
#include "vmm/guest.h"
#include "vmm/loader.h"
#include "vmm/options.h"

#define AR_CODE32	(AR_G | AR_DB | AR_P | AR_S | AR_TYPE_CODE | AR_TYPE_WRITABLE | AR_TYPE_ACCESSED)
#define AR_DATA32	(AR_G | AR_DB | AR_P | AR_S | AR_TYPE_WRITABLE | AR_TYPE_ACCESSED)
#define AR_TSS_BUSY	(AR_P | AR_TYPE_TSS32_BUSY)

/* Host state (SDM Vol. 3C 25.5): the state the CPU loads on every VM exit,
 * i.e. this hypervisor as it runs now. Selectors must have RPL = TI = 0
 * (SDM Vol. 3C 27.2.3). */
static void vmcs_setup_host(void)
{
	struct desc_ptr gdtr, idtr;

	sgdt(&gdtr);
	sidt(&idtr);
	vmcs_write(VMCS_HOST_CR0, read_cr0());
	vmcs_write(VMCS_HOST_CR3, read_cr3());
	vmcs_write(VMCS_HOST_CR4, read_cr4());
	vmcs_write(VMCS_HOST_CS_SEL, read_seg(cs) & 0xf8);
	vmcs_write(VMCS_HOST_SS_SEL, read_seg(ss) & 0xf8);
	vmcs_write(VMCS_HOST_DS_SEL, read_seg(ds) & 0xf8);
	vmcs_write(VMCS_HOST_ES_SEL, read_seg(es) & 0xf8);
	vmcs_write(VMCS_HOST_FS_SEL, read_seg(fs) & 0xf8);
	vmcs_write(VMCS_HOST_GS_SEL, read_seg(gs) & 0xf8);
	vmcs_write(VMCS_HOST_TR_SEL, str() & 0xf8);
	vmcs_write(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_write(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmcs_write(VMCS_HOST_TR_BASE, trap_tss_base());
	vmcs_write(VMCS_HOST_GDTR_BASE, gdtr.base);
	vmcs_write(VMCS_HOST_IDTR_BASE, idtr.base);
	vmcs_write(VMCS_HOST_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
	vmcs_write(VMCS_HOST_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	vmcs_write(VMCS_HOST_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
	if (vmx_cfg.load_efer)
		vmcs_write(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	if (vmx_cfg.exit & EXIT_LOAD_PAT)
		vmcs_write(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_trampoline);
	/* HOST_RSP is written by vmx_enter on every entry. */
}

static void seg(enum vmcs_field sel_f, uint16_t sel, uint32_t ar)
{
	unsigned i = (sel_f - VMCS_GUEST_ES_SEL) / 2;

	vmcs_write(sel_f, sel);
	vmcs_write((enum vmcs_field)(VMCS_GUEST_ES_BASE + 2 * i), 0);
	vmcs_write((enum vmcs_field)(VMCS_GUEST_ES_LIMIT + 2 * i), 0xffffffff);
	vmcs_write((enum vmcs_field)(VMCS_GUEST_ES_AR + 2 * i), ar);
}

/* Guest state for the Multiboot v1 hand-over (Multiboot 0.6.96 section 3.2):
 * EAX = 0x2BADB002, EBX = info block, flat 32-bit CS and data segments,
 * CR0.PE = 1, CR0.PG = 0, EFLAGS.IF = VM = 0.
 *
 * With unrestricted guest the real CR0 is exactly that. Without it (SDM
 * Vol. 3C 27.3.1.1: PE and PG fixed to 1) the real CR0 has PG = 1 and CR3
 * points at the hypervisor's identity table at IDPT_GPA; the guest reads
 * its own CR0/CR4 through the read shadows and its CR3 through CR3-store
 * exiting (vmm/exit.c switches to the guest's own tables when it sets PG). */
void vmcs_setup(struct guest *g, uint32_t entry, uint32_t mbi, hpa_t msr_bitmap)
{
	const struct vmx_config *c = &vmx_cfg;
	uint32_t proc = c->proc;
	uint64_t cr0_guest = CR0_PE | CR0_ET, cr0_real, cr4_real;

	vmcs_setup_host();

	/* Controls (SDM Vol. 3C 25.6-25.8). */
	/* A time budget through the VMX-preemption timer (SDM Vol. 3C 26.5.1):
	 * with "save VMX-preemption timer value" it counts down across exits,
	 * otherwise it restarts at every entry and only bounds a stretch of
	 * guest execution without exits. */
	uint32_t pin = c->pin, exit = c->exit;
	if (opts.budget && c->preempt_timer) {
		uint64_t ticks = opts.budget >> c->preempt_rate;

		pin |= PIN_PREEMPT_TIMER;
		exit |= EXIT_SAVE_PREEMPT_TIMER & c->exit_allowed1;
		vmcs_write(VMCS_GUEST_PREEMPT_TIMER, ticks > 0xffffffffull ? 0xffffffffull : ticks);
	}
	vmcs_write(VMCS_PIN_CTLS, pin);
	g->idpt_active = !c->unrestricted;
	if (g->idpt_active)
		proc |= (CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING) & c->proc_allowed1;
	vmcs_write(VMCS_PROC_CTLS, proc);
	if (proc & CPU_SECONDARY_CTLS)
		vmcs_write(VMCS_PROC_CTLS2, c->proc2);
	vmcs_write(VMCS_EXCEPTION_BITMAP, g->idpt_active ? BIT(14) : 0);
	vmcs_write(VMCS_PF_ERROR_MASK, 0);
	vmcs_write(VMCS_PF_ERROR_MATCH, 0);
	vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_MSR_BITMAP, msr_bitmap);
	vmcs_write(VMCS_EXIT_CTLS, exit);
	vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_CTLS, c->entry & ~(uint32_t)ENTRY_IA32E_MODE_GUEST);
	vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
	vmcs_write(VMCS_TSC_OFFSET, 0);
	if (c->vpid)
		vmcs_write(VMCS_VPID, g->vpid);
	if (c->ept)
		vmcs_write(VMCS_EPTP, g->eptp);
	vmcs_write(VMCS_LINK_PTR, ~0ull);

	/* CR0/CR4 ownership: the host owns every bit the fixed-bit MSRs pin,
	 * and (without unrestricted guest) the paging bits it virtualises. */
	uint64_t g_fixed0 = vmx_guest_cr0_fixed0(c);
	g->cr0_mask = ((g_fixed0 | ~c->cr0_fixed1) & 0xffffffffull) | CR0_NW | CR0_CD;
	g->cr4_mask = (c->cr4_fixed0 | ~c->cr4_fixed1) & 0xffffffffull;
	if (!c->unrestricted) {
		g->cr0_mask |= CR0_PE | CR0_PG;
		g->cr4_mask |= CR4_PAE | CR4_PSE;
	}
	cr0_real = (cr0_guest | g_fixed0) & c->cr0_fixed1;
	cr4_real = c->cr4_fixed0 & c->cr4_fixed1;
	if (g->idpt_active) {
		cr0_real |= CR0_PG | CR0_PE;
		cr4_real |= CR4_PSE;
	}
	vmcs_write(VMCS_CR0_MASK, g->cr0_mask);
	vmcs_write(VMCS_CR4_MASK, g->cr4_mask);
	vmcs_write(VMCS_CR0_SHADOW, cr0_guest);
	vmcs_write(VMCS_CR4_SHADOW, 0);
	vmcs_write(VMCS_GUEST_CR0, cr0_real);
	vmcs_write(VMCS_GUEST_CR4, cr4_real);
	vmcs_write(VMCS_GUEST_CR3, g->idpt_active ? IDPT_GPA : 0);
	g->cr3 = 0;
	g->efer = 0;
	g->pat = 0x0007040600070406ull;

	/* Guest segments (SDM Vol. 3C 25.4.1). */
	seg(VMCS_GUEST_CS_SEL, 0x08, AR_CODE32);
	seg(VMCS_GUEST_SS_SEL, 0x10, AR_DATA32);
	seg(VMCS_GUEST_DS_SEL, 0x10, AR_DATA32);
	seg(VMCS_GUEST_ES_SEL, 0x10, AR_DATA32);
	seg(VMCS_GUEST_FS_SEL, 0x10, AR_DATA32);
	seg(VMCS_GUEST_GS_SEL, 0x10, AR_DATA32);
	vmcs_write(VMCS_GUEST_TR_SEL, 0);
	vmcs_write(VMCS_GUEST_TR_BASE, 0);
	vmcs_write(VMCS_GUEST_TR_LIMIT, 0xffff);
	vmcs_write(VMCS_GUEST_TR_AR, AR_TSS_BUSY);
	vmcs_write(VMCS_GUEST_LDTR_SEL, 0);
	vmcs_write(VMCS_GUEST_LDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_LDTR_LIMIT, 0);
	vmcs_write(VMCS_GUEST_LDTR_AR, AR_UNUSABLE);
	vmcs_write(VMCS_GUEST_GDTR_BASE, LOADER_GDT);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, 3 * 8 - 1);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0);

	vmcs_write(VMCS_GUEST_DR7, 0x400);
	vmcs_write(VMCS_GUEST_RSP, LOADER_STACK_TOP);
	vmcs_write(VMCS_GUEST_RIP, entry);
	vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1);
	vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY, ACTIVITY_ACTIVE);
	vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write(VMCS_GUEST_DEBUGCTL, 0);
	if (c->load_efer)
		vmcs_write(VMCS_GUEST_EFER, 0);
	if (c->entry & ENTRY_LOAD_PAT)
		vmcs_write(VMCS_GUEST_PAT, g->pat);

	g->regs = (struct guest_regs){ 0 };
	g->regs.rax = MB1_BOOT_MAGIC;
	g->regs.rbx = mbi;
}

void vmcs_sync_ia32e(void)
{
	uint64_t entry = vmcs_read(VMCS_ENTRY_CTLS);

	if (vmcs_read(VMCS_GUEST_EFER) & EFER_LMA)
		entry |= ENTRY_IA32E_MODE_GUEST;
	else
		entry &= ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
	vmcs_write(VMCS_ENTRY_CTLS, entry);
}

/* Print every field the CPU supports, by name, three to a line. A VMREAD
 * of an unsupported field sets the VM-instruction error field itself, so
 * that field is read first and its saved value printed. */
void vmcs_dump(const char *why)
{
	unsigned col = 0;
	uint64_t insn_error = 0;

	(void)vmcs_try_read(VMCS_INSN_ERROR, &insn_error);
	kprintf("---- VMCS dump (%s) ----\n", why);
	for (unsigned i = 0; i < vmcs_all_fields_count; i++) {
		uint64_t v;
		enum vmcs_field f = vmcs_all_fields[i];

		if (f == VMCS_INSN_ERROR)
			v = insn_error;
		else if (!vmcs_try_read(f, &v))
			continue;
		kprintf("%-26s %016llx%s", vmcs_field_name(f), (unsigned long long)v,
			++col % 3 == 0 ? "\n" : "  ");
	}
	if (col % 3)
		kprintf("\n");
	kprintf("---- end of VMCS dump ----\n");
}
