/**
 * Guest kernel symbols for crash reports: a table of (address, name) read from a System.map
 * (`ffffffff81000000 T _text` lines) or from any list of symbols (the ELF symbol table, or the
 * kernel's own kallsyms table: builder/kallsyms.ts), and the lookup that turns an
 * address into `name+0xoff/0xsize`. A crash report then symbolises RIP and a backtrace made by
 * scanning the guest stack for words that point into kernel text (as Linux's own unreliable
 * stack dump does).
 * Invariants: built once per domain and used only on the crash path (BigInt is fine here); a
 * malformed line is skipped, never fatal.
 */

export interface Symbol {
  addr: bigint;
  name: string;
}

export class SymbolTable {
  private sorted: Symbol[] | undefined;
  private load: (() => Symbol[]) | undefined;

  constructor(syms: Symbol[]) {
    this.sorted = [...syms].sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  }

  /** A table read only when first used (kallsyms extraction takes a moment; most runs never crash). */
  static lazy(load: () => Symbol[]): SymbolTable {
    const t = new SymbolTable([]);
    t.sorted = undefined;
    t.load = load;
    return t;
  }

  private get syms(): Symbol[] {
    if (!this.sorted) {
      const l = this.load;
      this.load = undefined;
      this.sorted = new SymbolTable(l ? l() : []).sorted!;
    }
    return this.sorted;
  }

  /** Parse System.map text; only text symbols (t/T/w/W) are kept. */
  static fromSystemMap(text: string): SymbolTable {
    const syms: Symbol[] = [];
    for (const line of text.split('\n')) {
      const m = /^([0-9a-fA-F]{8,16})\s+([tTwW])\s+(\S+)/.exec(line);
      if (m) syms.push({ addr: BigInt(`0x${m[1]}`), name: m[3] });
    }
    return new SymbolTable(syms);
  }

  get size(): number {
    return this.syms.length;
  }

  /** The text range the table covers (first to last symbol). */
  contains(addr: bigint): boolean {
    return (
      this.syms.length > 0 &&
      addr >= this.syms[0].addr &&
      addr <= this.syms[this.syms.length - 1].addr + 0x10000n
    );
  }

  /** `name+0xoff/0xsize`, or undefined outside the table. */
  lookup(addr: bigint): string | undefined {
    const s = this.syms;
    let lo = 0;
    let hi = s.length - 1;
    if (hi < 0 || addr < s[0].addr) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid].addr <= addr) lo = mid;
      else hi = mid - 1;
    }
    const next = lo + 1 < s.length ? s[lo + 1].addr : undefined;
    if (next === undefined && addr - s[lo].addr > 0x10000n) return undefined;
    const size = next === undefined ? '' : `/0x${(next - s[lo].addr).toString(16)}`;
    return `${s[lo].name}+0x${(addr - s[lo].addr).toString(16)}${size}`;
  }
}
