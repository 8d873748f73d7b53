#!/usr/bin/env bash
# Build one bare test kernel as a Multiboot ELF32: build.sh kernels/NAME.c OUT.elf
# Kernels named *64.c are 64-bit: compiled for x86-64, entered through boot64.S, linked as
# x86-64 and converted to ELF32 (QEMU's -kernel refuses ELF64 Multiboot images).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$1"; out="$2"
common=(-O1 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables -nostdlib
  -mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only -fno-builtin -Wall -Werror -I"$here/lib")
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
case "$src" in
  *64.c)
    flags=(-m64 -mcmodel=small -mno-red-zone "${common[@]}")
    gcc "${flags[@]}" -c "$here/lib/boot64.S" -o "$tmp/boot.o"
    gcc "${flags[@]}" -c "$here/lib/lib.c" -o "$tmp/lib.o"
    gcc "${flags[@]}" -c "$src" -o "$tmp/k.o"
    ld -m elf_x86_64 --no-warn-rwx-segments -T "$here/lib/kernel.ld" -o "$tmp/k64.elf" "$tmp/boot.o" "$tmp/lib.o" "$tmp/k.o"
    objcopy -O elf32-i386 "$tmp/k64.elf" "$out"
    ;;
  *)
    flags=(-m32 "${common[@]}")
    gcc "${flags[@]}" -c "$here/lib/boot32.S" -o "$tmp/boot.o"
    gcc "${flags[@]}" -c "$here/lib/lib.c" -o "$tmp/lib.o"
    gcc "${flags[@]}" -c "$src" -o "$tmp/k.o"
    ld -m elf_i386 --no-warn-rwx-segments -T "$here/lib/kernel.ld" -o "$out" "$tmp/boot.o" "$tmp/lib.o" "$tmp/k.o" "$(gcc -m32 -print-libgcc-file-name)"
    ;;
esac
