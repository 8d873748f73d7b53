/** PLACEHOLDER (being written): handlers of this family raise #UD until implemented. */
import { register, type Handler } from './registry.js';

const todo: Handler = (c) => c.ud();
register(Object.fromEntries(["bt_G", "bt_I", "bsf", "bsr", "tzcnt", "lzcnt", "popcnt"].map((n) => [n, todo])));
