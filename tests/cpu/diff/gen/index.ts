/** Every differential-test template, by family. */
import type { Template } from './common.js';
import { templates as alu } from './alu.js';
import { templates as mov } from './mov.js';
import { templates as stack } from './stack.js';
import { templates as control } from './control.js';
import { templates as shift } from './shift.js';
import { templates as muldiv } from './muldiv.js';
import { templates as bit } from './bit.js';
import { templates as string } from './string.js';
import { templates as system } from './system.js';
import { templates as segment } from './segment.js';
import { templates as sse } from './sse.js';
import { templates as x87 } from './x87.js';

export const TEMPLATES: Template[] = [
  ...alu,
  ...mov,
  ...stack,
  ...control,
  ...shift,
  ...muldiv,
  ...bit,
  ...string,
  ...system,
  ...segment,
  ...sse,
  ...x87,
];
