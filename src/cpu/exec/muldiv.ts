/** PLACEHOLDER (being written): handlers of this family raise #UD until implemented. */
import { register, type Handler } from './registry.js';

const todo: Handler = (c) => c.ud();
register(Object.fromEntries(["mul", "imul1", "imul2", "imul3", "div", "idiv", "bcd"].map((n) => [n, todo])));
