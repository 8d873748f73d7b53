/** PLACEHOLDER (being written): handlers of this family raise #UD until implemented. */
import { register, type Handler } from './registry.js';

const todo: Handler = (c) => c.ud();
register(Object.fromEntries(["hlt", "sldt", "str", "lldt", "ltr", "verrw", "sdt", "ldt_r", "smsw", "lmsw", "invlpg", "monitor", "mwait", "clac", "stac", "xgetbv", "xsetbv", "swapgs", "rdtscp", "larlsl", "syscall", "clts", "sysret", "wbinvd", "mov_RC", "mov_RD", "mov_CR", "mov_DR", "wrmsr", "rdtsc", "rdmsr", "rdpmc", "sysenter", "sysexit", "cpuid", "rdrand", "cli", "sti", "in_I", "out_I", "in_DX", "out_DX"].map((n) => [n, todo])));
