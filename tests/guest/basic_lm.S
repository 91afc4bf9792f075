/* Long-mode helpers for the basic guest. */
	.text
	.code32

/* uint32_t lm_call64(uint32_t x): far call into a 64-bit code segment
 * that computes with 64-bit registers, returns (((x ^ 0x9e3779b9) << 32 | x) rotated left
 * by 8) folded: high ^ low, and comes back to compatibility mode. */
	.globl lm_call64
lm_call64:
	push %ebx
	mov 8(%esp), %ebx
	lcall $0x18, $code64
	pop %ebx
	ret

	.code64
code64:
	mov %ebx, %eax			/* zero-extends */
	mov %ebx, %edx
	xor $0x9e3779b9, %edx
	shl $32, %rdx
	or %rdx, %rax
	rol $8, %rax
	mov %rax, %rdx
	shr $32, %rdx
	xor %edx, %eax
	lretl

	.text
	.code32
/* Exception catching for 32-bit protected mode: fault_vector records the
 * vector and execution resumes at fault_resume (set by the C caller). */
	.globl gp_stub, ud_stub, fault_vector, fault_resume
gp_stub:
	add $4, %esp			/* error code */
	movl $13, fault_vector
	jmp 1f
ud_stub:
	movl $6, fault_vector
1:	push %eax
	mov fault_resume, %eax
	mov %eax, 4(%esp)		/* EIP in the interrupt frame */
	pop %eax
	iret

/* uint32_t try_rdmsr(uint32_t msr): returns the vector raised, 0 if none. */
	.globl try_rdmsr
try_rdmsr:
	movl $0, fault_vector
	movl $2f, fault_resume
	mov 4(%esp), %ecx
	rdmsr
2:	mov fault_vector, %eax
	ret

/* uint32_t try_mov_cr4(uint32_t val) */
	.globl try_mov_cr4
try_mov_cr4:
	movl $0, fault_vector
	movl $4f, fault_resume
	mov 4(%esp), %eax
	mov %eax, %cr4
4:	mov fault_vector, %eax
	ret

/* uint32_t try_load_ds(uint32_t selector) */
	.globl try_load_ds
try_load_ds:
	movl $0, fault_vector
	movl $5f, fault_resume
	mov 4(%esp), %eax
	mov %ax, %ds
5:	mov $0x10, %ax
	mov %ax, %ds
	mov fault_vector, %eax
	ret

/* uint32_t try_vmxon(void *region) */
	.globl try_vmxon
try_vmxon:
	movl $0, fault_vector
	movl $3f, fault_resume
	mov 4(%esp), %eax
	vmxon (%eax)
3:	mov fault_vector, %eax
	ret

	.data
fault_vector:	.long 0
fault_resume:	.long 0

	.section .note.GNU-stack, "", @progbits
