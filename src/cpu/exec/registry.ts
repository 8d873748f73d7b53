/**
 * The handler registry: exec families register their handlers by name; the opcode table
 * (decode/opcodes.ts) names them. A handler executes one decoded record at pool offset `p`.
 * Invariant: handler ids are dense indices into HANDLERS and never change after startup.
 */
import type { Cpu } from '../cpu.js';

export type Handler = (c: Cpu, p: number) => void;

export const HANDLERS: Handler[] = [];
const ids = new Map<string, number>();

/** Register a family's handlers; a duplicate name is a programming error. */
export function register(family: Record<string, Handler>): void {
  for (const [name, fn] of Object.entries(family)) {
    if (ids.has(name)) throw new Error(`handler ${name} registered twice`);
    ids.set(name, HANDLERS.length);
    HANDLERS.push(fn);
  }
}

export function handlerId(name: string): number {
  const id = ids.get(name);
  if (id === undefined)
    throw new Error(`opcode table names handler '${name}', which no exec family registers`);
  return id;
}

/** Whether some exec family registered `name`. */
export function hasHandler(name: string): boolean {
  return ids.has(name);
}

export function handlerName(id: number): string {
  for (const [name, i] of ids) if (i === id) return name;
  return `#${id}`;
}
