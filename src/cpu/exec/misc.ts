/**
 * Small handlers that fit no family: flag operations (cmc clc stc cld std), nops and hints,
 * clflush (checked like a read),
 * the #UD encodings (ud0/ud1/ud2 and every undefined encoding), over-long instructions (#GP),
 * and instructions decoded but not implemented (SSE4, crc32...), which report themselves
 * through hooks.unimplemented and then raise #UD: nothing silently misbehaves.
 */
import { D, P_REP, P_REPNE } from '../decode/record.js';
import { materialize } from '../flags.js';
import { EXC_UD, F_CF, F_DF, S } from '../state/layout.js';
import { register } from './registry.js';

register({
  flagop(c, p) {
    const s = c.s;
    const op = c.pool[p + D.AUX];
    if (op === 3 || op === 4) {
      s[S.FLAGS] = op === 3 ? s[S.FLAGS] & ~F_DF : s[S.FLAGS] | F_DF;
      return;
    }
    const f = materialize(s);
    s[S.FLAGS] = op === 0 ? f ^ F_CF : op === 1 ? f & ~F_CF : f | F_CF;
  },
  nop() {},
  clflush(c, p) {
    // clflush/clflushopt: checked like a one-byte read (segment, page present and readable), no data.
    // F2/F3 forms are #UD on the host.
    if (c.pool[p + D.PFX] & (P_REP | P_REPNE)) c.ud();
    c.readE(p, 1);
  },
  ud(c) {
    c.fault(EXC_UD, 0, false);
  },
  too_long(c) {
    c.gp(0);
  },
  unimpl(c, p) {
    c.hooks.unimplemented(c, c.pool[p + D.AUX] === 0 ? 'x87' : 'sse');
    c.fault(EXC_UD, 0, false);
  },
});
