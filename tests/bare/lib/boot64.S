/*
 * Entry of the 64-bit bare test kernels: the Multiboot header and 32-bit entry (the file is
 * linked as x86-64 and converted to ELF32, as QEMU's -kernel wants), which identity-maps the
 * first 1 GiB with 2 MiB pages, enables PAE, long mode and paging, and jumps to 64-bit code with
 * our GDT; then the exception machinery of try_call() (see lib.h). CPL 0.
 */
        .section .multiboot, "a"
        .align 4
        .long 0x1BADB002
        .long 0
        .long -0x1BADB002

        .text
        .code32
        .globl _start
_start:
        mov     $stack_top, %esp
        /* PML4[0] -> PDPT, PDPT[0] -> PD, PD: 512 x 2 MiB, writable, user. */
        mov     $pdpt64, %eax
        or      $7, %eax
        mov     %eax, pml4_64
        mov     $pd64, %eax
        or      $7, %eax
        mov     %eax, pdpt64
        xor     %ecx, %ecx
1:      mov     %ecx, %eax
        shl     $21, %eax
        or      $0x87, %eax
        mov     %eax, pd64(,%ecx,8)
        inc     %ecx
        cmp     $512, %ecx
        jne     1b
        mov     $pml4_64, %eax
        mov     %eax, %cr3
        mov     %cr4, %eax
        or      $0x20, %eax
        mov     %eax, %cr4
        mov     $0xc0000080, %ecx
        rdmsr
        or      $0x100, %eax
        wrmsr
        mov     %cr0, %eax
        or      $0x80000000, %eax
        mov     %eax, %cr0
        lgdt    gdt_boot_ptr
        ljmp    $0x08, $long_entry

        .code64
long_entry:
        mov     $0x10, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     %eax, %fs
        mov     %eax, %gs
        mov     $stack_top, %rsp
        call    lib_init
        call    kmain
        xor     %edi, %edi
        call    exit

/* int try_call(void (*fn)(void *), void *arg, struct fault *f) */
        .globl try_call
try_call:
        push    %rbp
        push    %rbx
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        mov     %rdx, fault_ptr(%rip)
        movl    $-1, (%rdx)
        mov     %rsp, saved_rsp(%rip)
        mov     %rdi, %rax
        mov     %rsi, %rdi
        call    *%rax
        movq    $0, fault_ptr(%rip)
        xor     %eax, %eax
        jmp     2f
        .globl try_resume
try_resume:
        mov     $0x10, %eax
        mov     %eax, %ss
        mov     saved_rsp(%rip), %rsp
        mov     %eax, %ds
        mov     %eax, %es
        mov     $1, %eax
2:      pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %rbx
        pop     %rbp
        ret

        .macro  STUB n, err
        .globl  vec_\n
vec_\n:
        .if     \err == 0
        push    $0
        .endif
        push    $\n
        jmp     common
        .endm
        STUB 0,0; STUB 1,0; STUB 2,0; STUB 3,0; STUB 4,0; STUB 5,0; STUB 6,0; STUB 7,0
        STUB 8,1; STUB 9,0; STUB 10,1; STUB 11,1; STUB 12,1; STUB 13,1; STUB 14,1; STUB 15,0
        STUB 16,0; STUB 17,1; STUB 18,0; STUB 19,0; STUB 20,0; STUB 21,0; STUB 22,0; STUB 23,0
        STUB 24,0; STUB 25,0; STUB 26,0; STUB 27,0; STUB 28,0; STUB 29,0; STUB 30,0; STUB 31,0
        STUB 0x40,0; STUB 0x41,0; STUB 0x81,0

/* [rsp] vector, err, rip, cs, rflags, rsp, ss: record into *fault_ptr and resume try_call. */
common:
        mov     fault_ptr(%rip), %rdx
        test    %rdx, %rdx
        jz      unexpected
        mov     (%rsp), %rax
        mov     %eax, (%rdx)
        mov     8(%rsp), %rax
        mov     %rax, 8(%rdx)
        mov     %cr2, %rax
        mov     %rax, 16(%rdx)
        mov     16(%rsp), %rax
        mov     %rax, 24(%rdx)
        mov     24(%rsp), %rax
        mov     %rax, 32(%rdx)
        mov     %rsp, 40(%rdx)
        movq    $0, fault_ptr(%rip)
        jmp     try_resume
unexpected:
        mov     (%rsp), %rdi
        mov     8(%rsp), %rsi
        call    lib_unexpected

        .data
        .align  8
gdt_boot:
        .quad   0
        .quad   0x00af9a000000ffff
        .quad   0x00cf92000000ffff
gdt_boot_ptr:
        .word   gdt_boot_ptr - gdt_boot - 1
        .long   gdt_boot

        .bss
        .align  4096
pml4_64: .skip 4096
pdpt64:  .skip 4096
pd64:    .skip 4096
        .globl  fault_ptr
fault_ptr: .quad 0
saved_rsp: .quad 0
        .align  16
        .skip   16384
stack_top:
        .globl  ring0_stack_top, ist_stack_top, user_stack_top
        .skip   8192
ring0_stack_top:
        .skip   8192
ist_stack_top:
        .skip   8192
user_stack_top:
        .section .note.GNU-stack, "", @progbits
