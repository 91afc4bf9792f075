/* Ending a run. */
#ifndef UMBRA_DRIVERS_POWER_H
#define UMBRA_DRIVERS_POWER_H

#include "include/bits.h"
#include "include/types.h"

/* Status values a run ends with. Under QEMU's isa-debug-exit the process
 * exit status becomes (status << 1) | 1. */
#define POWER_OK	0x10	/* QEMU exit 33 */
#define POWER_FAIL	0x11	/* QEMU exit 35 */

/* Drain the console, then: port 0xf4 (QEMU isa-debug-exit), "Shutdown" on
 * port 0x8900 (Bochs), and halt forever if neither ended the machine. */
__noreturn void power_off(uint8_t status);

#endif
