#!/usr/bin/env bash
# Build one bare test kernel (32-bit, Multiboot ELF): build.sh kernels/NAME.c OUT.elf
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$1"; out="$2"
flags=(-m32 -O1 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables -nostdlib
  -mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only -fno-builtin -Wall -Werror -I"$here/lib")
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
gcc "${flags[@]}" -c "$here/lib/boot32.S" -o "$tmp/boot.o"
gcc "${flags[@]}" -c "$here/lib/lib.c" -o "$tmp/lib.o"
gcc "${flags[@]}" -c "$src" -o "$tmp/k.o"
ld -m elf_i386 --no-warn-rwx-segments -T "$here/lib/kernel.ld" -o "$out" "$tmp/boot.o" "$tmp/lib.o" "$tmp/k.o" "$(gcc -m32 -print-libgcc-file-name)"
