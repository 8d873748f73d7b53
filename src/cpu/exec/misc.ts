/**
 * Small handlers that fit no family: flag operations (cmc clc stc cld std), nops and hints,
 * the #UD encodings (ud0/ud1/ud2 and every undefined encoding), over-long instructions (#GP),
 * fwait, and instructions decoded but not implemented yet (x87, SSE), which report themselves
 * through hooks.unimplemented and then raise #UD: nothing silently misbehaves.
 */
import { D_AUX } from '../decode/record.js';
import { materialize } from '../flags.js';
import { CR0, CR0_TS, EXC_NM, EXC_UD, F_CF, F_DF, FLAGS } from '../state/layout.js';
import { register } from './registry.js';

register({
  flagop(c, p) {
    const s = c.s;
    const op = c.pool[p + D_AUX];
    if (op === 3 || op === 4) {
      s[FLAGS] = op === 3 ? s[FLAGS] & ~F_DF : s[FLAGS] | F_DF;
      return;
    }
    const f = materialize(s);
    s[FLAGS] = op === 0 ? f ^ F_CF : op === 1 ? f & ~F_CF : f | F_CF;
  },
  nop() {},
  ud(c) {
    c.fault(EXC_UD, 0, false);
  },
  too_long(c) {
    c.gp(0);
  },
  unimpl(c, p) {
    c.hooks.unimplemented(c, c.pool[p + D_AUX] === 0 ? 'x87' : 'sse');
    c.fault(EXC_UD, 0, false);
  },
  fwait(c) {
    // CR0.MP is taken as set (as every modern OS runs).
    if (c.s[CR0] & CR0_TS) c.fault(EXC_NM, 0, false);
  },
});
