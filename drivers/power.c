/* Ending a run. Both emulator mechanisms are tried in turn; each is ignored by
 * the machines that do not have it (an unclaimed port write is dropped). */
#include "arch/x86/cpu.h"
#include "drivers/power.h"
#include "drivers/serial.h"

#define ISA_DEBUG_EXIT_PORT	0xf4
#define BOCHS_SHUTDOWN_PORT	0x8900

void power_off(uint8_t status)
{
	cli();
	serial_drain();
	outl(ISA_DEBUG_EXIT_PORT, status);
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
	for (;;)
		__asm__ volatile("cli; hlt");
}
