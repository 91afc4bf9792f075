/* The hypervisor proper: runs every guest module, prints the result table
 * and returns the status the machine powers off with (POWER_OK when every
 * guest ran and exited, POWER_FAIL otherwise). */
#ifndef UMBRA_VMM_VMM_H
#define UMBRA_VMM_VMM_H

#include "include/boot_info.h"

int vmm_run(const struct boot_info *bi);

#endif
