/* Low-level part of the paging guest: the probe that performs one access
 * (at CPL 0 or 3, from 32-bit or 64-bit code), the exception stubs that
 * end it, and the switches into each paging mode. Selectors and flags
 * match pg.h. */
#define SEL_KCODE32	0x08
#define SEL_KDATA	0x10
#define SEL_KCODE64	0x18
#define SEL_UCODE32	0x23
#define SEL_UDATA	0x2b
#define SEL_UCODE64	0x33
#define USER_CODE	0x00c00000
#define USER_STACK_TOP	0x00c02000
#define PROBE_USER	0x1
#define PROBE_AC	0x2
#define PROBE_INVLPG	0x4
#define PROBE_WIDE	0x8
#define PROBE_LOAD_CR3	3
#define PROBE_LOAD_CR0	4
#define PROBE_LOAD_CR4	5
#define PROBE_NONE	6
#define EFLAGS_AC	0x40000

	.data
/* The probe's words; trap64 addresses them relative to probe_vector, so
 * keep their order. */
	.globl probe_vector, probe_err, probe_cr2_lo, probe_cr2_hi, probe_value
probe_vector:	.long 0
probe_err:	.long 0
probe_cr2_lo:	.long 0
probe_cr2_hi:	.long 0
probe_value:	.long 0
probe_esp:	.long 0
probe_armed:	.long 0
trap_ip:	.long 0
	.globl trap_ip

	.text
	.code32
/* uint32_t probe_run(const struct probe *p): perform one access and return
 * the vector that ended it: 0x80 when the access completed (the access
 * stubs end with INT 0x80), else the exception (#PF, #GP, ...). The
 * exception stubs record error code and CR2 and resume at probe_resume on
 * the stack saved here, in 32-bit ring 0, whatever mode the access ran in. */
	.globl probe_run
probe_run:
	push %ebp
	push %ebx
	push %esi
	push %edi
	pushf
	mov 24(%esp), %ebp
	mov %esp, probe_esp
	movl $0, probe_err
	movl $0, probe_cr2_lo
	movl $0, probe_cr2_hi
	movl $0, probe_value
	movl $1, probe_armed
	mov 0(%ebp), %ebx		/* kind */
	mov 4(%ebp), %eax		/* address */
	mov 8(%ebp), %esi
	mov 12(%ebp), %edi		/* flags */
	mov 16(%ebp), %ecx		/* value to write / CR3 */
	xor %edx, %edx
	cmp $PROBE_LOAD_CR3, %ebx
	je 5f
	cmp $PROBE_LOAD_CR0, %ebx
	je 6f
	cmp $PROBE_LOAD_CR4, %ebx
	je 7f
	test $PROBE_WIDE, %edi
	jz 1f
	ljmp $SEL_KCODE64, $probe64
1:	test $PROBE_INVLPG, %edi
	jz 2f
	invlpg (%eax)
2:	cmp $PROBE_NONE, %ebx
	jne 8f
	int $0x80
8:	test $PROBE_USER, %edi
	jnz 4f
	test $PROBE_AC, %edi
	jz 3f
	pushf
	orl $EFLAGS_AC, (%esp)
	popf
3:	cmp $1, %ebx
	je kwrite32
	cmp $2, %ebx
	je kfetch32
	mov (%eax), %edx
	int $0x80
kwrite32:
	mov %ecx, (%eax)
	int $0x80
kfetch32:
	jmp *%eax
4:	push $SEL_UDATA			/* IRET to ring 3: SS, ESP, EFLAGS, CS, EIP */
	push $USER_STACK_TOP
	push $0x2
	push $SEL_UCODE32
	lea USER_CODE(,%ebx,8), %ebp
	push %ebp
	mov $SEL_UDATA, %bp
	mov %bp, %ds
	mov %bp, %es
	iret
5:	mov %ecx, %cr3			/* PAE: may #GP on bad PDPTEs (SDM 4.4.1) */
	int $0x80
6:	mov %ecx, %cr0
	int $0x80
7:	mov %ecx, %cr4
	int $0x80

	.globl probe_resume
probe_resume:
	mov $SEL_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	popf
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	mov probe_vector, %eax
	ret

	.code64
probe64:
	shl $32, %rsi
	mov %eax, %eax
	or %rsi, %rax
	test $PROBE_INVLPG, %edi
	jz 1f
	invlpg (%rax)
1:	cmp $PROBE_NONE, %ebx
	jne 8f
	int $0x80
8:	test $PROBE_USER, %edi
	jnz 4f
	test $PROBE_AC, %edi
	jz 3f
	pushfq
	orl $EFLAGS_AC, (%rsp)
	popfq
3:	cmp $1, %ebx
	je kwrite64
	cmp $2, %ebx
	je kfetch64
	mov (%rax), %edx
	int $0x80
kwrite64:
	mov %ecx, (%rax)
	int $0x80
kfetch64:
	jmp *%rax
4:	push $SEL_UDATA			/* IRETQ to 64-bit ring 3 */
	push $USER_STACK_TOP
	push $0x2
	push $SEL_UCODE64
	lea USER_CODE(,%rbx,8), %rbp
	push %rbp
	iretq

	.code32
/* The user-mode access stubs, copied to USER_CODE, 8 bytes apart (index =
 * probe kind). Their encodings mean the same in 32-bit and 64-bit mode. */
	.globl user_stubs, user_stubs_end
	.balign 8
user_stubs:
	mov (%eax), %edx		/* read */
	int $0x80
	.balign 8
	mov %ecx, (%eax)		/* write */
	int $0x80
	.balign 8
	jmp *%eax			/* fetch: the tagged word starts with INT 0x80 */
	.balign 8
user_stubs_end:

/* Exception and INT 0x80 stubs: push a dummy error code where the CPU
 * pushes none (SDM Vol. 3A 6.13), then the vector. */
	.macro isr32 v
	.if !((\v == 8) || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21)
	push $0
	.endif
	push $\v
	jmp trap32
	.endm
	.macro isr64 v
	.if !((\v == 8) || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21)
	push $0
	.endif
	push $\v
	jmp trap64
	.endm

	.globl isr32_table, isr64_table
	.section .rodata
isr32_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
	.long isr32_\v
	.endr
isr64_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
	.long isr64_\v
	.endr

	.text
	.code32
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
isr32_\v: isr32 \v
	.endr

/* 32-bit paging modes: record the outcome and, if a probe is armed, go
 * back to probe_resume on the probe's stack; else report the stray trap. */
trap32:
	mov %edx, %ss:probe_value
	pop %ss:probe_vector
	pop %ss:probe_err
	mov %cr2, %edx
	mov %edx, %ss:probe_cr2_lo
	movl $0, %ss:probe_cr2_hi
	mov (%esp), %edx
	mov %edx, %ss:trap_ip
	mov $SEL_KDATA, %dx
	mov %dx, %ds
	mov %dx, %es
	cmpl $0, probe_armed
	je 1f
	movl $0, probe_armed
	mov probe_esp, %esp
	jmp probe_resume
1:	mov $trap_stack_top, %esp
	call pg_stray_trap

	.code64
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
isr64_\v: isr64 \v
	.endr

/* IA-32e mode: the same, returning with IRETQ to 32-bit compatibility-mode
 * ring 0 (CS.L = 0, SDM Vol. 3A 5.2.1). */
trap64:
	mov $probe_vector, %ebx		/* the probe_* words, in .data order */
	mov %edx, 16(%rbx)		/* probe_value */
	pop %rax
	mov %eax, 0(%rbx)		/* probe_vector */
	pop %rax
	mov %eax, 4(%rbx)		/* probe_err */
	mov %cr2, %rax
	mov %eax, 8(%rbx)		/* probe_cr2_lo */
	shr $32, %rax
	mov %eax, 12(%rbx)		/* probe_cr2_hi */
	mov (%rsp), %rax
	mov %eax, 28(%rbx)		/* trap_ip */
	mov $probe_resume, %ecx
	cmpl $0, 24(%rbx)		/* probe_armed */
	je 1f
	movl $0, 24(%rbx)
	mov 20(%rbx), %eax		/* probe_esp */
	jmp 2f
1:	mov $trap_stack_top, %eax
	mov $stray32, %ecx
2:	push $SEL_KDATA
	push %rax
	push $0x2
	push $SEL_KCODE32
	push %rcx
	iretq

	.code32
stray32:
	mov $SEL_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	call pg_stray_trap

/* void paging_enter_legacy(uint32_t cr3, uint32_t cr4_set): 32-bit or PAE
 * paging (SDM Vol. 3A 4.1.2): CR4 bits, CR3, then CR0.PG. */
	.globl paging_enter_legacy
paging_enter_legacy:
	mov %cr4, %eax
	or 8(%esp), %eax
	mov %eax, %cr4
	mov 4(%esp), %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	jmp 1f
1:	ret

	.bss
	.balign 16
	.space 4096
trap_stack_top:

	.section .note.GNU-stack, "", @progbits
