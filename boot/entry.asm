; Multiboot2 header and the 32-bit entry point (SDM Vol. 3A 9.8.5: initializing
; IA-32e mode). GRUB enters here in 32-bit protected mode, paging off, with
; EAX = 0x36d76289 and EBX = the physical address of the Multiboot2 info.
;
; The firmware's CPU state differs between boot paths (UEFI hands over with
; EFER.NXE and CR0.WP set, the Bochs BIOS with CR0.CD/NW set), so every control
; register is written with an explicit value here rather than modified.

MB2_MAGIC       equ 0xe85250d6
MB2_BOOT_MAGIC  equ 0x36d76289
COM1            equ 0x3f8

CR0_VALUE       equ 0x80010033      ; PG | WP | NE | ET | MP | PE  (CD, NW clear)
CR4_VALUE       equ 0x00000020      ; PAE
EFER_MSR        equ 0xc0000080
EFER_LME        equ 0x100
EFER_NXE        equ 0x800

PTE_P           equ 1
PTE_W           equ 2
PTE_PS          equ 0x80

section .multiboot
align 8
mb2_header:
	dd MB2_MAGIC
	dd 0                                    ; architecture: i386 protected mode
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
	align 8                                 ; module alignment tag: page-aligned modules
	dw 6, 0
	dd 8
	align 8                                 ; end tag
	dw 0, 0
	dd 8
mb2_header_end:

section .boot32
bits 32
global _start
extern kmain

_start:
	cli
	cld
	mov esp, boot_stack_top
	mov edi, eax                    ; Multiboot2 magic, kept for kmain
	mov esi, ebx                    ; Multiboot2 info

	call early_serial_init

	cmp edi, MB2_BOOT_MAGIC
	jne .no_multiboot2

	; CPUID exists when EFLAGS.ID (bit 21) can be toggled.
	pushfd
	pop eax
	mov ecx, eax
	xor eax, 1 << 21
	push eax
	popfd
	pushfd
	pop eax
	push ecx
	popfd
	cmp eax, ecx
	je .no_cpuid

	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	mov ebp, edx                    ; keep CPUID.80000001H:EDX for the NX test
	test edx, 1 << 29               ; LM
	jz .no_long_mode
	mov eax, 1
	cpuid
	test edx, 1 << 6                ; PAE
	jz .no_long_mode

	; Identity-map the first 4 GiB with 2 MiB pages: PML4[0] -> PDPT,
	; PDPT[0..3] -> four page directories. C extends the map above 4 GiB.
	mov eax, boot_pdpt
	or eax, PTE_P | PTE_W
	mov [boot_pml4], eax
	xor ecx, ecx
.fill_pdpt:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pd
	or eax, PTE_P | PTE_W
	mov [boot_pdpt + ecx * 8], eax
	inc ecx
	cmp ecx, 4
	jb .fill_pdpt
	xor ecx, ecx                    ; ecx = 2 MiB page index, 0..2047
.fill_pd:
	mov eax, ecx
	shl eax, 21
	or eax, PTE_P | PTE_W | PTE_PS
	mov edx, ecx
	shr edx, 11                     ; bits 32+ of the address (index >> 11)
	mov [boot_pd + ecx * 8], eax
	mov [boot_pd + ecx * 8 + 4], edx
	inc ecx
	cmp ecx, 2048
	jb .fill_pd

	mov eax, CR4_VALUE
	mov cr4, eax
	mov eax, boot_pml4
	mov cr3, eax

	mov ecx, EFER_MSR
	mov eax, EFER_LME
	test ebp, 1 << 20               ; NX supported: enable it
	jz .no_nx
	or eax, EFER_NXE
.no_nx:
	xor edx, edx
	wrmsr

	mov eax, CR0_VALUE
	mov cr0, eax                    ; paging on: IA-32e mode active
	lgdt [boot_gdt_ptr]
	jmp 0x08:long_mode_entry

.no_multiboot2:
	mov ebx, msg_no_mb2
	jmp fatal32
.no_cpuid:
	mov ebx, msg_no_cpuid
	jmp fatal32
.no_long_mode:
	mov ebx, msg_no_lm
	jmp fatal32

; Print the NUL-terminated string at EBX on COM1, then end the run the way
; power_off() does: port 0xf4 (QEMU), "Shutdown" on port 0x8900 (Bochs), halt.
fatal32:
	mov esi, msg_prefix
	call early_puts
	mov esi, ebx
	call early_puts
	; wait for the transmitter to empty (LSR bit 6)
	mov dx, COM1 + 5
.drain:
	in al, dx
	test al, 0x40
	jz .drain
	mov dx, 0xf4
	mov eax, 0x11
	out dx, eax
	mov esi, msg_shutdown
	mov dx, 0x8900
.shutdown:
	lodsb
	test al, al
	jz .halt
	out dx, al
	jmp .shutdown
.halt:
	hlt
	jmp .halt

early_serial_init:
	mov dx, COM1 + 1
	xor al, al
	out dx, al                      ; no interrupts
	mov dx, COM1 + 3
	mov al, 0x80
	out dx, al                      ; DLAB
	mov dx, COM1
	mov al, 1
	out dx, al                      ; divisor 1: 115200 baud
	mov dx, COM1 + 1
	xor al, al
	out dx, al
	mov dx, COM1 + 3
	mov al, 3
	out dx, al                      ; 8N1
	mov dx, COM1 + 2
	mov al, 0xc7
	out dx, al                      ; FIFO on, cleared
	mov dx, COM1 + 4
	mov al, 3
	out dx, al                      ; DTR, RTS
	ret

; ESI = string
early_puts:
	lodsb
	test al, al
	jz .done
	mov ah, al
	mov dx, COM1 + 5
.wait:
	in al, dx
	test al, 0x20
	jz .wait
	mov dx, COM1
	mov al, ah
	out dx, al
	jmp early_puts
.done:
	ret

msg_prefix:   db "umbra: fatal: ", 0
msg_no_mb2:   db "not started by a Multiboot2 boot loader (bad magic in EAX)", 13, 10, 0
msg_no_cpuid: db "this CPU has no CPUID instruction; Umbra needs a 64-bit CPU", 13, 10, 0
msg_no_lm:    db "this CPU does not support long mode (CPUID.80000001H:EDX.LM) or PAE; Umbra needs x86-64", 13, 10, 0
msg_shutdown: db "Shutdown", 0

align 8
boot_gdt:
	dq 0
	dq 0x00af9a000000ffff           ; 0x08: 64-bit code, DPL 0
	dq 0x00cf92000000ffff           ; 0x10: data, DPL 0
boot_gdt_ptr:
	dw boot_gdt_ptr - boot_gdt - 1
	dd boot_gdt

bits 64
long_mode_entry:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rsp, kernel_stack_top
	xor ebp, ebp                    ; terminates stack traces
	; kmain(magic = edi, mbi = rsi): both were zero-extended by the 32-bit moves
	mov edi, edi
	mov esi, esi
	call kmain
.hang:
	cli
	hlt
	jmp .hang

section .bss
align 4096
global boot_pml4
boot_pml4:      resb 4096
boot_pdpt:      resb 4096
boot_pd:        resb 4096 * 4
global kernel_stack_bottom, kernel_stack_top
kernel_stack_bottom:
	resb 32768
kernel_stack_top:
boot_stack:     resb 256
boot_stack_top:


