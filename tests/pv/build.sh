#!/usr/bin/env bash
# Build one PV test kernel for one width: build.sh 64|32 kernels/NAME.c OUT.elf
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bits="$1"; src="$2"; out="$3"
if [ "$bits" = 64 ]; then
  base=0xffffffff80000000; cflags=(-m64 -mcmodel=kernel -mno-red-zone); ldm=elf_x86_64
else
  base=0xc0000000; cflags=(-m32); ldm=elf_i386
fi
common=(-O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables -nostdlib
  -mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only -fno-builtin -Wall -Werror -I"$here/lib"
  -D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__ -DVIRT_BASE="$base")
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
gcc "${cflags[@]}" "${common[@]}" -c "$here/lib/head.S" -o "$tmp/head.o"
gcc "${cflags[@]}" "${common[@]}" -c "$here/lib/pv.c" -o "$tmp/pv.o"
gcc "${cflags[@]}" "${common[@]}" -c "$src" -o "$tmp/k.o"
gcc -E -P -x c -DVIRT_BASE="$base" "$here/lib/kernel.ld" -o "$tmp/kernel.ld"
ld -m "$ldm" --no-warn-rwx-segments -T "$tmp/kernel.ld" -o "$out" "$tmp/head.o" "$tmp/pv.o" "$tmp/k.o" "$(gcc "${cflags[0]}" -print-libgcc-file-name)"
