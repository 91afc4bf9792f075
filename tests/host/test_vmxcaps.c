/* Host tests of the VMX control negotiation (arch/x86/vmx_caps.c) over the
 * capability MSR values Bochs reports for its CPU models (shared/PLATFORM.md)
 * and over synthetic ones. */
#include <stdlib.h>
#include <string.h>
#include "arch/x86/vmx.h"
#include "arch/x86/vmx_caps.h"
#include "tests/host/check.h"

#define CTL(must1, may1) (((uint64_t)(may1) << 32) | (uint32_t)(must1))

/* A Skylake-like CPU: TRUE controls, EPT with A/D and 1G, VPID, UG. */
static struct vmx_msrs skylake(void)
{
	struct vmx_msrs m = { 0 };

	m.basic = 43 | (4096ull << 32) | (6ull << 50) | VMX_BASIC_INS_OUTS_INFO | VMX_BASIC_TRUE_CTLS;
	m.pin = CTL(0x16, 0x7f);
	m.true_pin = CTL(0x16, 0x7f);
	m.proc = CTL(0x0401e172, 0xfff9fffe);
	m.true_proc = CTL(0x04006172, 0xfff9fffe);
	m.exit = CTL(0x00036dff, 0x00ffffff);
	m.true_exit = CTL(0x00036dfb, 0x00ffffff);
	m.entry = CTL(0x000011ff, 0x0003ffff);
	m.true_entry = CTL(0x000011fb, 0x0003ffff);
	m.proc2 = CTL(0, 0x005fffff);
	m.ept_vpid_cap = 0xf0106334141ull;
	m.cr0_fixed0 = 0x80000021;
	m.cr0_fixed1 = 0xffffffff;
	m.cr4_fixed0 = 0x2000;
	m.cr4_fixed1 = 0x3727ff;
	return m;
}

static const struct vmx_wants want_all = { VMX_EPT_AUTO, true, true, true, 32, false };

static void test_adjust(void)
{
	uint32_t out, missing;

	CHECK(vmx_ctl_adjust(CTL(0x16, 0x7f), 0x9, 0x40, &out, &missing));
	CHECK_EQ(out, 0x16 | 0x9 | 0x40);
	CHECK_EQ(missing, 0);
	/* An optional bit the CPU does not allow is dropped silently. */
	CHECK(vmx_ctl_adjust(CTL(0x16, 0x1f), 0x9, 0x40, &out, &missing));
	CHECK_EQ(out, 0x16 | 0x9);
	/* A required bit it does not allow is reported. */
	CHECK(!vmx_ctl_adjust(CTL(0x16, 0x1f), 0x80, 0, &out, &missing));
	CHECK_EQ(missing, 0x80);
	/* Must-be-1 bits always appear. */
	CHECK(vmx_ctl_adjust(CTL(0xff, 0xff), 0, 0, &out, &missing));
	CHECK_EQ(out, 0xff);
}

static void test_skylake(void)
{
	struct vmx_msrs m = skylake();
	struct vmx_config c;
	char err[200];

	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK_EQ(c.revision, 43);
	CHECK_EQ(c.vmcs_size, 4096);
	CHECK(c.true_ctls);
	CHECK(c.ept && c.vpid && c.unrestricted && c.ept_ad && c.ept_2m && c.ept_1g);
	CHECK_EQ(c.ept_levels, 4);
	CHECK_EQ(c.invept_type, INVEPT_SINGLE);
	CHECK_EQ(c.invvpid_type, INVVPID_SINGLE);
	CHECK(c.pin & PIN_EXT_INTR_EXITING);
	CHECK(c.pin & PIN_NMI_EXITING);
	CHECK(c.proc & CPU_HLT_EXITING);
	CHECK(c.proc & CPU_UNCOND_IO_EXITING);
	CHECK(c.proc & CPU_MSR_BITMAPS);
	CHECK(c.proc & CPU_SECONDARY_CTLS);
	/* TRUE controls let CR3 exiting go. */
	CHECK(!(c.proc & CPU_CR3_LOAD_EXITING));
	CHECK(!(c.proc & CPU_CR3_STORE_EXITING));
	CHECK(c.proc2 & CPU2_EPT);
	CHECK(c.exit & EXIT_HOST_ADDR_SPACE_SIZE);
	CHECK(c.exit & EXIT_LOAD_EFER);
	CHECK(c.entry & ENTRY_LOAD_EFER);
	CHECK(!(c.entry & ENTRY_IA32E_MODE_GUEST));
	CHECK_EQ(vmx_guest_cr0_fixed0(&c), 0x20);	/* NE only: PE, PG relaxed */

	/* Without TRUE controls the default-1 CR3 exiting stays on. */
	m.basic &= ~VMX_BASIC_TRUE_CTLS;
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(c.proc & CPU_CR3_LOAD_EXITING);
	CHECK(!c.true_ctls);
}

static void test_options(void)
{
	struct vmx_msrs m = skylake();
	struct vmx_config c;
	struct vmx_wants w = want_all;
	char err[200];

	w.vpid = false;
	w.unrestricted = false;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(!c.vpid && !c.unrestricted && c.ept);
	CHECK(!(c.proc2 & (CPU2_VPID | CPU2_UNRESTRICTED_GUEST)));
	CHECK_EQ(vmx_guest_cr0_fixed0(&c), 0x80000021);

	w = want_all;
	w.ept = VMX_EPT_5;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_NO_EPT_LEVEL);
	CHECK(strstr(err, "ept=5") != NULL);
	CHECK(strstr(err, "bit 7") != NULL);

	m.ept_vpid_cap |= EPT_CAP_WALK5;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK_EQ(c.ept_levels, 5);
	w.ept = VMX_EPT_AUTO;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK_EQ(c.ept_levels, 4);
	w.guest_phys_bits = 52;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK_EQ(c.ept_levels, 5);

	/* A CPU with only 5-level EPT. */
	m.ept_vpid_cap &= ~EPT_CAP_WALK4;
	w = want_all;
	w.ept = VMX_EPT_4;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_NO_EPT_LEVEL);
	CHECK(strstr(err, "ept=4") != NULL);

	w = want_all;
	w.ept = VMX_EPT_OFF;
	m = skylake();
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(!c.ept && !c.unrestricted);
}

/* Sandy Bridge (no A/D, no 1G) and Lynnfield (also no unrestricted guest). */
static void test_older(void)
{
	struct vmx_msrs m = skylake();
	struct vmx_config c;
	char err[200];

	m.ept_vpid_cap = 0xf0106114141ull;
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(c.ept && c.ept_2m && !c.ept_1g && !c.ept_ad && c.unrestricted);
	m.proc2 = CTL(0, 0x005fffff & ~CPU2_UNRESTRICTED_GUEST);
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(c.ept && !c.unrestricted);

	/* INVVPID without single or all-context: VPID is not used. */
	m.ept_vpid_cap &= ~(VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL);
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(!c.vpid);
	CHECK(!(c.proc2 & CPU2_VPID));
	/* Only all-context INVEPT. */
	m.ept_vpid_cap &= ~EPT_CAP_INVEPT_SINGLE;
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK_EQ(c.invept_type, INVEPT_ALL);
	m.ept_vpid_cap &= ~EPT_CAP_INVEPT_ALL;
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_MISSING_CONTROL);
	CHECK(strstr(err, "INVEPT") != NULL);
}

/* A required control missing is refused with its name. */
static void test_missing(void)
{
	struct vmx_msrs m = skylake();
	struct vmx_config c;
	char err[200];

	m.true_entry = CTL(0x11fb, 0x3ffff & ~ENTRY_LOAD_EFER);
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_MISSING_CONTROL);
	CHECK(strstr(err, "load IA32_EFER") != NULL);
	CHECK(strstr(err, "VM-entry") != NULL);

	m = skylake();
	m.true_proc = CTL(0x04006172, 0xfff9fffe & ~CPU_MSR_BITMAPS);
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_MISSING_CONTROL);
	CHECK(strstr(err, "use MSR bitmaps") != NULL);

	m = skylake();
	m.proc2 = CTL(0, 0x005fffff & ~CPU2_EPT);
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_MISSING_CONTROL);
	CHECK(strstr(err, "enable EPT") != NULL);

	m = skylake();
	m.true_entry = CTL(0x11fb, 0x3ffff & ~ENTRY_IA32E_MODE_GUEST);
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_MISSING_CONTROL);
	CHECK(strstr(err, "IA-32e mode guest") != NULL);

	m = skylake();
	m.basic = (m.basic & ~VMX_BASIC_VMCS_SIZE_MASK) | (8192ull << 32);
	CHECK_EQ(vmx_caps_negotiate(&m, &want_all, &c, err, sizeof(err)), VMX_CAPS_BAD_BASIC);
}

/* mmu=auto|shadow: EPT and the EFER controls become optional. On a
 * Penryn-like CPU (no EPT, VPID or EFER controls) the configuration is
 * accepted for shadow paging; on Skylake nothing changes. */
static void test_ept_optional(void)
{
	struct vmx_msrs m = skylake();
	struct vmx_wants w = want_all;
	struct vmx_config c;
	char err[200];

	w.ept_optional = true;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(c.ept && c.load_efer && c.unrestricted && c.vpid && c.invvpid_addr);
	CHECK(c.entry & ENTRY_LOAD_EFER);

	m.proc2 = CTL(0, 0x005fffff & ~(CPU2_EPT | CPU2_VPID | CPU2_UNRESTRICTED_GUEST));
	m.true_entry = CTL(0x11fb, 0x3ffff & ~ENTRY_LOAD_EFER);
	m.true_exit = CTL(0x00036dfb, 0x00ffffff & ~(EXIT_SAVE_EFER | EXIT_LOAD_EFER));
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(!c.ept && !c.vpid && !c.unrestricted && !c.load_efer);
	CHECK(!(c.entry & ENTRY_LOAD_EFER) && !(c.exit & (EXIT_SAVE_EFER | EXIT_LOAD_EFER)));
	/* mmu=ept still names the missing control. */
	w.ept_optional = false;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_MISSING_CONTROL);
	CHECK(strstr(err, "enable EPT") != NULL);

	/* EPT present but no EFER controls: shadow only (EPT guests need them). */
	m = skylake();
	m.true_entry = CTL(0x11fb, 0x3ffff & ~ENTRY_LOAD_EFER);
	w.ept_optional = true;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(!c.ept && !c.unrestricted && !(c.proc2 & CPU2_EPT) && !c.load_efer);
	/* ept=off with ept_optional: no EPT, EFER controls still used. */
	m = skylake();
	w.ept = VMX_EPT_OFF;
	CHECK_EQ(vmx_caps_negotiate(&m, &w, &c, err, sizeof(err)), VMX_CAPS_OK);
	CHECK(!c.ept && c.load_efer && c.vpid);
}

static void test_fixed_and_names(void)
{
	CHECK_EQ(vmx_cr_fixed_violations(0x80000031, 0x80000021, 0xffffffff), 0);
	CHECK_EQ(vmx_cr_fixed_violations(0x00000011, 0x80000021, 0xffffffff), 0x80000020);
	CHECK_EQ(vmx_cr_fixed_violations(0x2000 | (1u << 22), 0x2000, 0x3727ff), 1u << 22);
	CHECK(strcmp(vmx_ctl_name(VMX_CTL_PROC2, 7), "unrestricted guest") == 0);
	CHECK(strcmp(vmx_ctl_name(VMX_CTL_PIN, 1), "?") == 0);
	CHECK(strcmp(vmx_ctl_name(VMX_CTL_ENTRY, 40), "?") == 0);
}

int main(void)
{
	test_adjust();
	test_skylake();
	test_options();
	test_older();
	test_missing();
	test_ept_optional();
	test_fixed_and_names();
	return check_done("vmxcaps");
}
