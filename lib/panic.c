#include <stdarg.h>
#include "arch/x86/cpu.h"
#include "drivers/power.h"
#include "lib/panic.h"
#include "lib/printf.h"

void print_stack_trace(uint64_t rbp);

/* A second panic while panicking (a fault in the dump, say) must not recurse. */
static int panicking;

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	cli();
	if (panicking++)
		power_off(POWER_FAIL);
	kprintf("\nPANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	print_stack_trace((uint64_t)__builtin_frame_address(0));
	power_off(POWER_FAIL);
}
