/* Multiboot v1 header and entry of every test guest: 32-bit protected mode,
 * EAX = 0x2BADB002, EBX = info block (Multiboot 0.6.96 section 3.2). */
#define MB_MAGIC	0x1badb002
#ifdef AOUT_KLUDGE
/* Flag 16: the loader takes the addresses below instead of ELF headers, so
 * the kernel can be a flat binary (Multiboot 0.6.96 section 3.1.3). */
#define MB_FLAGS	0x00010003
#else
#define MB_FLAGS	0x00000003	/* page-align modules, memory information */
#endif

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
#ifdef AOUT_KLUDGE
	.long mb_header		/* header_addr */
	.long __load_start	/* load_addr */
	.long _edata		/* load_end_addr */
	.long _end		/* bss_end_addr */
	.long _start		/* entry_addr */
#endif

	.text
	.code32
	.globl _start
_start:
	cli
	/* The Multiboot selectors are the loader's: use ours (0x08 flat code,
	 * 0x10 flat data), so IDT gates can name 0x08. */
	lgdt gdt_ptr
	ljmp $0x08, $1f
1:	mov $0x10, %ecx
	mov %ecx, %ds
	mov %ecx, %es
	mov %ecx, %fs
	mov %ecx, %gs
	mov %ecx, %ss
	mov $stack_top, %esp
	push %ebx
	push %eax
	call guest_entry
	push %eax
	call guest_exit
2:	hlt
	jmp 2b

	.section .rodata
	.align 8
gdt:	.quad 0
	.quad 0x00cf9b000000ffff	/* 0x08: flat 32-bit code */
	.quad 0x00cf93000000ffff	/* 0x10: flat data */
gdt_ptr:
	.word gdt_ptr - gdt - 1
	.long gdt

	.bss
	.align 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
