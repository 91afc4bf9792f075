/* Multiboot v1 header and entry of every test guest: 32-bit protected mode,
 * EAX = 0x2BADB002, EBX = info block (Multiboot 0.6.96 section 3.2). */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* page-align modules, memory information */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	push %ebx
	push %eax
	call guest_entry
	push %eax
	call guest_exit
1:	hlt
	jmp 1b

	.bss
	.align 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
