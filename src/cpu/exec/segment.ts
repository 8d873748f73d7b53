/** PLACEHOLDER (being written): handlers of this family raise #UD until implemented. */
import { register, type Handler } from './registry.js';

const todo: Handler = (c) => c.ud();
register(Object.fromEntries(["push_seg", "pop_seg", "mov_ES", "mov_SE", "lseg", "ret_far", "iret", "call_far_ptr", "jmp_far_ptr", "call_far_M", "jmp_far_M", "bound", "arpl"].map((n) => [n, todo])));
