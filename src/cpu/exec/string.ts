/** PLACEHOLDER (being written): handlers of this family raise #UD until implemented. */
import { register, type Handler } from './registry.js';

const todo: Handler = (c) => c.ud();
register(Object.fromEntries(["ins", "outs", "movs", "cmps", "stos", "lods", "scas"].map((n) => [n, todo])));
