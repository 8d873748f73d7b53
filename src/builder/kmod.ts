/**
 * Linux kernel modules (.ko files) as an initramfs carries them: each module's .modinfo section
 * (NUL-separated "key=value" strings: name, depends, alias, ...), the closure of a chosen set under
 * their dependencies, and the index files modprobe reads, written the way depmod writes them:
 *   modules.dep    "kernel/a.ko: kernel/b.ko kernel/c.ko", every module with all its transitive
 *                  dependencies, a dependency always listed after the modules that need it
 *                  (modprobe loads the list from the end);
 *   modules.alias  "alias xen:vbd xen_blkfront", one line per alias.
 * Module names compare with '-' and '_' equal, as the kernel's do.
 *
 * Invariants: a .ko is read only within its bounds (ImageError on anything malformed); a chosen
 * module whose dependency is not among the given modules is an error, not a silent omission
 * (built-in modules are never named in depends=, so a missing one is a broken module tree).
 */
import { stringOf } from '../lib/bytes.js';
import { fail } from './errors.js';

export interface ModInfo {
  name: string;
  depends: string[];
  aliases: string[];
}

export interface KernelModule {
  /** Path below /lib/modules/<version>/, e.g. 'kernel/drivers/block/xen-blkfront.ko'. */
  path: string;
  info: ModInfo;
}

export const modName = (s: string): string => s.replace(/-/g, '_');

/** The .modinfo section of an ELF64 little-endian relocatable object, decoded. */
export function readModInfo(ko: Uint8Array, file: string): ModInfo {
  const bad = (why: string): never => fail(`${file}: not a kernel module: ${why}`);
  if (ko.length < 64 || ko[0] !== 0x7f || ko[1] !== 0x45 || ko[2] !== 0x4c || ko[3] !== 0x46)
    bad('no ELF magic');
  if (ko[4] !== 2 || ko[5] !== 1) bad('not ELF64 little-endian');
  const dv = new DataView(ko.buffer, ko.byteOffset, ko.byteLength);
  const u64 = (at: number): number => {
    const hi = dv.getUint32(at + 4, true);
    if (hi !== 0) bad(`a 64-bit field at ${at} is beyond 4 GiB`);
    return dv.getUint32(at, true);
  };
  const shoff = u64(0x28);
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  if (shentsize < 64 || shstrndx >= shnum || shoff + shnum * shentsize > ko.length)
    bad('bad section headers');
  const section = (i: number): { name: number; off: number; size: number } => {
    const at = shoff + i * shentsize;
    const off = u64(at + 24);
    const size = u64(at + 32);
    if (off + size > ko.length) bad(`section ${i} extends beyond the file`);
    return { name: dv.getUint32(at, true), off, size };
  };
  const strtab = section(shstrndx);
  const nameOf = (n: number): string => {
    if (n >= strtab.size) bad('section name outside the string table');
    const start = strtab.off + n;
    let end = start;
    while (end < strtab.off + strtab.size && ko[end] !== 0) end++;
    return stringOf(ko.subarray(start, end));
  };
  let info: { off: number; size: number } | undefined;
  for (let i = 0; i < shnum && !info; i++) {
    const s = section(i);
    if (nameOf(s.name) === '.modinfo') info = s;
  }
  if (!info) return bad('no .modinfo section');
  const fields = stringOf(ko.subarray(info.off, info.off + info.size))
    .split('\0')
    .filter((f) => f.includes('='));
  const values = (key: string): string[] =>
    fields.filter((f) => f.startsWith(`${key}=`)).map((f) => f.slice(key.length + 1));
  const base = file.split('/').pop()!.replace(/\.ko$/, '');
  return {
    name: modName(values('name')[0] ?? base),
    depends: (values('depends')[0] ?? '')
      .split(',')
      .filter((d) => d !== '')
      .map(modName),
    aliases: values('alias'),
  };
}

/**
 * The `seeds` and everything they depend on, sorted by path; `lookup` finds a module by name
 * (reading its .modinfo only when the closure needs it).
 */
export function closure(
  seeds: readonly KernelModule[],
  lookup: (name: string) => KernelModule | undefined,
): KernelModule[] {
  const keep = new Map<string, KernelModule>();
  const visit = (m: KernelModule): void => {
    if (keep.has(m.info.name)) return;
    keep.set(m.info.name, m);
    for (const d of m.info.depends) {
      const dm = lookup(d);
      if (!dm) fail(`module ${m.path} depends on '${d}', which is not in the module tree`);
      visit(dm);
    }
  };
  for (const m of seeds) visit(m);
  return [...keep.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** modules.dep for `mods` (which must be closed under dependencies). */
export function modulesDep(mods: readonly KernelModule[]): string {
  const byName = new Map(mods.map((m) => [m.info.name, m]));
  const lines = mods.map((m) => {
    // Post-order gives each dependency before its dependents; reversed, dependents come first.
    const order: KernelModule[] = [];
    const seen = new Set<string>([m.info.name]);
    const walk = (x: KernelModule): void => {
      for (const d of x.info.depends) {
        if (seen.has(d)) continue;
        seen.add(d);
        const dm = byName.get(d);
        if (!dm) fail(`module ${x.path} depends on '${d}', which is not included`);
        walk(dm);
        order.push(dm);
      }
    };
    walk(m);
    const deps = order.reverse().map((d) => d.path);
    return `${m.path}:${deps.length ? ` ${deps.join(' ')}` : ''}\n`;
  });
  return lines.join('');
}

/** modules.alias for `mods`. */
export function modulesAlias(mods: readonly KernelModule[]): string {
  return mods.flatMap((m) => m.info.aliases.map((a) => `alias ${a} ${m.info.name}\n`)).join('');
}
