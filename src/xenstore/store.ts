/**
 * The xenstore database: a tree of nodes with values and permissions, watches, and
 * transactions, with the semantics of Xen's C xenstored (tools/xenstored) as a domU sees them.
 * A plain data structure: no rings, no guest; the wire protocol is wire.ts, the ring server
 * ring.ts.
 *
 *   - Paths are absolute (`/local/domain/1/name`) or relative to the caller's home
 *     `/local/domain/<domid>`; characters [A-Za-z0-9_@/-], no empty components, bounded length.
 *     Watch paths may also be the special `@introduceDomain` / `@releaseDomain`.
 *   - Permissions are Xen's strings: the first names the owner and the default for everyone
 *     else, the rest are per-domain grants; `n` none, `r` read, `w` write, `b` both. The owner
 *     and dom0 may do anything. A new node inherits its parent's permissions, and an
 *     unprivileged domain owns what it creates. Writing creates missing parents.
 *   - A watch fires for changes at or below its path (write, mkdir, rm, set_perms), once when
 *     registered, and only for domains that may read the node; an event names the watched
 *     node's path as the watcher named it (relative stays relative).
 *   - Transactions see a snapshot; at commit, if any node the transaction read or wrote was
 *     changed meanwhile the commit fails with EAGAIN, otherwise its changes apply atomically
 *     and fire their watches.
 *
 * Invariants: every error is an XsError carrying one of xs_wire.h's error names; nothing a
 * domain sends can throw anything else or touch a node it may not access.
 */

export type XsErrno =
  | 'EINVAL'
  | 'EACCES'
  | 'EEXIST'
  | 'EISDIR'
  | 'ENOENT'
  | 'ENOMEM'
  | 'ENOSPC'
  | 'EIO'
  | 'ENOTEMPTY'
  | 'ENOSYS'
  | 'EROFS'
  | 'EBUSY'
  | 'EAGAIN'
  | 'EISCONN'
  | 'E2BIG'
  | 'EPERM';

export class XsError extends Error {
  constructor(readonly errno: XsErrno) {
    super(errno);
  }
}

const ABS_PATH_MAX = 3072;
const REL_PATH_MAX = 2048;
const VALID = /^[A-Za-z0-9_@/-]*$/;

interface Node {
  value: Uint8Array;
  perms: string[];
  children: Map<string, Node>;
  /** Generation of the last change to this node (for transaction conflicts). */
  gen: number;
}

export interface Watch {
  dom: number;
  /** The path as the watcher gave it (relative or absolute or @special). */
  path: string;
  token: string;
  /** Where events go. */
  deliver(path: string, token: string): void;
}

type Op =
  | { kind: 'write'; path: string; value: Uint8Array }
  | { kind: 'mkdir'; path: string }
  | { kind: 'rm'; path: string }
  | { kind: 'perms'; path: string; perms: string[] };

interface Transaction {
  dom: number;
  root: Node;
  /** Generation of every absolute path the transaction touched, as seen at its start (-1: absent). */
  seen: Map<string, number>;
  ops: Op[];
}

function newNode(perms: string[], gen: number): Node {
  return { value: new Uint8Array(0), perms: [...perms], children: new Map(), gen };
}

function cloneTree(n: Node): Node {
  const c: Node = { value: n.value, perms: [...n.perms], children: new Map(), gen: n.gen };
  for (const [k, v] of n.children) c.children.set(k, cloneTree(v));
  return c;
}

/** Parse and check a permission string list (`b0`, `r5`...). */
export function checkPerms(perms: string[]): string[] {
  if (perms.length === 0) throw new XsError('EINVAL');
  for (const p of perms)
    if (!/^[nrwb][0-9]+$/.test(p) || Number(p.slice(1)) > 0x7fff) throw new XsError('EINVAL');
  return perms;
}

export class Store {
  private root: Node;
  private gen = 1;
  private readonly watches: Watch[] = [];
  private readonly txs = new Map<number, Transaction>();
  private nextTx = 1;

  constructor() {
    this.root = newNode(['n0'], 0);
    for (const p of ['/local', '/local/domain', '/tool', '/vm']) this.mkdir(0, p);
  }

  static home(dom: number): string {
    return `/local/domain/${dom}`;
  }

  /** Resolve and validate a path for domain `dom`. */
  resolve(dom: number, path: string): string {
    if (path.length === 0 || !VALID.test(path) || path.includes('//')) throw new XsError('EINVAL');
    if (path.startsWith('@')) throw new XsError('EINVAL');
    let abs: string;
    if (path.startsWith('/')) {
      if (path.length > ABS_PATH_MAX) throw new XsError('EINVAL');
      abs = path;
    } else {
      if (path.length > REL_PATH_MAX) throw new XsError('EINVAL');
      abs = `${Store.home(dom)}/${path}`;
    }
    if (abs.length > 1 && abs.endsWith('/')) throw new XsError('EINVAL');
    return abs;
  }

  private static parts(abs: string): string[] {
    return abs === '/' ? [] : abs.slice(1).split('/');
  }

  private find(root: Node, abs: string): Node | undefined {
    let n: Node | undefined = root;
    for (const p of Store.parts(abs)) {
      n = n.children.get(p);
      if (!n) return undefined;
    }
    return n;
  }

  private static can(dom: number, perms: string[], want: 'r' | 'w'): boolean {
    if (dom === 0) return true;
    const owner = Number(perms[0].slice(1));
    if (owner === dom) return true;
    let p = perms[0][0];
    for (const e of perms.slice(1)) if (Number(e.slice(1)) === dom) p = e[0];
    return p === 'b' || p === want;
  }

  private tx(txid: number, dom: number): Transaction | undefined {
    if (txid === 0) return undefined;
    const t = this.txs.get(txid);
    if (!t || t.dom !== dom) throw new XsError('ENOENT');
    return t;
  }

  /** Record the generation a transaction saw for abs (from its snapshot, i.e. as at its start). */
  private touch(t: Transaction | undefined, abs: string): void {
    if (!t || t.seen.has(abs)) return;
    t.seen.set(abs, this.find(t.root, abs)?.gen ?? -1);
  }

  private rootFor(t: Transaction | undefined): Node {
    return t ? t.root : this.root;
  }

  private readable(dom: number, root: Node, abs: string): Node {
    const n = this.find(root, abs);
    if (!n) throw new XsError('ENOENT');
    if (!Store.can(dom, n.perms, 'r')) throw new XsError('EACCES');
    return n;
  }

  read(dom: number, path: string, txid = 0): Uint8Array {
    const t = this.tx(txid, dom);
    const abs = this.resolve(dom, path);
    this.touch(t, abs);
    return this.readable(dom, this.rootFor(t), abs).value;
  }

  directory(dom: number, path: string, txid = 0): string[] {
    const t = this.tx(txid, dom);
    const abs = this.resolve(dom, path);
    this.touch(t, abs);
    return [...this.readable(dom, this.rootFor(t), abs).children.keys()];
  }

  getPerms(dom: number, path: string, txid = 0): string[] {
    const t = this.tx(txid, dom);
    const abs = this.resolve(dom, path);
    this.touch(t, abs);
    return [...this.readable(dom, this.rootFor(t), abs).perms];
  }

  /** Create the node (and missing parents) if needed; returns it. Checks write access to the deepest existing ancestor. */
  private create(dom: number, root: Node, abs: string, changed: string[]): Node {
    let n = root;
    let at = '';
    for (const p of Store.parts(abs)) {
      at += `/${p}`;
      let c = n.children.get(p);
      if (!c) {
        if (!Store.can(dom, n.perms, 'w')) throw new XsError('EACCES');
        const perms = [...n.perms];
        if (dom !== 0) perms[0] = `${perms[0][0]}${dom}`;
        c = newNode(perms, this.gen);
        n.children.set(p, c);
        n.gen = this.gen;
        changed.push(at);
      }
      n = c;
    }
    return n;
  }

  write(dom: number, path: string, value: Uint8Array, txid = 0): void {
    const t = this.tx(txid, dom);
    const abs = this.resolve(dom, path);
    if (abs === '/') throw new XsError('EINVAL');
    this.touch(t, abs);
    this.apply(dom, t, { kind: 'write', path: abs, value: new Uint8Array(value) });
  }

  mkdir(dom: number, path: string, txid = 0): void {
    const t = this.tx(txid, dom);
    const abs = this.resolve(dom, path);
    this.touch(t, abs);
    this.apply(dom, t, { kind: 'mkdir', path: abs });
  }

  rm(dom: number, path: string, txid = 0): void {
    const t = this.tx(txid, dom);
    const abs = this.resolve(dom, path);
    if (abs === '/') throw new XsError('EINVAL');
    this.touch(t, abs);
    this.apply(dom, t, { kind: 'rm', path: abs });
  }

  setPerms(dom: number, path: string, perms: string[], txid = 0): void {
    const t = this.tx(txid, dom);
    const abs = this.resolve(dom, path);
    checkPerms(perms);
    this.touch(t, abs);
    this.apply(dom, t, { kind: 'perms', path: abs, perms });
  }

  /** Apply an operation to a tree; outside a transaction, also bump generations and fire watches. */
  private apply(dom: number, t: Transaction | undefined, op: Op): void {
    const root = this.rootFor(t);
    const changed = this.applyTo(dom, root, op);
    if (t) {
      t.ops.push(op);
      return;
    }
    this.fire(changed, op.kind === 'rm');
  }

  /** The tree change itself; returns the absolute paths that changed. */
  private applyTo(dom: number, root: Node, op: Op): string[] {
    const changed: string[] = [];
    this.gen++;
    switch (op.kind) {
      case 'write': {
        const n = this.create(dom, root, op.path, changed);
        if (!Store.can(dom, n.perms, 'w')) throw new XsError('EACCES');
        n.value = op.value;
        n.gen = this.gen;
        if (!changed.includes(op.path)) changed.push(op.path);
        break;
      }
      case 'mkdir': {
        if (this.find(root, op.path)) break; // mkdir of an existing node succeeds and changes nothing
        this.create(dom, root, op.path, changed);
        break;
      }
      case 'rm': {
        const parts = Store.parts(op.path);
        const parent = this.find(root, `/${parts.slice(0, -1).join('/')}`.replace(/^\/$/, '/'));
        const n = parent?.children.get(parts[parts.length - 1]);
        if (!parent || !n) throw new XsError('ENOENT');
        if (!Store.can(dom, n.perms, 'w')) throw new XsError('EACCES');
        parent.children.delete(parts[parts.length - 1]);
        parent.gen = this.gen;
        changed.push(op.path);
        break;
      }
      case 'perms': {
        const n = this.find(root, op.path);
        if (!n) throw new XsError('ENOENT');
        if (dom !== 0 && Number(n.perms[0].slice(1)) !== dom) throw new XsError('EACCES');
        n.perms = [...op.perms];
        n.gen = this.gen;
        changed.push(op.path);
        break;
      }
    }
    return changed;
  }

  // ---------------------------------------------------------------- watches

  /** Register a watch; it fires once at once, as xenstored's do. */
  watch(w: Watch): void {
    if (w.path.startsWith('@')) {
      if (w.path !== '@introduceDomain' && w.path !== '@releaseDomain') throw new XsError('EINVAL');
    } else this.resolve(w.dom, w.path);
    if (this.watches.some((x) => x.dom === w.dom && x.path === w.path && x.token === w.token))
      throw new XsError('EEXIST');
    this.watches.push(w);
    w.deliver(w.path, w.token);
  }

  unwatch(dom: number, path: string, token: string): void {
    const i = this.watches.findIndex((x) => x.dom === dom && x.path === path && x.token === token);
    if (i < 0) throw new XsError('ENOENT');
    this.watches.splice(i, 1);
  }

  /** Drop every watch of a domain (XS_RESET_WATCHES, or a released domain). */
  resetWatches(dom: number): void {
    for (let i = this.watches.length - 1; i >= 0; i--)
      if (this.watches[i].dom === dom) this.watches.splice(i, 1);
  }

  /** Fire the special watches (@introduceDomain / @releaseDomain). */
  fireSpecial(name: '@introduceDomain' | '@releaseDomain'): void {
    for (const w of this.watches) if (w.path === name) w.deliver(w.path, w.token);
  }

  private fire(changed: string[], recursive: boolean): void {
    for (const abs of changed) {
      for (const w of this.watches) {
        if (w.path.startsWith('@')) continue;
        const wabs = this.resolve(w.dom, w.path);
        const below = abs === wabs || abs.startsWith(wabs === '/' ? '/' : `${wabs}/`);
        const above = recursive && wabs.startsWith(`${abs}/`);
        if (!below && !above) continue;
        const n = this.find(this.root, abs);
        if (n && !Store.can(w.dom, n.perms, 'r')) continue;
        const path = above ? wabs : abs;
        const shown = w.path.startsWith('/') ? path : path.slice(Store.home(w.dom).length + 1);
        w.deliver(shown, w.token);
      }
    }
  }

  // ---------------------------------------------------------------- transactions

  transactionStart(dom: number): number {
    const id = this.nextTx++;
    this.txs.set(id, { dom, root: cloneTree(this.root), seen: new Map(), ops: [] });
    return id;
  }

  transactionEnd(dom: number, txid: number, commit: boolean): void {
    const t = this.tx(txid, dom);
    if (!t) throw new XsError('ENOENT');
    this.txs.delete(txid);
    if (!commit) return;
    for (const [abs, gen] of t.seen)
      if ((this.find(this.root, abs)?.gen ?? -1) !== gen) throw new XsError('EAGAIN');
    // Replay on the live tree (checked already in the snapshot, so permissions hold).
    const changed: { paths: string[]; rm: boolean }[] = [];
    for (const op of t.ops) changed.push({ paths: this.applyTo(dom, this.root, op), rm: op.kind === 'rm' });
    for (const c of changed) this.fire(c.paths, c.rm);
  }
}
