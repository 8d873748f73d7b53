/** Imports every exec family so that all handlers are registered before the decode tables are built. */
import './alu.js';
import './mov.js';
import './stack.js';
import './control.js';
import './misc.js';
import './shift.js';
import './muldiv.js';
import './bit.js';
import './string.js';
import './system.js';
import './segment.js';
import './x87.js';
import './fxsave.js';
import './sse-int.js';
import './sse-move.js';
import './sse-float.js';
import './sse-cvt.js';
