/* A misbehaving test guest for the hypervisor's error paths. The command
 * line picks what it does after greeting:
 *   touch=ADDR  read guest-physical ADDR (hex) with paging off
 *   hlt         cli; hlt
 *   triple      load an empty IDT and raise #UD: triple fault
 *   vmxon       execute VMXON (VMX is hidden: #UD, then triple fault)
 *   spin        cli, then loop forever without exits
 *   exit=N      exit with code N
 * Without a word it exits with code 0. */
#include "lib/glib.h"

int guest_entry(uint32_t magic, const struct mb1_info *mbi);

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
