/* CPU identification (SDM Vol. 2A, CPUID). */
#include "arch/x86/cpu.h"
#include "lib/printf.h"
#include "lib/string.h"

struct cpu_info boot_cpu;

static void put_regs(char *dst, const struct cpuid_regs *r)
{
	memcpy(dst, &r->eax, 4);
	memcpy(dst + 4, &r->ebx, 4);
	memcpy(dst + 8, &r->ecx, 4);
	memcpy(dst + 12, &r->edx, 4);
}

void cpu_identify(void)
{
	struct cpu_info *c = &boot_cpu;
	struct cpuid_regs r = cpuid(0, 0);

	c->max_leaf = r.eax;
	memcpy(c->vendor, &r.ebx, 4);
	memcpy(c->vendor + 4, &r.edx, 4);
	memcpy(c->vendor + 8, &r.ecx, 4);
	c->vendor[12] = '\0';

	r = cpuid(1, 0);
	uint32_t fam = (r.eax >> 8) & 0xf, model = (r.eax >> 4) & 0xf;
	if (fam == 0xf)
		fam += (r.eax >> 20) & 0xff;
	if (fam == 0x6 || fam >= 0xf)
		model |= ((r.eax >> 16) & 0xf) << 4;
	c->family = fam;
	c->model = model;
	c->stepping = r.eax & 0xf;
	c->vmx = r.ecx & BIT(5);
	c->pcid = r.ecx & BIT(17);
	c->x2apic = r.ecx & BIT(21);
	c->xsave = r.ecx & BIT(26);
	c->hypervisor = r.ecx & BIT(31);
	c->pge = r.edx & BIT(13);

	if (c->max_leaf >= 7) {
		r = cpuid(7, 0);
		c->smep = r.ebx & BIT(7);
		c->smap = r.ebx & BIT(20);
		c->la57 = r.ecx & BIT(16);
	}

	c->max_ext_leaf = cpuid(0x80000000, 0).eax;
	if (c->max_ext_leaf >= 0x80000001) {
		r = cpuid(0x80000001, 0);
		c->nx = r.edx & BIT(20);
		c->pdpe1gb = r.edx & BIT(26);
	}
	if (c->max_ext_leaf >= 0x80000004) {
		for (uint32_t i = 0; i < 3; i++) {
			r = cpuid(0x80000002 + i, 0);
			put_regs(c->brand + 16 * i, &r);
		}
		c->brand[48] = '\0';
	}
	c->maxphyaddr = 36;	/* SDM: when leaf 80000008H is absent */
	c->maxlinaddr = 48;
	if (c->max_ext_leaf >= 0x80000008) {
		r = cpuid(0x80000008, 0);
		c->maxphyaddr = r.eax & 0xff;
		c->maxlinaddr = (r.eax >> 8) & 0xff;
	}
}

void cpu_print(void)
{
	const struct cpu_info *c = &boot_cpu;
	const char *brand = c->brand;

	while (*brand == ' ')
		brand++;
	kprintf("cpu: %s family %#x model %#x stepping %u%s%s\n", c->vendor, c->family, c->model,
		c->stepping, *brand ? ", " : "", brand);
	kprintf("cpu: VMX %s, MAXPHYADDR %u, linear %u bits, NX %s, 1G pages %s, "
		"SMEP %s, SMAP %s, LA57 %s\n",
		c->vmx ? "present" : "absent", c->maxphyaddr, c->maxlinaddr, c->nx ? "yes" : "no",
		c->pdpe1gb ? "yes" : "no", c->smep ? "yes" : "no", c->smap ? "yes" : "no",
		c->la57 ? "yes" : "no");
}
