/* Timed primitives and fault entry points of the benchmark guest.
 *
 * Every t_* routine brackets one event with two RDTSCs and returns the
 * difference (low 32 bits). In Bochs with `clock: sync=none` the TSC
 * advances by one per instruction, so the result is a path length: the
 * event itself plus the fixed bracket, which t_null measures alone. The
 * routines are 32-bit code and also run in compatibility mode (4-level
 * guest paging). Calling convention: cdecl; EBX, ESI, EDI, EBP preserved. */
	.text
	.code32

/* uint32_t t_null(void): the bracket alone. */
	.globl t_null
t_null:
	push %esi
	rdtsc
	mov %eax, %esi
	rdtsc
	sub %esi, %eax
	pop %esi
	ret

/* uint32_t t_nops(void): 1000 NOPs, to check that one instruction is one tick. */
	.globl t_nops
t_nops:
	push %esi
	rdtsc
	mov %eax, %esi
	.rept 1000
	nop
	.endr
	rdtsc
	sub %esi, %eax
	pop %esi
	ret

/* uint32_t t_cpuid(uint32_t leaf) */
	.globl t_cpuid
t_cpuid:
	push %esi
	push %edi
	push %ebx
	mov 16(%esp), %edi
	rdtsc
	mov %eax, %esi
	mov %edi, %eax
	xor %ecx, %ecx
	cpuid
	rdtsc
	sub %esi, %eax
	pop %ebx
	pop %edi
	pop %esi
	ret

/* uint32_t t_cpuid_loop(uint32_t n): n CPUID(0)s in a counted loop; the
 * whole loop's ticks (divide by n: the cost per iteration with the loop). */
	.globl t_cpuid_loop
t_cpuid_loop:
	push %esi
	push %edi
	push %ebx
	mov 16(%esp), %edi
	rdtsc
	mov %eax, %esi
1:	xor %eax, %eax
	xor %ecx, %ecx
	cpuid
	dec %edi
	jnz 1b
	rdtsc
	sub %esi, %eax
	pop %ebx
	pop %edi
	pop %esi
	ret

/* uint32_t t_vmcall(uint32_t rax): VMCALL (under Umbra only: natively #UD).
 * Umbra answers an unknown RAX with -1: the cheapest handled exit. */
	.globl t_vmcall
t_vmcall:
	push %esi
	push %edi
	mov 12(%esp), %edi
	rdtsc
	mov %eax, %esi
	mov %edi, %eax
	vmcall
	rdtsc
	sub %esi, %eax
	pop %edi
	pop %esi
	ret

/* uint32_t t_outb80(void), t_inb80(void): port 0x80 round trips. */
	.globl t_outb80
t_outb80:
	push %esi
	rdtsc
	mov %eax, %esi
	outb %al, $0x80
	rdtsc
	sub %esi, %eax
	pop %esi
	ret

	.globl t_inb80
t_inb80:
	push %esi
	rdtsc
	mov %eax, %esi
	inb $0x80, %al
	rdtsc
	sub %esi, %eax
	pop %esi
	ret

/* uint32_t t_read(const void *p): one 32-bit load. */
	.globl t_read
t_read:
	push %esi
	mov 8(%esp), %ecx
	rdtsc
	mov %eax, %esi
	mov (%ecx), %edx
	rdtsc
	sub %esi, %eax
	pop %esi
	ret

/* uint32_t t_write(void *p, uint32_t v): one 32-bit store. */
	.globl t_write
t_write:
	push %esi
	push %edi
	mov 12(%esp), %ecx
	mov 16(%esp), %edi
	rdtsc
	mov %eax, %esi
	mov %edi, (%ecx)
	rdtsc
	sub %esi, %eax
	pop %edi
	pop %esi
	ret

/* uint32_t t_cr3(uint32_t cr3): one MOV to CR3. */
	.globl t_cr3
t_cr3:
	push %esi
	push %edi
	mov 12(%esp), %edi
	rdtsc
	mov %eax, %esi
	mov %edi, %cr3
	rdtsc
	sub %esi, %eax
	pop %edi
	pop %esi
	ret

/* uint32_t t_invlpg(const void *p) */
	.globl t_invlpg
t_invlpg:
	push %esi
	mov 8(%esp), %ecx
	rdtsc
	mov %eax, %esi
	invlpg (%ecx)
	rdtsc
	sub %esi, %eax
	pop %esi
	ret

/* uint32_t t_pf(const void *p): a load from a page whose guest entry is
 * not present. The #PF handler (pf_mode 0) resumes at pf_resume, after
 * the load: delivery, handler and IRET are all inside the bracket. */
	.globl t_pf, pf_resume
t_pf:
	push %esi
	mov 8(%esp), %ecx
	rdtsc
	mov %eax, %esi
	mov (%ecx), %edx
pf_resume:
	rdtsc
	sub %esi, %eax
	pop %esi
	ret

/* ---- #PF entry points ------------------------------------------------------
 * pf_mode 0: skip the faulting load (resume at pf_resume).
 * pf_mode 1: copy-on-write, done by the C function pf_cow(cr2). */
	.globl pf32, pf64, pf_mode
pf32:
	cmpl $0, pf_mode
	jne 1f
	movl $pf_resume, 4(%esp)	/* EIP above the error code */
	add $4, %esp
	iret
1:	push %eax
	push %ecx
	push %edx
	mov %cr2, %eax
	push %eax
	call pf_cow
	add $4, %esp
	pop %edx
	pop %ecx
	pop %eax
	add $4, %esp
	iret

/* 64-bit entry (IA-32e mode, 4-level guest paging): the copy-on-write work
 * is the same 32-bit C code, reached by a far call into the 32-bit code
 * segment (0x08) and back with LRET. */
	.code64
pf64:
	push %rax
	movl $pf_mode, %eax		/* 32-bit immediates: the object is ELF32 */
	cmpl $0, (%rax)
	jne 1f
	movl $pf_resume, %eax
	mov %rax, 16(%rsp)		/* RIP above RAX and the error code */
	pop %rax
	add $8, %rsp
	iretq
1:	push %rcx
	push %rdx
	mov %cr2, %rcx
	movl $cow_cr2, %eax
	mov %ecx, (%rax)
	movl $cow_far, %eax
	lcall *(%rax)
	pop %rdx
	pop %rcx
	pop %rax
	add $8, %rsp
	iretq

	.code32
cow_shim32:
	push cow_cr2
	call pf_cow
	add $4, %esp
	lret

/* uint32_t unexpected_vector: set by the catch-all handlers below. */
	.globl exc32_other, exc64_other
exc32_other:
	movl $0xdead, unexpected
	cli
2:	hlt
	jmp 2b
	.code64
exc64_other:
	movl $unexpected, %eax
	movl $0xdead, (%rax)
	cli
3:	hlt
	jmp 3b
	.code32

	.data
	.align 4
pf_mode:	.long 0
cow_cr2:	.long 0
	.globl unexpected
unexpected:	.long 0
cow_far:	.long cow_shim32
		.word 0x08

	.section .note.GNU-stack, "", @progbits
