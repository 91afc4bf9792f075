/* VMX instruction support: names for VM-instruction errors, exit reasons and
 * VMCS fields, the failure path of the instruction wrappers, and the VM
 * entry/exit trampoline. */
#include "arch/x86/vmx.h"
#include "lib/panic.h"
#include "lib/printf.h"

const char *vmx_insn_error_name(unsigned err)
{
	switch (err) {
	case VMXERR_VMCALL_IN_ROOT: return "VMCALL executed in VMX root operation";
	case VMXERR_VMCLEAR_BAD_ADDR: return "VMCLEAR with invalid physical address";
	case VMXERR_VMCLEAR_VMXON_PTR: return "VMCLEAR with VMXON pointer";
	case VMXERR_VMLAUNCH_NOT_CLEAR: return "VMLAUNCH with non-clear VMCS";
	case VMXERR_VMRESUME_NOT_LAUNCHED: return "VMRESUME with non-launched VMCS";
	case VMXERR_VMRESUME_AFTER_VMXOFF: return "VMRESUME after VMXOFF";
	case VMXERR_ENTRY_BAD_CONTROLS: return "VM entry with invalid control field(s)";
	case VMXERR_ENTRY_BAD_HOST_STATE: return "VM entry with invalid host-state field(s)";
	case VMXERR_VMPTRLD_BAD_ADDR: return "VMPTRLD with invalid physical address";
	case VMXERR_VMPTRLD_VMXON_PTR: return "VMPTRLD with VMXON pointer";
	case VMXERR_VMPTRLD_BAD_REVISION: return "VMPTRLD with incorrect VMCS revision identifier";
	case VMXERR_UNSUPPORTED_FIELD: return "VMREAD/VMWRITE from/to unsupported VMCS component";
	case VMXERR_VMWRITE_READ_ONLY: return "VMWRITE to read-only VMCS component";
	case VMXERR_VMXON_IN_ROOT: return "VMXON executed in VMX root operation";
	case VMXERR_ENTRY_BAD_EXECUTIVE_VMCS: return "VM entry with invalid executive-VMCS pointer";
	case VMXERR_ENTRY_EXECUTIVE_NOT_LAUNCHED: return "VM entry with non-launched executive VMCS";
	case VMXERR_ENTRY_EXECUTIVE_NOT_VMXON:
		return "VM entry with executive-VMCS pointer not VMXON pointer";
	case VMXERR_VMCALL_NOT_CLEAR: return "VMCALL with non-clear VMCS";
	case VMXERR_VMCALL_BAD_EXIT_CONTROLS: return "VMCALL with invalid VM-exit control fields";
	case VMXERR_VMCALL_BAD_MSEG_REVISION: return "VMCALL with incorrect MSEG revision identifier";
	case VMXERR_VMXOFF_DUAL_MONITOR: return "VMXOFF under dual-monitor treatment";
	case VMXERR_VMCALL_BAD_SMM_FEATURES: return "VMCALL with invalid SMM-monitor features";
	case VMXERR_ENTRY_BAD_EXECUTIVE_CONTROLS:
		return "VM entry with invalid VM-execution control fields in executive VMCS";
	case VMXERR_ENTRY_MOV_SS_BLOCKING: return "VM entry with events blocked by MOV SS";
	case VMXERR_INVEPT_INVVPID_BAD_OPERAND: return "invalid operand to INVEPT/INVVPID";
	}
	return "unknown VM-instruction error";
}

static const char *const exit_names[EXIT_REASON_COUNT] = {
	[EXIT_EXCEPTION_NMI] = "exception or NMI",
	[EXIT_EXTERNAL_INTR] = "external interrupt",
	[EXIT_TRIPLE_FAULT] = "triple fault",
	[EXIT_INIT] = "INIT signal",
	[EXIT_SIPI] = "SIPI",
	[EXIT_IO_SMI] = "I/O SMI",
	[EXIT_OTHER_SMI] = "other SMI",
	[EXIT_INTR_WINDOW] = "interrupt window",
	[EXIT_NMI_WINDOW] = "NMI window",
	[EXIT_TASK_SWITCH] = "task switch",
	[EXIT_CPUID] = "CPUID",
	[EXIT_GETSEC] = "GETSEC",
	[EXIT_HLT] = "HLT",
	[EXIT_INVD] = "INVD",
	[EXIT_INVLPG] = "INVLPG",
	[EXIT_RDPMC] = "RDPMC",
	[EXIT_RDTSC] = "RDTSC",
	[EXIT_RSM] = "RSM",
	[EXIT_VMCALL] = "VMCALL",
	[EXIT_VMCLEAR] = "VMCLEAR",
	[EXIT_VMLAUNCH] = "VMLAUNCH",
	[EXIT_VMPTRLD] = "VMPTRLD",
	[EXIT_VMPTRST] = "VMPTRST",
	[EXIT_VMREAD] = "VMREAD",
	[EXIT_VMRESUME] = "VMRESUME",
	[EXIT_VMWRITE] = "VMWRITE",
	[EXIT_VMXOFF] = "VMXOFF",
	[EXIT_VMXON] = "VMXON",
	[EXIT_CR_ACCESS] = "control-register access",
	[EXIT_DR_ACCESS] = "MOV DR",
	[EXIT_IO] = "I/O instruction",
	[EXIT_RDMSR] = "RDMSR",
	[EXIT_WRMSR] = "WRMSR",
	[EXIT_ENTRY_FAIL_GUEST] = "VM-entry failure: invalid guest state",
	[EXIT_ENTRY_FAIL_MSR] = "VM-entry failure: MSR loading",
	[EXIT_MWAIT] = "MWAIT",
	[EXIT_MTF] = "monitor trap flag",
	[EXIT_MONITOR] = "MONITOR",
	[EXIT_PAUSE] = "PAUSE",
	[EXIT_ENTRY_FAIL_MCE] = "VM-entry failure: machine check",
	[EXIT_TPR_BELOW_THRESHOLD] = "TPR below threshold",
	[EXIT_APIC_ACCESS] = "APIC access",
	[EXIT_VIRTUALIZED_EOI] = "virtualized EOI",
	[EXIT_GDTR_IDTR] = "GDTR/IDTR access",
	[EXIT_LDTR_TR] = "LDTR/TR access",
	[EXIT_EPT_VIOLATION] = "EPT violation",
	[EXIT_EPT_MISCONFIG] = "EPT misconfiguration",
	[EXIT_INVEPT] = "INVEPT",
	[EXIT_RDTSCP] = "RDTSCP",
	[EXIT_PREEMPT_TIMER] = "VMX-preemption timer expired",
	[EXIT_INVVPID] = "INVVPID",
	[EXIT_WBINVD] = "WBINVD",
	[EXIT_XSETBV] = "XSETBV",
	[EXIT_APIC_WRITE] = "APIC write",
	[EXIT_RDRAND] = "RDRAND",
	[EXIT_INVPCID] = "INVPCID",
	[EXIT_VMFUNC] = "VMFUNC",
	[EXIT_ENCLS] = "ENCLS",
	[EXIT_RDSEED] = "RDSEED",
	[EXIT_PML_FULL] = "page-modification log full",
	[EXIT_XSAVES] = "XSAVES",
	[EXIT_XRSTORS] = "XRSTORS",
};

const char *vmx_exit_reason_name(unsigned reason)
{
	if (reason < EXIT_REASON_COUNT && exit_names[reason])
		return exit_names[reason];
	return "unknown exit reason";
}

/* Every VMCS field the dump shows, in SDM Appendix B order, listed once and
 * expanded twice: names for messages, encodings for the dump loop. */
#define VMCS_FIELDS(F) \
	F(VPID), F(POSTED_INTR_NV), F(EPTP_INDEX), \
	F(GUEST_ES_SEL), F(GUEST_CS_SEL), F(GUEST_SS_SEL), F(GUEST_DS_SEL), F(GUEST_FS_SEL), \
	F(GUEST_GS_SEL), F(GUEST_LDTR_SEL), F(GUEST_TR_SEL), F(GUEST_INTR_STATUS), \
	F(GUEST_PML_INDEX), \
	F(HOST_ES_SEL), F(HOST_CS_SEL), F(HOST_SS_SEL), F(HOST_DS_SEL), F(HOST_FS_SEL), \
	F(HOST_GS_SEL), F(HOST_TR_SEL), \
	F(IO_BITMAP_A), F(IO_BITMAP_B), F(MSR_BITMAP), F(EXIT_MSR_STORE_ADDR), \
	F(EXIT_MSR_LOAD_ADDR), F(ENTRY_MSR_LOAD_ADDR), F(EXECUTIVE_VMCS_PTR), F(PML_ADDR), \
	F(TSC_OFFSET), F(VIRTUAL_APIC_ADDR), F(APIC_ACCESS_ADDR), F(POSTED_INTR_DESC), \
	F(VMFUNC_CTLS), F(EPTP), F(EOI_EXIT0), F(EOI_EXIT1), F(EOI_EXIT2), F(EOI_EXIT3), \
	F(EPTP_LIST_ADDR), F(VMREAD_BITMAP), F(VMWRITE_BITMAP), F(VE_INFO_ADDR), \
	F(XSS_EXIT_BITMAP), F(ENCLS_EXIT_BITMAP), F(TSC_MULTIPLIER), F(TERTIARY_CTLS), \
	F(GUEST_PHYS_ADDR), \
	F(LINK_PTR), F(GUEST_DEBUGCTL), F(GUEST_PAT), F(GUEST_EFER), F(GUEST_PERF_GLOBAL_CTRL), \
	F(GUEST_PDPTE0), F(GUEST_PDPTE1), F(GUEST_PDPTE2), F(GUEST_PDPTE3), F(GUEST_BNDCFGS), \
	F(HOST_PAT), F(HOST_EFER), F(HOST_PERF_GLOBAL_CTRL), \
	F(PIN_CTLS), F(PROC_CTLS), F(EXCEPTION_BITMAP), F(PF_ERROR_MASK), F(PF_ERROR_MATCH), \
	F(CR3_TARGET_COUNT), F(EXIT_CTLS), F(EXIT_MSR_STORE_COUNT), F(EXIT_MSR_LOAD_COUNT), \
	F(ENTRY_CTLS), F(ENTRY_MSR_LOAD_COUNT), F(ENTRY_INTR_INFO), F(ENTRY_EXCEPTION_ERROR), \
	F(ENTRY_INSN_LEN), F(TPR_THRESHOLD), F(PROC_CTLS2), F(PLE_GAP), F(PLE_WINDOW), \
	F(INSN_ERROR), F(EXIT_REASON), F(EXIT_INTR_INFO), F(EXIT_INTR_ERROR), \
	F(IDT_VECTORING_INFO), F(IDT_VECTORING_ERROR), F(EXIT_INSN_LEN), F(EXIT_INSN_INFO), \
	F(GUEST_ES_LIMIT), F(GUEST_CS_LIMIT), F(GUEST_SS_LIMIT), F(GUEST_DS_LIMIT), \
	F(GUEST_FS_LIMIT), F(GUEST_GS_LIMIT), F(GUEST_LDTR_LIMIT), F(GUEST_TR_LIMIT), \
	F(GUEST_GDTR_LIMIT), F(GUEST_IDTR_LIMIT), F(GUEST_ES_AR), F(GUEST_CS_AR), F(GUEST_SS_AR), \
	F(GUEST_DS_AR), F(GUEST_FS_AR), F(GUEST_GS_AR), F(GUEST_LDTR_AR), F(GUEST_TR_AR), \
	F(GUEST_INTERRUPTIBILITY), F(GUEST_ACTIVITY), F(GUEST_SMBASE), F(GUEST_SYSENTER_CS), \
	F(GUEST_PREEMPT_TIMER), \
	F(HOST_SYSENTER_CS), \
	F(CR0_MASK), F(CR4_MASK), F(CR0_SHADOW), F(CR4_SHADOW), F(CR3_TARGET0), F(CR3_TARGET1), \
	F(CR3_TARGET2), F(CR3_TARGET3), \
	F(EXIT_QUALIFICATION), F(IO_RCX), F(IO_RSI), F(IO_RDI), F(IO_RIP), F(GUEST_LINEAR_ADDR), \
	F(GUEST_CR0), F(GUEST_CR3), F(GUEST_CR4), F(GUEST_ES_BASE), F(GUEST_CS_BASE), \
	F(GUEST_SS_BASE), F(GUEST_DS_BASE), F(GUEST_FS_BASE), F(GUEST_GS_BASE), \
	F(GUEST_LDTR_BASE), F(GUEST_TR_BASE), F(GUEST_GDTR_BASE), F(GUEST_IDTR_BASE), \
	F(GUEST_DR7), F(GUEST_RSP), F(GUEST_RIP), F(GUEST_RFLAGS), F(GUEST_PENDING_DBG), \
	F(GUEST_SYSENTER_ESP), F(GUEST_SYSENTER_EIP), \
	F(HOST_CR0), F(HOST_CR3), F(HOST_CR4), F(HOST_FS_BASE), F(HOST_GS_BASE), F(HOST_TR_BASE), \
	F(HOST_GDTR_BASE), F(HOST_IDTR_BASE), F(HOST_SYSENTER_ESP), F(HOST_SYSENTER_EIP), \
	F(HOST_RSP), F(HOST_RIP)

#define F(x) { VMCS_##x, #x }
static const struct {
	enum vmcs_field f;
	const char *name;
} field_names[] = { VMCS_FIELDS(F) };
#undef F

const char *vmcs_field_name(enum vmcs_field f)
{
	for (unsigned i = 0; i < ARRAY_SIZE(field_names); i++)
		if (field_names[i].f == f)
			return field_names[i].name;
	return "?";
}

#define F(x) VMCS_##x
const enum vmcs_field vmcs_all_fields[] = { VMCS_FIELDS(F) };
#undef F
const unsigned vmcs_all_fields_count = ARRAY_SIZE(vmcs_all_fields);

void vmx_insn_failed(const char *insn, uint64_t operand, bool valid)
{
	uint64_t err = 0;

	if (valid && vmcs_try_read(VMCS_INSN_ERROR, &err))
		panic("%s(0x%llx) failed: VMfailValid, VM-instruction error %llu: %s", insn,
		      (unsigned long long)operand, (unsigned long long)err,
		      vmx_insn_error_name((unsigned)err));
	panic("%s(0x%llx) failed: %s", insn, (unsigned long long)operand,
	      valid ? "VMfailValid (error field unreadable)" : "VMfailInvalid (no current VMCS)");
}

void vmx_access_failed(const char *insn, uint64_t field)
{
	uint64_t err;

	/* VMfailValid leaves a readable error field; VMfailInvalid means there
	 * is no current VMCS, so nothing is readable. */
	vmx_insn_failed(insn, field, vmcs_try_read(VMCS_INSN_ERROR, &err));
}

/* vmx_enter(regs = %rdi, launched = %esi).
 *
 * The host stack at the moment of entry is written to HOST_RSP, with the
 * regs pointer on top, so the exit path (HOST_RIP = vmx_exit_trampoline)
 * finds it at (%rsp). Guest registers are loaded last, %rdi after everything
 * else. If VMLAUNCH/VMRESUME falls through, the flags tell VMfailInvalid
 * (CF) from VMfailValid (ZF) (SDM Vol. 3C 31.2). */
__asm__(
	".text\n"
	".globl vmx_enter\n"
	".type vmx_enter, @function\n"
	"vmx_enter:\n"
	"	push %rbp\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	push %rdi\n"
	"	mov $0x6c14, %eax\n"		/* VMCS_HOST_RSP */
	"	vmwrite %rsp, %rax\n"
	"	jbe 3f\n"
	"	mov %esi, %ebx\n"
	"	mov 0x00(%rdi), %rax\n"
	"	mov 0x08(%rdi), %rcx\n"
	"	mov 0x10(%rdi), %rdx\n"
	"	mov 0x28(%rdi), %rbp\n"
	"	mov 0x30(%rdi), %rsi\n"
	"	mov 0x40(%rdi), %r8\n"
	"	mov 0x48(%rdi), %r9\n"
	"	mov 0x50(%rdi), %r10\n"
	"	mov 0x58(%rdi), %r11\n"
	"	mov 0x60(%rdi), %r12\n"
	"	mov 0x68(%rdi), %r13\n"
	"	mov 0x70(%rdi), %r14\n"
	"	mov 0x78(%rdi), %r15\n"
	"	test %ebx, %ebx\n"
	"	mov 0x18(%rdi), %rbx\n"		/* mov does not change flags */
	"	mov 0x38(%rdi), %rdi\n"
	"	jnz 1f\n"
	"	vmlaunch\n"
	"	jmp 3f\n"
	"1:	vmresume\n"
	"3:	pushfq\n"
	"	pop %rax\n"
	"	add $8, %rsp\n"			/* regs pointer */
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	test $1, %al\n"			/* CF: VMfailInvalid */
	"	jnz 4f\n"
	"	mov $2, %eax\n"			/* ZF: VMfailValid */
	"	ret\n"
	"4:	mov $1, %eax\n"
	"	ret\n"
	".size vmx_enter, . - vmx_enter\n"
	"\n"
	".globl vmx_exit_trampoline\n"
	".type vmx_exit_trampoline, @function\n"
	"vmx_exit_trampoline:\n"
	"	push %rdi\n"			/* guest rdi */
	"	mov 8(%rsp), %rdi\n"		/* regs pointer */
	"	mov %rax, 0x00(%rdi)\n"
	"	mov %rcx, 0x08(%rdi)\n"
	"	mov %rdx, 0x10(%rdi)\n"
	"	mov %rbx, 0x18(%rdi)\n"
	"	mov %rbp, 0x28(%rdi)\n"
	"	mov %rsi, 0x30(%rdi)\n"
	"	mov %r8, 0x40(%rdi)\n"
	"	mov %r9, 0x48(%rdi)\n"
	"	mov %r10, 0x50(%rdi)\n"
	"	mov %r11, 0x58(%rdi)\n"
	"	mov %r12, 0x60(%rdi)\n"
	"	mov %r13, 0x68(%rdi)\n"
	"	mov %r14, 0x70(%rdi)\n"
	"	mov %r15, 0x78(%rdi)\n"
	"	pop %rax\n"
	"	mov %rax, 0x38(%rdi)\n"
	"	add $8, %rsp\n"			/* regs pointer */
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	xor %eax, %eax\n"
	"	ret\n"
	".size vmx_exit_trampoline, . - vmx_exit_trampoline\n");
