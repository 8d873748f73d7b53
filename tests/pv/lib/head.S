/*
 * Entry and Xen ELF notes of the PV test kernels (both widths). The domain builder reads the
 * notes, loads the kernel at VIRT_BASE, fills hypercall_page and enters _start with the
 * start_info pointer in rsi/esi, a boot stack, upcalls masked.
 */
#include <xen/elfnote.h>

#define ELFNOTE(type, desc...)            \
        .pushsection .note.Xen, "a", @note; \
        .p2align 2;                         \
        .long 2f - 1f;                      \
        .long 4f - 3f;                      \
        .long type;                         \
1:      .asciz "Xen";                       \
2:      .p2align 2;                         \
3:      desc;                               \
4:      .p2align 2;                         \
        .popsection

#ifdef __x86_64__
#define WORD .quad
#else
#define WORD .long
#endif

        ELFNOTE(XEN_ELFNOTE_GUEST_OS, .asciz "xenolith-test")
        ELFNOTE(XEN_ELFNOTE_GUEST_VERSION, .asciz "1")
        ELFNOTE(XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
        ELFNOTE(XEN_ELFNOTE_VIRT_BASE, WORD VIRT_BASE)
        ELFNOTE(XEN_ELFNOTE_PADDR_OFFSET, WORD 0)
        ELFNOTE(XEN_ELFNOTE_ENTRY, WORD _start)
        ELFNOTE(XEN_ELFNOTE_HYPERCALL_PAGE, WORD hypercall_page)
        ELFNOTE(XEN_ELFNOTE_LOADER, .asciz "generic")
#ifdef __x86_64__
        /* As Linux: the P2M list mapped at 512 GiB, apart from the kernel (32-bit: after it). */
        ELFNOTE(XEN_ELFNOTE_INIT_P2M, .quad 0x8000000000)
#else
        ELFNOTE(XEN_ELFNOTE_PAE_MODE, .asciz "yes")
#endif

        .text
        .globl _start
_start:
#ifdef __x86_64__
        lea     boot_stack_top(%rip), %rsp
        mov     %rsi, %rdi
        call    kmain
#else
        mov     $boot_stack_top, %esp
        push    %esi
        call    kmain
#endif
1:      jmp     1b

        .balign 4096
        .globl hypercall_page
hypercall_page:
        .skip   4096

        .bss
        .balign 16
boot_stack:
        .skip   16384
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
