/**
 * The xenstore wire protocol (io/xs_wire.h): message types, and a server that turns one
 * request (a 16-byte xsd_sockmsg header { type, req_id, tx_id, len } and its payload) from a
 * domain into a response, plus watch events, on top of the Store. Payloads are NUL-separated
 * strings as xs_wire.h describes; errors are XS_ERROR with the error's name.
 *
 * Invariants: payload bytes are untrusted: a missing NUL, a bad number or an oversized payload
 * gives an XS_ERROR (EINVAL / E2BIG), never an exception out of handle(); an unprivileged domain
 * gets EACCES for the toolstack's operations (introduce, release, set_target, resume, control).
 */
import { bytesOf, stringOf } from '../lib/bytes.js';
import { Store, XsError, type XsErrno } from './store.js';

/** xs_wire.h enum xsd_sockmsg_type (checked against the header by tests/xenstore/wire.test.ts). */
export const XS = {
  CONTROL: 0,
  DIRECTORY: 1,
  READ: 2,
  GET_PERMS: 3,
  WATCH: 4,
  UNWATCH: 5,
  TRANSACTION_START: 6,
  TRANSACTION_END: 7,
  INTRODUCE: 8,
  RELEASE: 9,
  GET_DOMAIN_PATH: 10,
  WRITE: 11,
  MKDIR: 12,
  RM: 13,
  SET_PERMS: 14,
  WATCH_EVENT: 15,
  ERROR: 16,
  IS_DOMAIN_INTRODUCED: 17,
  RESUME: 18,
  SET_TARGET: 19,
  RESET_WATCHES: 21,
  DIRECTORY_PART: 22,
} as const;

export const PAYLOAD_MAX = 4096;
export const HEADER = 16;

export interface Message {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

const enc = { encode: bytesOf };
const dec = { decode: stringOf };

function strings(payload: Uint8Array): string[] {
  // NUL-terminated strings; a trailing unterminated part is kept (XS_WRITE's value).
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++)
    if (payload[i] === 0) {
      out.push(dec.decode(payload.subarray(start, i)));
      start = i + 1;
    }
  if (start < payload.length) out.push(dec.decode(payload.subarray(start)));
  return out;
}

function nulJoin(list: string[]): Uint8Array {
  return enc.encode(list.map((s) => `${s}\0`).join(''));
}

const OK = enc.encode('OK\0');

/** One domain's connection: its responses and watch events go to `send`. */
export class Connection {
  constructor(
    readonly dom: number,
    readonly send: (m: Message) => void,
  ) {}
}

export class XenstoreServer {
  private readonly introduced = new Set<number>([0]);

  constructor(readonly store: Store) {}

  introduce(dom: number): void {
    this.introduced.add(dom);
    this.store.fireSpecial('@introduceDomain');
  }

  release(dom: number): void {
    this.introduced.delete(dom);
    this.store.resetWatches(dom);
    this.store.fireSpecial('@releaseDomain');
  }

  /** Handle one request; the response (and any watch events) go to conn.send. */
  handle(conn: Connection, m: Message): void {
    let reply: Uint8Array | undefined;
    try {
      if (m.payload.length > PAYLOAD_MAX) throw new XsError('E2BIG');
      reply = this.dispatch(conn, m);
    } catch (e) {
      const errno: XsErrno = e instanceof XsError ? e.errno : 'EINVAL';
      conn.send({ type: XS.ERROR, reqId: m.reqId, txId: m.txId, payload: enc.encode(`${errno}\0`) });
      return;
    }
    if (reply) conn.send({ type: m.type, reqId: m.reqId, txId: m.txId, payload: reply });
  }

  /** The reply's payload, or undefined when the operation sent its reply itself. */
  private dispatch(conn: Connection, m: Message): Uint8Array | undefined {
    const s = this.store;
    const dom = conn.dom;
    const args = strings(m.payload);
    const arg = (i: number): string => {
      if (i >= args.length) throw new XsError('EINVAL');
      return args[i];
    };
    const num = (text: string): number => {
      if (!/^[0-9]+$/.test(text) || Number(text) > 0x7fff) throw new XsError('EINVAL');
      return Number(text);
    };
    switch (m.type) {
      case XS.READ:
        return s.read(dom, arg(0), m.txId);
      case XS.WRITE: {
        const nul = m.payload.indexOf(0);
        if (nul < 0) throw new XsError('EINVAL');
        s.write(dom, dec.decode(m.payload.subarray(0, nul)), m.payload.subarray(nul + 1), m.txId);
        return OK;
      }
      case XS.MKDIR:
        s.mkdir(dom, arg(0), m.txId);
        return OK;
      case XS.RM:
        s.rm(dom, arg(0), m.txId);
        return OK;
      case XS.DIRECTORY:
        return nulJoin(s.directory(dom, arg(0), m.txId));
      case XS.DIRECTORY_PART: {
        const names = s.directory(dom, arg(0), m.txId);
        const off = num(arg(1));
        let bytes = 0;
        const part: string[] = [];
        for (const n of names.slice(off)) {
          if (bytes + n.length + 1 > PAYLOAD_MAX - 32) break;
          part.push(n);
          bytes += n.length + 1;
        }
        return enc.encode(`0\0${part.map((n) => `${n}\0`).join('')}\0`);
      }
      case XS.GET_PERMS:
        return nulJoin(s.getPerms(dom, arg(0), m.txId));
      case XS.SET_PERMS:
        if (args.length < 2) throw new XsError('EINVAL');
        s.setPerms(dom, args[0], args.slice(1), m.txId);
        return OK;
      case XS.WATCH: {
        const path = arg(0);
        const token = arg(1);
        // The watch fires once when set; as xenstored, the acknowledgement goes out first.
        let early: [string, string][] | undefined = [];
        const event = (p: string, t: string): void =>
          conn.send({ type: XS.WATCH_EVENT, reqId: 0, txId: 0, payload: nulJoin([p, t]) });
        s.watch({ dom, path, token, deliver: (p, t) => (early ? early.push([p, t]) : event(p, t)) });
        conn.send({ type: m.type, reqId: m.reqId, txId: m.txId, payload: OK });
        const fired = early;
        early = undefined;
        for (const [p, t] of fired) event(p, t);
        return undefined;
      }
      case XS.UNWATCH:
        s.unwatch(dom, arg(0), arg(1));
        return OK;
      case XS.RESET_WATCHES:
        s.resetWatches(dom);
        return OK;
      case XS.TRANSACTION_START:
        if (m.txId !== 0) throw new XsError('EBUSY');
        return enc.encode(`${s.transactionStart(dom)}\0`);
      case XS.TRANSACTION_END: {
        const how = arg(0);
        if (how !== 'T' && how !== 'F') throw new XsError('EINVAL');
        s.transactionEnd(dom, m.txId, how === 'T');
        return OK;
      }
      case XS.GET_DOMAIN_PATH:
        return enc.encode(`${Store.home(num(arg(0)))}\0`);
      case XS.IS_DOMAIN_INTRODUCED:
        if (dom !== 0) throw new XsError('EACCES');
        return enc.encode(this.introduced.has(num(arg(0))) ? 'T\0' : 'F\0');
      case XS.INTRODUCE:
      case XS.RELEASE:
      case XS.SET_TARGET:
      case XS.RESUME:
      case XS.CONTROL:
        throw new XsError('EACCES'); // the toolstack's operations; domUs may not
      default:
        throw new XsError('EINVAL');
    }
  }
}
