/* VMX hardware definitions: MSRs, VMCS field encodings, control bits, exit
 * reasons and VM-instruction error numbers (SDM Vol. 3C chapters 25-31 and
 * Appendices A, B, C), plus the VMX instructions as inline wrappers that check
 * CF/ZF and panic naming the VM-instruction error (SDM Vol. 3C 31.2, 31.4). */
#ifndef UMBRA_ARCH_X86_VMX_H
#define UMBRA_ARCH_X86_VMX_H

#include "include/bits.h"
#include "include/types.h"

/* ---- VMX capability MSRs (SDM Vol. 3D Appendix A) --------------------- */
#define MSR_IA32_VMX_BASIC		0x480u
#define MSR_IA32_VMX_PINBASED_CTLS	0x481u
#define MSR_IA32_VMX_PROCBASED_CTLS	0x482u
#define MSR_IA32_VMX_EXIT_CTLS		0x483u
#define MSR_IA32_VMX_ENTRY_CTLS		0x484u
#define MSR_IA32_VMX_MISC		0x485u
#define MSR_IA32_VMX_CR0_FIXED0		0x486u
#define MSR_IA32_VMX_CR0_FIXED1		0x487u
#define MSR_IA32_VMX_CR4_FIXED0		0x488u
#define MSR_IA32_VMX_CR4_FIXED1		0x489u
#define MSR_IA32_VMX_VMCS_ENUM		0x48au
#define MSR_IA32_VMX_PROCBASED_CTLS2	0x48bu
#define MSR_IA32_VMX_EPT_VPID_CAP	0x48cu
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS	0x48du
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48eu
#define MSR_IA32_VMX_TRUE_EXIT_CTLS	0x48fu
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS	0x490u
#define MSR_IA32_VMX_VMFUNC		0x491u

/* IA32_FEATURE_CONTROL (SDM Vol. 3C 24.7) */
#define FEATURE_CONTROL_LOCK		BIT(0)
#define FEATURE_CONTROL_VMX_IN_SMX	BIT(1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX	BIT(2)

/* CPUID.1:ECX */
#define CPUID1_ECX_VMX			BIT(5)
#define CPUID1_ECX_XSAVE		BIT(26)
#define CPUID1_ECX_OSXSAVE		BIT(27)
#define CPUID1_ECX_HYPERVISOR		BIT(31)

/* IA32_VMX_BASIC (SDM Vol. 3D A.1) */
#define VMX_BASIC_REVISION_MASK		GENMASK(30, 0)
#define VMX_BASIC_VMCS_SIZE_SHIFT	32
#define VMX_BASIC_VMCS_SIZE_MASK	GENMASK(44, 32)
#define VMX_BASIC_32BIT_ADDR		BIT(48)
#define VMX_BASIC_DUAL_MONITOR		BIT(49)
#define VMX_BASIC_MEMTYPE_SHIFT		50
#define VMX_BASIC_MEMTYPE_MASK		GENMASK(53, 50)
#define VMX_BASIC_INS_OUTS_INFO		BIT(54)
#define VMX_BASIC_TRUE_CTLS		BIT(55)
#define VMX_MEMTYPE_UC			0
#define VMX_MEMTYPE_WB			6

/* IA32_VMX_MISC (SDM Vol. 3D A.6) */
#define VMX_MISC_PREEMPT_RATE_MASK	GENMASK(4, 0)
#define VMX_MISC_STORE_LMA		BIT(5)
#define VMX_MISC_ACT_HLT		BIT(6)
#define VMX_MISC_ACT_SHUTDOWN		BIT(7)
#define VMX_MISC_ACT_WAIT_SIPI		BIT(8)
#define VMX_MISC_CR3_TARGETS_SHIFT	16
#define VMX_MISC_CR3_TARGETS_MASK	GENMASK(24, 16)

/* IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D A.10) */
#define EPT_CAP_EXEC_ONLY		BIT(0)
#define EPT_CAP_WALK4			BIT(6)
#define EPT_CAP_WALK5			BIT(7)
#define EPT_CAP_MT_UC			BIT(8)
#define EPT_CAP_MT_WB			BIT(14)
#define EPT_CAP_2M			BIT(16)
#define EPT_CAP_1G			BIT(17)
#define EPT_CAP_INVEPT			BIT(20)
#define EPT_CAP_AD			BIT(21)
#define EPT_CAP_ADV_EXIT_INFO		BIT(22)
#define EPT_CAP_INVEPT_SINGLE		BIT(25)
#define EPT_CAP_INVEPT_ALL		BIT(26)
#define VPID_CAP_INVVPID		BIT(32)
#define VPID_CAP_INVVPID_ADDR		BIT(40)
#define VPID_CAP_INVVPID_SINGLE		BIT(41)
#define VPID_CAP_INVVPID_ALL		BIT(42)
#define VPID_CAP_INVVPID_SINGLE_NG	BIT(43)

/* EPTP (SDM Vol. 3C 25.6.11) */
#define EPTP_MT_MASK			GENMASK(2, 0)
#define EPTP_WALK_SHIFT			3
#define EPTP_WALK_MASK			GENMASK(5, 3)
#define EPTP_AD				BIT(6)
#define EPTP_SSS			BIT(7)
#define EPTP_RSVD_MASK			GENMASK(11, 8)

/* INVEPT / INVVPID types (SDM Vol. 3C 31.3) */
#define INVEPT_SINGLE			1
#define INVEPT_ALL			2
#define INVVPID_ADDR			0
#define INVVPID_SINGLE			1
#define INVVPID_ALL			2
#define INVVPID_SINGLE_NG		3

/* ---- VMCS field encodings (SDM Vol. 3D Appendix B) ------------------------
 * Bits 14:13 width (0 = 16, 1 = 64, 2 = 32, 3 = natural), bits 11:10 type
 * (0 control, 1 read-only data, 2 guest state, 3 host state), bit 0 = high
 * half of a 64-bit field. */
enum vmcs_field {
	/* B.1.1 16-bit control fields */
	VMCS_VPID			= 0x0000,
	VMCS_POSTED_INTR_NV		= 0x0002,
	VMCS_EPTP_INDEX			= 0x0004,
	/* B.1.2 16-bit guest-state fields */
	VMCS_GUEST_ES_SEL		= 0x0800,
	VMCS_GUEST_CS_SEL		= 0x0802,
	VMCS_GUEST_SS_SEL		= 0x0804,
	VMCS_GUEST_DS_SEL		= 0x0806,
	VMCS_GUEST_FS_SEL		= 0x0808,
	VMCS_GUEST_GS_SEL		= 0x080a,
	VMCS_GUEST_LDTR_SEL		= 0x080c,
	VMCS_GUEST_TR_SEL		= 0x080e,
	VMCS_GUEST_INTR_STATUS		= 0x0810,
	VMCS_GUEST_PML_INDEX		= 0x0812,
	/* B.1.3 16-bit host-state fields */
	VMCS_HOST_ES_SEL		= 0x0c00,
	VMCS_HOST_CS_SEL		= 0x0c02,
	VMCS_HOST_SS_SEL		= 0x0c04,
	VMCS_HOST_DS_SEL		= 0x0c06,
	VMCS_HOST_FS_SEL		= 0x0c08,
	VMCS_HOST_GS_SEL		= 0x0c0a,
	VMCS_HOST_TR_SEL		= 0x0c0c,
	/* B.2.1 64-bit control fields */
	VMCS_IO_BITMAP_A		= 0x2000,
	VMCS_IO_BITMAP_B		= 0x2002,
	VMCS_MSR_BITMAP			= 0x2004,
	VMCS_EXIT_MSR_STORE_ADDR	= 0x2006,
	VMCS_EXIT_MSR_LOAD_ADDR		= 0x2008,
	VMCS_ENTRY_MSR_LOAD_ADDR	= 0x200a,
	VMCS_EXECUTIVE_VMCS_PTR		= 0x200c,
	VMCS_PML_ADDR			= 0x200e,
	VMCS_TSC_OFFSET			= 0x2010,
	VMCS_VIRTUAL_APIC_ADDR		= 0x2012,
	VMCS_APIC_ACCESS_ADDR		= 0x2014,
	VMCS_POSTED_INTR_DESC		= 0x2016,
	VMCS_VMFUNC_CTLS		= 0x2018,
	VMCS_EPTP			= 0x201a,
	VMCS_EOI_EXIT0			= 0x201c,
	VMCS_EOI_EXIT1			= 0x201e,
	VMCS_EOI_EXIT2			= 0x2020,
	VMCS_EOI_EXIT3			= 0x2022,
	VMCS_EPTP_LIST_ADDR		= 0x2024,
	VMCS_VMREAD_BITMAP		= 0x2026,
	VMCS_VMWRITE_BITMAP		= 0x2028,
	VMCS_VE_INFO_ADDR		= 0x202a,
	VMCS_XSS_EXIT_BITMAP		= 0x202c,
	VMCS_ENCLS_EXIT_BITMAP		= 0x202e,
	VMCS_TSC_MULTIPLIER		= 0x2032,
	VMCS_TERTIARY_CTLS		= 0x2034,
	/* B.2.2 64-bit read-only data fields */
	VMCS_GUEST_PHYS_ADDR		= 0x2400,
	/* B.2.3 64-bit guest-state fields */
	VMCS_LINK_PTR			= 0x2800,
	VMCS_GUEST_DEBUGCTL		= 0x2802,
	VMCS_GUEST_PAT			= 0x2804,
	VMCS_GUEST_EFER			= 0x2806,
	VMCS_GUEST_PERF_GLOBAL_CTRL	= 0x2808,
	VMCS_GUEST_PDPTE0		= 0x280a,
	VMCS_GUEST_PDPTE1		= 0x280c,
	VMCS_GUEST_PDPTE2		= 0x280e,
	VMCS_GUEST_PDPTE3		= 0x2810,
	VMCS_GUEST_BNDCFGS		= 0x2812,
	/* B.2.4 64-bit host-state fields */
	VMCS_HOST_PAT			= 0x2c00,
	VMCS_HOST_EFER			= 0x2c02,
	VMCS_HOST_PERF_GLOBAL_CTRL	= 0x2c04,
	/* B.3.1 32-bit control fields */
	VMCS_PIN_CTLS			= 0x4000,
	VMCS_PROC_CTLS			= 0x4002,
	VMCS_EXCEPTION_BITMAP		= 0x4004,
	VMCS_PF_ERROR_MASK		= 0x4006,
	VMCS_PF_ERROR_MATCH		= 0x4008,
	VMCS_CR3_TARGET_COUNT		= 0x400a,
	VMCS_EXIT_CTLS			= 0x400c,
	VMCS_EXIT_MSR_STORE_COUNT	= 0x400e,
	VMCS_EXIT_MSR_LOAD_COUNT	= 0x4010,
	VMCS_ENTRY_CTLS			= 0x4012,
	VMCS_ENTRY_MSR_LOAD_COUNT	= 0x4014,
	VMCS_ENTRY_INTR_INFO		= 0x4016,
	VMCS_ENTRY_EXCEPTION_ERROR	= 0x4018,
	VMCS_ENTRY_INSN_LEN		= 0x401a,
	VMCS_TPR_THRESHOLD		= 0x401c,
	VMCS_PROC_CTLS2			= 0x401e,
	VMCS_PLE_GAP			= 0x4020,
	VMCS_PLE_WINDOW			= 0x4022,
	/* B.3.2 32-bit read-only data fields */
	VMCS_INSN_ERROR			= 0x4400,
	VMCS_EXIT_REASON		= 0x4402,
	VMCS_EXIT_INTR_INFO		= 0x4404,
	VMCS_EXIT_INTR_ERROR		= 0x4406,
	VMCS_IDT_VECTORING_INFO		= 0x4408,
	VMCS_IDT_VECTORING_ERROR	= 0x440a,
	VMCS_EXIT_INSN_LEN		= 0x440c,
	VMCS_EXIT_INSN_INFO		= 0x440e,
	/* B.3.3 32-bit guest-state fields */
	VMCS_GUEST_ES_LIMIT		= 0x4800,
	VMCS_GUEST_CS_LIMIT		= 0x4802,
	VMCS_GUEST_SS_LIMIT		= 0x4804,
	VMCS_GUEST_DS_LIMIT		= 0x4806,
	VMCS_GUEST_FS_LIMIT		= 0x4808,
	VMCS_GUEST_GS_LIMIT		= 0x480a,
	VMCS_GUEST_LDTR_LIMIT		= 0x480c,
	VMCS_GUEST_TR_LIMIT		= 0x480e,
	VMCS_GUEST_GDTR_LIMIT		= 0x4810,
	VMCS_GUEST_IDTR_LIMIT		= 0x4812,
	VMCS_GUEST_ES_AR		= 0x4814,
	VMCS_GUEST_CS_AR		= 0x4816,
	VMCS_GUEST_SS_AR		= 0x4818,
	VMCS_GUEST_DS_AR		= 0x481a,
	VMCS_GUEST_FS_AR		= 0x481c,
	VMCS_GUEST_GS_AR		= 0x481e,
	VMCS_GUEST_LDTR_AR		= 0x4820,
	VMCS_GUEST_TR_AR		= 0x4822,
	VMCS_GUEST_INTERRUPTIBILITY	= 0x4824,
	VMCS_GUEST_ACTIVITY		= 0x4826,
	VMCS_GUEST_SMBASE		= 0x4828,
	VMCS_GUEST_SYSENTER_CS		= 0x482a,
	VMCS_GUEST_PREEMPT_TIMER	= 0x482e,
	/* B.3.4 32-bit host-state field */
	VMCS_HOST_SYSENTER_CS		= 0x4c00,
	/* B.4.1 natural-width control fields */
	VMCS_CR0_MASK			= 0x6000,
	VMCS_CR4_MASK			= 0x6002,
	VMCS_CR0_SHADOW			= 0x6004,
	VMCS_CR4_SHADOW			= 0x6006,
	VMCS_CR3_TARGET0		= 0x6008,
	VMCS_CR3_TARGET1		= 0x600a,
	VMCS_CR3_TARGET2		= 0x600c,
	VMCS_CR3_TARGET3		= 0x600e,
	/* B.4.2 natural-width read-only data fields */
	VMCS_EXIT_QUALIFICATION		= 0x6400,
	VMCS_IO_RCX			= 0x6402,
	VMCS_IO_RSI			= 0x6404,
	VMCS_IO_RDI			= 0x6406,
	VMCS_IO_RIP			= 0x6408,
	VMCS_GUEST_LINEAR_ADDR		= 0x640a,
	/* B.4.3 natural-width guest-state fields */
	VMCS_GUEST_CR0			= 0x6800,
	VMCS_GUEST_CR3			= 0x6802,
	VMCS_GUEST_CR4			= 0x6804,
	VMCS_GUEST_ES_BASE		= 0x6806,
	VMCS_GUEST_CS_BASE		= 0x6808,
	VMCS_GUEST_SS_BASE		= 0x680a,
	VMCS_GUEST_DS_BASE		= 0x680c,
	VMCS_GUEST_FS_BASE		= 0x680e,
	VMCS_GUEST_GS_BASE		= 0x6810,
	VMCS_GUEST_LDTR_BASE		= 0x6812,
	VMCS_GUEST_TR_BASE		= 0x6814,
	VMCS_GUEST_GDTR_BASE		= 0x6816,
	VMCS_GUEST_IDTR_BASE		= 0x6818,
	VMCS_GUEST_DR7			= 0x681a,
	VMCS_GUEST_RSP			= 0x681c,
	VMCS_GUEST_RIP			= 0x681e,
	VMCS_GUEST_RFLAGS		= 0x6820,
	VMCS_GUEST_PENDING_DBG		= 0x6822,
	VMCS_GUEST_SYSENTER_ESP		= 0x6824,
	VMCS_GUEST_SYSENTER_EIP		= 0x6826,
	/* B.4.4 natural-width host-state fields */
	VMCS_HOST_CR0			= 0x6c00,
	VMCS_HOST_CR3			= 0x6c02,
	VMCS_HOST_CR4			= 0x6c04,
	VMCS_HOST_FS_BASE		= 0x6c06,
	VMCS_HOST_GS_BASE		= 0x6c08,
	VMCS_HOST_TR_BASE		= 0x6c0a,
	VMCS_HOST_GDTR_BASE		= 0x6c0c,
	VMCS_HOST_IDTR_BASE		= 0x6c0e,
	VMCS_HOST_SYSENTER_ESP		= 0x6c10,
	VMCS_HOST_SYSENTER_EIP		= 0x6c12,
	VMCS_HOST_RSP			= 0x6c14,
	VMCS_HOST_RIP			= 0x6c16,
};

#define VMCS_FIELD_WIDTH(f)	(((unsigned)(f) >> 13) & 3)
#define VMCS_WIDTH_16		0
#define VMCS_WIDTH_64		1
#define VMCS_WIDTH_32		2
#define VMCS_WIDTH_NATURAL	3

/* ---- Pin-based VM-execution controls (SDM Vol. 3C 25.6.1) ------------- */
#define PIN_EXT_INTR_EXITING		BIT(0)
#define PIN_NMI_EXITING			BIT(3)
#define PIN_VIRTUAL_NMIS		BIT(5)
#define PIN_PREEMPT_TIMER		BIT(6)
#define PIN_POSTED_INTR			BIT(7)

/* ---- Primary processor-based controls (SDM Vol. 3C 25.6.2, table 25-6) - */
#define CPU_INTR_WINDOW_EXITING		BIT(2)
#define CPU_TSC_OFFSETTING		BIT(3)
#define CPU_HLT_EXITING			BIT(7)
#define CPU_INVLPG_EXITING		BIT(9)
#define CPU_MWAIT_EXITING		BIT(10)
#define CPU_RDPMC_EXITING		BIT(11)
#define CPU_RDTSC_EXITING		BIT(12)
#define CPU_CR3_LOAD_EXITING		BIT(15)
#define CPU_CR3_STORE_EXITING		BIT(16)
#define CPU_TERTIARY_CTLS		BIT(17)
#define CPU_CR8_LOAD_EXITING		BIT(19)
#define CPU_CR8_STORE_EXITING		BIT(20)
#define CPU_TPR_SHADOW			BIT(21)
#define CPU_NMI_WINDOW_EXITING		BIT(22)
#define CPU_MOV_DR_EXITING		BIT(23)
#define CPU_UNCOND_IO_EXITING		BIT(24)
#define CPU_IO_BITMAPS			BIT(25)
#define CPU_MTF				BIT(27)
#define CPU_MSR_BITMAPS			BIT(28)
#define CPU_MONITOR_EXITING		BIT(29)
#define CPU_PAUSE_EXITING		BIT(30)
#define CPU_SECONDARY_CTLS		BIT(31)

/* ---- Secondary processor-based controls (SDM Vol. 3C 25.6.2, table 25-7) */
#define CPU2_VIRT_APIC_ACCESS		BIT(0)
#define CPU2_EPT			BIT(1)
#define CPU2_DESC_TABLE_EXITING		BIT(2)
#define CPU2_RDTSCP			BIT(3)
#define CPU2_VIRT_X2APIC		BIT(4)
#define CPU2_VPID			BIT(5)
#define CPU2_WBINVD_EXITING		BIT(6)
#define CPU2_UNRESTRICTED_GUEST		BIT(7)
#define CPU2_APIC_REG_VIRT		BIT(8)
#define CPU2_VIRT_INTR_DELIVERY		BIT(9)
#define CPU2_PAUSE_LOOP_EXITING		BIT(10)
#define CPU2_RDRAND_EXITING		BIT(11)
#define CPU2_INVPCID			BIT(12)
#define CPU2_VMFUNC			BIT(13)
#define CPU2_VMCS_SHADOWING		BIT(14)
#define CPU2_ENCLS_EXITING		BIT(15)
#define CPU2_RDSEED_EXITING		BIT(16)
#define CPU2_PML			BIT(17)
#define CPU2_EPT_VE			BIT(18)
#define CPU2_PT_CONCEAL			BIT(19)
#define CPU2_XSAVES			BIT(20)
#define CPU2_MODE_BASED_EXEC		BIT(22)
#define CPU2_TSC_SCALING		BIT(25)

/* ---- VM-exit controls (SDM Vol. 3C 25.7.1, table 25-13) ---------------- */
#define EXIT_SAVE_DEBUG_CTLS		BIT(2)
#define EXIT_HOST_ADDR_SPACE_SIZE	BIT(9)
#define EXIT_LOAD_PERF_GLOBAL_CTRL	BIT(12)
#define EXIT_ACK_INTR_ON_EXIT		BIT(15)
#define EXIT_SAVE_PAT			BIT(18)
#define EXIT_LOAD_PAT			BIT(19)
#define EXIT_SAVE_EFER			BIT(20)
#define EXIT_LOAD_EFER			BIT(21)
#define EXIT_SAVE_PREEMPT_TIMER		BIT(22)
#define EXIT_CLEAR_BNDCFGS		BIT(23)

/* ---- VM-entry controls (SDM Vol. 3C 25.8.1, table 25-15) --------------- */
#define ENTRY_LOAD_DEBUG_CTLS		BIT(2)
#define ENTRY_IA32E_MODE_GUEST		BIT(9)
#define ENTRY_SMM			BIT(10)
#define ENTRY_DEACTIVATE_DUAL_MONITOR	BIT(11)
#define ENTRY_LOAD_PERF_GLOBAL_CTRL	BIT(13)
#define ENTRY_LOAD_PAT			BIT(14)
#define ENTRY_LOAD_EFER			BIT(15)
#define ENTRY_LOAD_BNDCFGS		BIT(16)

/* ---- Segment access rights in the VMCS (SDM Vol. 3C 25.4.1, table 25-2) */
#define AR_TYPE_MASK			GENMASK(3, 0)
#define AR_TYPE_ACCESSED		BIT(0)
#define AR_TYPE_WRITABLE		BIT(1)	/* data: writable; code: readable */
#define AR_TYPE_CODE			BIT(3)
#define AR_S				BIT(4)	/* code/data (1) or system (0) */
#define AR_DPL_SHIFT			5
#define AR_DPL_MASK			GENMASK(6, 5)
#define AR_P				BIT(7)
#define AR_AVL				BIT(12)
#define AR_L				BIT(13)
#define AR_DB				BIT(14)
#define AR_G				BIT(15)
#define AR_UNUSABLE			BIT(16)
#define AR_RSVD_MASK			(GENMASK(11, 8) | GENMASK(31, 17))
#define AR_TYPE_TSS16_BUSY		3
#define AR_TYPE_LDT			2
#define AR_TYPE_TSS32_BUSY		11

/* Guest interruptibility state (SDM Vol. 3C 25.4.2, table 25-3) */
#define INTR_BLOCK_STI			BIT(0)
#define INTR_BLOCK_MOV_SS		BIT(1)
#define INTR_BLOCK_SMI			BIT(2)
#define INTR_BLOCK_NMI			BIT(3)
#define INTR_ENCLAVE			BIT(4)

/* Guest activity state (SDM Vol. 3C 25.4.2) */
#define ACTIVITY_ACTIVE			0
#define ACTIVITY_HLT			1
#define ACTIVITY_SHUTDOWN		2
#define ACTIVITY_WAIT_SIPI		3

/* VM-entry / VM-exit interruption information (SDM Vol. 3C 25.8.3, 25.9.2) */
#define INTR_INFO_VECTOR_MASK		GENMASK(7, 0)
#define INTR_INFO_TYPE_SHIFT		8
#define INTR_INFO_TYPE_MASK		GENMASK(10, 8)
#define INTR_INFO_ERROR_CODE		BIT(11)
#define INTR_INFO_NMI_UNBLOCK		BIT(12)
#define INTR_INFO_VALID			BIT(31)
#define INTR_TYPE_EXT_INTR		0
#define INTR_TYPE_NMI			2
#define INTR_TYPE_HW_EXCEPTION		3
#define INTR_TYPE_SW_INTR		4
#define INTR_TYPE_PRIV_SW_EXCEPTION	5
#define INTR_TYPE_SW_EXCEPTION		6

/* Exit-reason field (SDM Vol. 3C 25.9.1) */
#define EXIT_REASON_BASIC_MASK		GENMASK(15, 0)
#define EXIT_REASON_ENTRY_FAIL		BIT(31)

/* ---- Basic exit reasons (SDM Vol. 3D Appendix C) ---------------------- */
enum exit_reason {
	EXIT_EXCEPTION_NMI		= 0,
	EXIT_EXTERNAL_INTR		= 1,
	EXIT_TRIPLE_FAULT		= 2,
	EXIT_INIT			= 3,
	EXIT_SIPI			= 4,
	EXIT_IO_SMI			= 5,
	EXIT_OTHER_SMI			= 6,
	EXIT_INTR_WINDOW		= 7,
	EXIT_NMI_WINDOW			= 8,
	EXIT_TASK_SWITCH		= 9,
	EXIT_CPUID			= 10,
	EXIT_GETSEC			= 11,
	EXIT_HLT			= 12,
	EXIT_INVD			= 13,
	EXIT_INVLPG			= 14,
	EXIT_RDPMC			= 15,
	EXIT_RDTSC			= 16,
	EXIT_RSM			= 17,
	EXIT_VMCALL			= 18,
	EXIT_VMCLEAR			= 19,
	EXIT_VMLAUNCH			= 20,
	EXIT_VMPTRLD			= 21,
	EXIT_VMPTRST			= 22,
	EXIT_VMREAD			= 23,
	EXIT_VMRESUME			= 24,
	EXIT_VMWRITE			= 25,
	EXIT_VMXOFF			= 26,
	EXIT_VMXON			= 27,
	EXIT_CR_ACCESS			= 28,
	EXIT_DR_ACCESS			= 29,
	EXIT_IO				= 30,
	EXIT_RDMSR			= 31,
	EXIT_WRMSR			= 32,
	EXIT_ENTRY_FAIL_GUEST		= 33,
	EXIT_ENTRY_FAIL_MSR		= 34,
	EXIT_MWAIT			= 36,
	EXIT_MTF			= 37,
	EXIT_MONITOR			= 39,
	EXIT_PAUSE			= 40,
	EXIT_ENTRY_FAIL_MCE		= 41,
	EXIT_TPR_BELOW_THRESHOLD	= 43,
	EXIT_APIC_ACCESS		= 44,
	EXIT_VIRTUALIZED_EOI		= 45,
	EXIT_GDTR_IDTR			= 46,
	EXIT_LDTR_TR			= 47,
	EXIT_EPT_VIOLATION		= 48,
	EXIT_EPT_MISCONFIG		= 49,
	EXIT_INVEPT			= 50,
	EXIT_RDTSCP			= 51,
	EXIT_PREEMPT_TIMER		= 52,
	EXIT_INVVPID			= 53,
	EXIT_WBINVD			= 54,
	EXIT_XSETBV			= 55,
	EXIT_APIC_WRITE			= 56,
	EXIT_RDRAND			= 57,
	EXIT_INVPCID			= 58,
	EXIT_VMFUNC			= 59,
	EXIT_ENCLS			= 60,
	EXIT_RDSEED			= 61,
	EXIT_PML_FULL			= 62,
	EXIT_XSAVES			= 63,
	EXIT_XRSTORS			= 64,
	EXIT_REASON_COUNT		= 70,	/* table size for per-reason counters */
};

/* ---- VM-instruction error numbers (SDM Vol. 3C 31.4, table 31-1) ------- */
enum vmx_insn_error {
	VMXERR_VMCALL_IN_ROOT			= 1,
	VMXERR_VMCLEAR_BAD_ADDR			= 2,
	VMXERR_VMCLEAR_VMXON_PTR		= 3,
	VMXERR_VMLAUNCH_NOT_CLEAR		= 4,
	VMXERR_VMRESUME_NOT_LAUNCHED		= 5,
	VMXERR_VMRESUME_AFTER_VMXOFF		= 6,
	VMXERR_ENTRY_BAD_CONTROLS		= 7,
	VMXERR_ENTRY_BAD_HOST_STATE		= 8,
	VMXERR_VMPTRLD_BAD_ADDR			= 9,
	VMXERR_VMPTRLD_VMXON_PTR		= 10,
	VMXERR_VMPTRLD_BAD_REVISION		= 11,
	VMXERR_UNSUPPORTED_FIELD		= 12,
	VMXERR_VMWRITE_READ_ONLY		= 13,
	VMXERR_VMXON_IN_ROOT			= 15,
	VMXERR_ENTRY_BAD_EXECUTIVE_VMCS		= 16,
	VMXERR_ENTRY_EXECUTIVE_NOT_LAUNCHED	= 17,
	VMXERR_ENTRY_EXECUTIVE_NOT_VMXON	= 18,
	VMXERR_VMCALL_NOT_CLEAR			= 19,
	VMXERR_VMCALL_BAD_EXIT_CONTROLS		= 20,
	VMXERR_VMCALL_BAD_MSEG_REVISION		= 22,
	VMXERR_VMXOFF_DUAL_MONITOR		= 23,
	VMXERR_VMCALL_BAD_SMM_FEATURES		= 24,
	VMXERR_ENTRY_BAD_EXECUTIVE_CONTROLS	= 25,
	VMXERR_ENTRY_MOV_SS_BLOCKING		= 26,
	VMXERR_INVEPT_INVVPID_BAD_OPERAND	= 28,
};

/* EPT-violation exit qualification (SDM Vol. 3C 28.2.1, table 28-7) */
#define EPT_QUAL_READ			BIT(0)
#define EPT_QUAL_WRITE			BIT(1)
#define EPT_QUAL_FETCH			BIT(2)
#define EPT_QUAL_READABLE		BIT(3)
#define EPT_QUAL_WRITABLE		BIT(4)
#define EPT_QUAL_EXECUTABLE		BIT(5)
#define EPT_QUAL_USER_EXECUTABLE	BIT(6)
#define EPT_QUAL_LINEAR_VALID		BIT(7)
#define EPT_QUAL_TRANSLATION		BIT(8)
#define EPT_QUAL_NMI_UNBLOCK		BIT(12)

/* Control-register access qualification (SDM Vol. 3C 28.2.1, table 28-3) */
#define CRQ_CR_MASK			GENMASK(3, 0)
#define CRQ_TYPE_SHIFT			4
#define CRQ_TYPE_MASK			GENMASK(5, 4)
#define CRQ_TYPE_MOV_TO_CR		0
#define CRQ_TYPE_MOV_FROM_CR		1
#define CRQ_TYPE_CLTS			2
#define CRQ_TYPE_LMSW			3
#define CRQ_GPR_SHIFT			8
#define CRQ_GPR_MASK			GENMASK(11, 8)
#define CRQ_LMSW_SRC_SHIFT		16

/* I/O instruction qualification (SDM Vol. 3C 28.2.1, table 28-5) */
#define IOQ_SIZE_MASK			GENMASK(2, 0)	/* size - 1 */
#define IOQ_IN				BIT(3)
#define IOQ_STRING			BIT(4)
#define IOQ_REP				BIT(5)
#define IOQ_IMM				BIT(6)
#define IOQ_PORT_SHIFT			16

/* Names, for messages and dumps (arch/x86/vmx.c). */
const char *vmx_insn_error_name(unsigned err);
const char *vmx_exit_reason_name(unsigned reason);
const char *vmcs_field_name(enum vmcs_field f);
/* Every field in the enum above, in order (for dumps). */
extern const enum vmcs_field vmcs_all_fields[];
extern const unsigned vmcs_all_fields_count;

#ifndef UMBRA_HOSTED
/* ---- VMX instructions (SDM Vol. 3C 31.3) ------------------------------------
 * Each instruction reports VMfailInvalid through CF and VMfailValid through
 * ZF (SDM Vol. 3C 31.2). Failures of VMX instructions are broken invariants
 * of the hypervisor, so the wrappers panic naming the instruction, its operand
 * and, for VMfailValid, the VM-instruction error. */
__noreturn void vmx_insn_failed(const char *insn, uint64_t operand, bool valid);

#define VMX_FAIL_CHECK(insn, operand, cf, zf)					\
	do {									\
		if (__builtin_expect((cf) | (zf), 0))				\
			vmx_insn_failed(insn, operand, zf);			\
	} while (0)

static inline void vmxon(hpa_t region)
{
	bool cf, zf;
	__asm__ volatile("vmxon %2" : "=@ccc"(cf), "=@ccz"(zf) : "m"(region) : "memory");
	VMX_FAIL_CHECK("VMXON", region, cf, zf);
}

static inline void vmxoff(void)
{
	bool cf, zf;
	__asm__ volatile("vmxoff" : "=@ccc"(cf), "=@ccz"(zf) : : "memory");
	VMX_FAIL_CHECK("VMXOFF", 0, cf, zf);
}

static inline void vmclear(hpa_t vmcs)
{
	bool cf, zf;
	__asm__ volatile("vmclear %2" : "=@ccc"(cf), "=@ccz"(zf) : "m"(vmcs) : "memory");
	VMX_FAIL_CHECK("VMCLEAR", vmcs, cf, zf);
}

static inline void vmptrld(hpa_t vmcs)
{
	bool cf, zf;
	__asm__ volatile("vmptrld %2" : "=@ccc"(cf), "=@ccz"(zf) : "m"(vmcs) : "memory");
	VMX_FAIL_CHECK("VMPTRLD", vmcs, cf, zf);
}

/* VMREAD and VMWRITE are on every exit path: one branch on CF | ZF ("below
 * or equal"), the failure kind is told apart on the cold path. */
void vmx_access_failed(const char *insn, uint64_t field) __attribute__((noreturn, cold));

static inline uint64_t vmcs_read(enum vmcs_field f)
{
	uint64_t v;
	bool fail;
	__asm__ volatile("vmread %2, %0" : "=rm"(v), "=@ccbe"(fail) : "r"((uint64_t)f) : "memory");
	if (__builtin_expect(fail, 0))
		vmx_access_failed("VMREAD", f);
	return v;
}

/* VMREAD without panicking: false when the field is not supported. */
static inline bool vmcs_try_read(enum vmcs_field f, uint64_t *v)
{
	bool cf, zf;
	__asm__ volatile("vmread %3, %0" : "=rm"(*v), "=@ccc"(cf), "=@ccz"(zf) : "r"((uint64_t)f)
			 : "memory");
	return !(cf | zf);
}

static inline void vmcs_write(enum vmcs_field f, uint64_t v)
{
	bool fail;
	__asm__ volatile("vmwrite %2, %1" : "=@ccbe"(fail) : "r"((uint64_t)f), "rm"(v) : "memory");
	if (__builtin_expect(fail, 0))
		vmx_access_failed("VMWRITE", f);
}

/* VMWRITE without panicking (optional fields): false when unsupported. */
static inline bool vmcs_try_write(enum vmcs_field f, uint64_t v)
{
	bool cf, zf;
	__asm__ volatile("vmwrite %3, %2" : "=@ccc"(cf), "=@ccz"(zf) : "r"((uint64_t)f), "rm"(v)
			 : "memory");
	return !(cf | zf);
}

struct invept_desc {
	uint64_t eptp, zero;
};
struct invvpid_desc {
	uint64_t vpid;		/* bits 15:0; the rest must be zero */
	uint64_t gva;
};

static inline void invept(uint64_t type, uint64_t eptp)
{
	struct invept_desc d = { eptp, 0 };
	bool cf, zf;
	__asm__ volatile("invept %2, %3" : "=@ccc"(cf), "=@ccz"(zf) : "m"(d), "r"(type) : "memory");
	VMX_FAIL_CHECK("INVEPT", type, cf, zf);
}

static inline void invvpid(uint64_t type, uint16_t vpid, gva_t gva)
{
	struct invvpid_desc d = { vpid, gva };
	bool cf, zf;
	__asm__ volatile("invvpid %2, %3" : "=@ccc"(cf), "=@ccz"(zf) : "m"(d), "r"(type) : "memory");
	VMX_FAIL_CHECK("INVVPID", type, cf, zf);
}

/* Guest general-purpose registers not held in the VMCS (RSP and RIP are). */
struct guest_regs {
	uint64_t rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* Enter the guest of the current VMCS with VMLAUNCH (@launched false) or
 * VMRESUME, loading @regs first; on VM exit @regs holds the guest's registers
 * and the result is VMX_ENTER_EXIT. A failed instruction (no VM exit) returns
 * VMX_ENTER_FAIL_INVALID (CF) or VMX_ENTER_FAIL_VALID (ZF; the VM-instruction
 * error field says why). Host callee-saved registers are preserved. */
enum vmx_enter_result {
	VMX_ENTER_EXIT = 0,
	VMX_ENTER_FAIL_INVALID = 1,
	VMX_ENTER_FAIL_VALID = 2,
};
enum vmx_enter_result vmx_enter(struct guest_regs *regs, bool launched);
/* Where VM exits land (HOST_RIP); not callable. */
void vmx_exit_trampoline(void);
#endif /* !UMBRA_HOSTED */

_Static_assert(VMCS_FIELD_WIDTH(VMCS_GUEST_ES_SEL) == VMCS_WIDTH_16, "16-bit field");
_Static_assert(VMCS_FIELD_WIDTH(VMCS_EPTP) == VMCS_WIDTH_64, "64-bit field");
_Static_assert(VMCS_FIELD_WIDTH(VMCS_PIN_CTLS) == VMCS_WIDTH_32, "32-bit field");
_Static_assert(VMCS_FIELD_WIDTH(VMCS_HOST_RIP) == VMCS_WIDTH_NATURAL, "natural field");
_Static_assert(VMCS_GUEST_ES_AR - VMCS_GUEST_ES_LIMIT == 0x14, "segment field stride");
_Static_assert(VMCS_GUEST_TR_BASE - VMCS_GUEST_ES_BASE == 7 * 2, "segment base order");
_Static_assert(EXIT_XRSTORS < EXIT_REASON_COUNT, "exit counter table");
_Static_assert(VMX_BASIC_VMCS_SIZE_MASK == 0x1fff00000000ull, "VMCS size bits 44:32");
_Static_assert(AR_UNUSABLE == 0x10000, "unusable bit 16");
_Static_assert((EPT_CAP_WALK4 | EPT_CAP_WALK5) == 0xc0, "EPT walk-length caps bits 6, 7");
#ifndef UMBRA_HOSTED
_Static_assert(sizeof(struct invept_desc) == 16, "INVEPT descriptor is 128 bits");
_Static_assert(sizeof(struct guest_regs) == 16 * 8, "guest_regs layout used by vmx_enter");
#endif

#endif
