/* Host GDT, TSS and IDT: every one of the 32 exception vectors reports the
 * vector, error code, RIP, CR2, general registers and a stack trace, then
 * powers the machine off with POWER_FAIL. */
#ifndef UMBRA_ARCH_X86_TRAP_H
#define UMBRA_ARCH_X86_TRAP_H

#include "include/types.h"

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

void trap_init(void);
/* Base address of the host TSS (the host-state TR base for VMX). */
uint64_t trap_tss_base(void);

#endif
