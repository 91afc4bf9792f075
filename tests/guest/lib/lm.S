/* Segment and IA-32e mode set-up shared by the test guests (SDM Vol. 3A
 * 9.8.5). Both clobber only EAX, ECX and EDX (cdecl caller-saved). */
	.text
	.code32

/* void gdt_load(const void *gdtr): LGDT, then CS = 0x08 and the data
 * segments = 0x10, the layout every test guest's GDT starts with (the
 * boot loader's selectors differ: GRUB's CS is 0x10). */
	.globl gdt_load
gdt_load:
	mov 4(%esp), %eax
	lgdt (%eax)
	ljmp $0x08, $1f
1:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	ret

/* void lm_enter(uint32_t cr3, uint32_t cr0_set): CR4.PAE, CR3, EFER.LME,
 * then CR0.PG together with @cr0_set: IA-32e mode, still executing this
 * 32-bit code segment (compatibility mode). The MOV to CR0 is followed by
 * a branch, as 9.8.5 requires. */
	.globl lm_enter
lm_enter:
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov 4(%esp), %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx
	rdmsr
	or $0x100, %eax			/* LME */
	wrmsr
	mov 8(%esp), %edx
	or $0x80000000, %edx		/* PG */
	mov %cr0, %eax
	or %edx, %eax
	mov %eax, %cr0
	jmp 1f
1:	ret

	.section .note.GNU-stack, "", @progbits
