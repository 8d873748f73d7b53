/*
 * Entry of the 32-bit bare test kernels: the Multiboot header, a stack, and the exception
 * machinery the library's try_call() uses (see lib.h). Protected mode, paging off, CPL 0.
 */
        .section .multiboot, "a"
        .align 4
        .long 0x1BADB002
        .long 0
        .long -0x1BADB002

        .text
        .globl _start
_start:
        mov     $stack_top, %esp
        call    lib_init
        call    kmain
        push    $0
        call    exit

/* int try_call(void (*fn)(void *), void *arg, struct fault *f) */
        .globl try_call
try_call:
        push    %ebp
        push    %ebx
        push    %esi
        push    %edi
        mov     28(%esp), %eax
        mov     %eax, fault_ptr
        movl    $-1, (%eax)
        mov     %esp, saved_esp
        push    24(%esp)
        call    *24(%esp)
        add     $4, %esp
        movl    $0, fault_ptr
        xor     %eax, %eax
        jmp     1f
        .globl try_resume
try_resume:
        mov     $0x10, %ax
        mov     %ax, %ss
        mov     saved_esp, %esp
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %fs
        mov     %ax, %gs
        mov     $1, %eax
1:      pop     %edi
        pop     %esi
        pop     %ebx
        pop     %ebp
        ret

/* Exception and interrupt stubs: push a zero error code where the CPU pushes none, then the vector. */
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

/* [esp] vector, err, eip, cs, eflags, [esp, ss]: record into *fault_ptr and resume try_call. */
common:
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     fault_ptr, %edx
        test    %edx, %edx
        jz      unexpected
        mov     (%esp), %eax
        mov     %eax, (%edx)
        mov     4(%esp), %eax
        mov     %eax, 4(%edx)
        mov     %cr2, %eax
        mov     %eax, 8(%edx)
        mov     8(%esp), %eax
        mov     %eax, 12(%edx)
        mov     12(%esp), %eax
        mov     %eax, 16(%edx)
        mov     %esp, %eax
        mov     %eax, 20(%edx)
        movl    $0, fault_ptr
        jmp     try_resume
unexpected:
        push    4(%esp)
        push    4(%esp)
        call    lib_unexpected

        .bss
        .align  16
        .globl  fault_ptr, saved_esp
fault_ptr: .long 0
saved_esp: .long 0
        .align  16
        .skip   16384
stack_top:
        .globl  ring0_stack_top
        .skip   8192
ring0_stack_top:
        .globl  user_stack_top
        .skip   8192
user_stack_top:
        .section .note.GNU-stack, "", @progbits
