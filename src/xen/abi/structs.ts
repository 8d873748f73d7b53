/**
 * Xen's public structures that cross the guest/hypervisor boundary, declared once for both guest
 * widths (fields as in /usr/include/xen, Debian's libxen-dev, with __XEN_INTERFACE_VERSION__ at
 * the latest version, as Linux builds them). Each entry names the C type the ABI probe uses.
 *
 * Invariant: every offset and size derived from this table is checked by tests/xen/abi.test.ts
 * against gcc -m32 and -m64 compiles of the real headers. Add a structure here before reading or
 * writing it in guest memory; never write an offset literal elsewhere.
 */
import { f, fw, layout, perWidth, struct, union, type Layout, type Type, type Width } from './layout.js';

const vcpuTimeInfo = struct(
  f('version', 'u32'),
  f('pad0', 'u32'),
  f('tsc_timestamp', 'u64'),
  f('system_time', 'u64'),
  f('tsc_to_system_mul', 'u32'),
  f('tsc_shift', 'i8'),
  f('flags', 'u8'),
  f('pad1', 'u8', 2),
);

const archVcpuInfo = struct(f('cr2', 'ulong'), fw(32, 'pad', 'ulong', 5), fw(64, 'pad', 'ulong'));

const vcpuInfo = struct(
  f('evtchn_upcall_pending', 'u8'),
  f('evtchn_upcall_mask', 'u8'),
  f('evtchn_pending_sel', 'ulong'),
  f('arch', archVcpuInfo),
  f('time', vcpuTimeInfo),
);

const archSharedInfo = struct(
  f('max_pfn', 'ulong'),
  f('pfn_to_mfn_frame_list_list', 'ulong'),
  f('nmi_reason', 'ulong'),
  f('p2m_cr3', 'ulong'),
  f('p2m_vaddr', 'ulong'),
  f('p2m_generation', 'ulong'),
  fw(32, 'wc_sec_hi', 'u32'),
);

const evtchnWords = (w: Width): number => (w === 32 ? 32 : 64); // sizeof(xen_ulong_t) * 8

const sharedInfo32 = struct(
  f('vcpu_info', vcpuInfo, 32),
  f('evtchn_pending', 'ulong', evtchnWords(32)),
  f('evtchn_mask', 'ulong', evtchnWords(32)),
  f('wc_version', 'u32'),
  f('wc_sec', 'u32'),
  f('wc_nsec', 'u32'),
  f('arch', archSharedInfo),
);
const sharedInfo64 = struct(
  f('vcpu_info', vcpuInfo, 32),
  f('evtchn_pending', 'ulong', evtchnWords(64)),
  f('evtchn_mask', 'ulong', evtchnWords(64)),
  f('wc_version', 'u32'),
  f('wc_sec', 'u32'),
  f('wc_nsec', 'u32'),
  f('wc_sec_hi', 'u32'),
  f('arch', archSharedInfo),
);

const startInfo = struct(
  f('magic', 'u8', 32),
  f('nr_pages', 'ulong'),
  f('shared_info', 'ulong'),
  f('flags', 'u32'),
  f('store_mfn', 'ulong'),
  f('store_evtchn', 'u32'),
  f(
    'console',
    union(
      f('domU', struct(f('mfn', 'ulong'), f('evtchn', 'u32'))),
      f('dom0', struct(f('info_off', 'u32'), f('info_size', 'u32'))),
    ),
  ),
  f('pt_base', 'ulong'),
  f('nr_pt_frames', 'ulong'),
  f('mfn_list', 'ulong'),
  f('mod_start', 'ulong'),
  f('mod_len', 'ulong'),
  f('cmd_line', 'i8', 1024),
  f('first_p2m_pfn', 'ulong'),
  f('nr_p2m_frames', 'ulong'),
);

const evtchnStatus = struct(
  f('dom', 'u16'),
  f('port', 'u32'),
  f('status', 'u32'),
  f('vcpu', 'u32'),
  f(
    'u',
    union(
      f('unbound', struct(f('dom', 'u16'))),
      f('interdomain', struct(f('dom', 'u16'), f('port', 'u32'))),
      f('pirq', 'u32'),
      f('virq', 'u32'),
    ),
  ),
);

/** A structure of the ABI: its C type name for the probe and its declaration. */
export interface AbiStruct {
  c: string;
  type: Type;
  /** Only meaningful for one guest width (e.g. iret_context is x86-64's). */
  only?: Width;
}

/** struct xen_memory_reservation, also the two halves of struct xen_memory_exchange. */
const RESERVATION = struct(
  f('extent_start', 'handle'),
  f('nr_extents', 'ulong'),
  f('extent_order', 'u32'),
  f('mem_flags', 'u32'),
  f('domid', 'u16'),
);
export const STRUCTS = {
  start_info: { c: 'struct start_info', type: startInfo },
  shared_info: { c: 'struct shared_info', type: perWidth(sharedInfo32, sharedInfo64) },
  vcpu_info: { c: 'struct vcpu_info', type: vcpuInfo },
  vcpu_time_info: { c: 'struct vcpu_time_info', type: vcpuTimeInfo },
  arch_vcpu_info: { c: 'struct arch_vcpu_info', type: archVcpuInfo },
  arch_shared_info: { c: 'struct arch_shared_info', type: archSharedInfo },
  trap_info: {
    c: 'struct trap_info',
    type: struct(f('vector', 'u8'), f('flags', 'u8'), f('cs', 'u16'), f('address', 'ulong')),
  },
  mmu_update: { c: 'struct mmu_update', type: struct(f('ptr', 'u64'), f('val', 'u64')) },
  mmuext_op: {
    c: 'struct mmuext_op',
    type: struct(
      f('cmd', 'u32'),
      f('arg1', union(f('mfn', 'ulong'), f('linear_addr', 'ulong'))),
      f('arg2', union(f('nr_ents', 'u32'), f('vcpumask', 'handle'), f('src_mfn', 'ulong'))),
    ),
  },
  multicall_entry: {
    c: 'struct multicall_entry',
    type: struct(f('op', 'ulong'), f('result', 'ulong'), f('args', 'ulong', 6)),
  },
  callback_register: {
    c: 'struct callback_register',
    type: struct(
      f('type', 'u16'),
      f('flags', 'u16'),
      f('address', perWidth(struct(f('cs', 'ulong'), f('eip', 'ulong')), 'ulong')),
    ),
  },
  callback_unregister: {
    c: 'struct callback_unregister',
    type: struct(f('type', 'u16'), f('_unused', 'u16')),
  },
  xen_compile_info: {
    c: 'struct xen_compile_info',
    type: struct(
      f('compiler', 'u8', 64),
      f('compile_by', 'u8', 16),
      f('compile_domain', 'u8', 32),
      f('compile_date', 'u8', 32),
    ),
  },
  xen_memory_map: { c: 'struct xen_memory_map', type: struct(f('nr_entries', 'u32'), f('buffer', 'handle')) },
  xen_machphys_mfn_list: {
    c: 'struct xen_machphys_mfn_list',
    type: struct(f('max_extents', 'u32'), f('extent_start', 'handle'), f('nr_extents', 'u32')),
  },
  xen_machphys_mapping: {
    c: 'struct xen_machphys_mapping',
    type: struct(f('v_start', 'ulong'), f('v_end', 'ulong'), f('max_mfn', 'ulong')),
  },
  xen_memory_reservation: {
    c: 'struct xen_memory_reservation',
    type: RESERVATION,
  },
  xen_memory_exchange: {
    c: 'struct xen_memory_exchange',
    type: struct(f('in', RESERVATION), f('out', RESERVATION), f('nr_exchanged', 'ulong')),
  },
  xen_add_to_physmap: {
    c: 'struct xen_add_to_physmap',
    type: struct(
      f('domid', 'u16'),
      f('size', 'u16'),
      f('space', 'u32'),
      f('idx', 'ulong'),
      f('gpfn', 'ulong'),
    ),
  },
  xencons_interface: {
    c: 'struct xencons_interface',
    type: struct(
      f('in', 'u8', 1024),
      f('out', 'u8', 2048),
      f('in_cons', 'u32'),
      f('in_prod', 'u32'),
      f('out_cons', 'u32'),
      f('out_prod', 'u32'),
    ),
  },
  xenstore_domain_interface: {
    c: 'struct xenstore_domain_interface',
    type: struct(
      f('req', 'u8', 1024),
      f('rsp', 'u8', 1024),
      f('req_cons', 'u32'),
      f('req_prod', 'u32'),
      f('rsp_cons', 'u32'),
      f('rsp_prod', 'u32'),
      f('server_features', 'u32'),
      f('connection', 'u32'),
      f('error', 'u32'),
    ),
  },
  xsd_sockmsg: {
    c: 'struct xsd_sockmsg',
    type: struct(f('type', 'u32'), f('req_id', 'u32'), f('tx_id', 'u32'), f('len', 'u32')),
  },
  sched_shutdown: { c: 'struct sched_shutdown', type: struct(f('reason', 'u32')) },
  sched_remote_shutdown: {
    c: 'struct sched_remote_shutdown',
    type: struct(f('domain_id', 'u16'), f('reason', 'u32')),
  },
  sched_poll: {
    c: 'struct sched_poll',
    type: struct(f('ports', 'handle'), f('nr_ports', 'u32'), f('timeout', 'u64')),
  },
  vcpu_runstate_info: {
    c: 'struct vcpu_runstate_info',
    type: struct(f('state', 'i32'), f('state_entry_time', 'u64'), f('time', 'u64', 4)),
  },
  vcpu_register_vcpu_info: {
    c: 'struct vcpu_register_vcpu_info',
    type: struct(f('mfn', 'u64'), f('offset', 'u32'), f('rsvd', 'u32')),
  },
  vcpu_register_runstate_memory_area: {
    c: 'struct vcpu_register_runstate_memory_area',
    type: struct(f('addr', union(f('h', 'handle'), f('v', 'handle'), f('p', 'u64')))),
  },
  vcpu_register_time_memory_area: {
    c: 'struct vcpu_register_time_memory_area',
    type: struct(f('addr', union(f('h', 'handle'), f('v', 'handle'), f('p', 'u64')))),
  },
  vcpu_set_singleshot_timer: {
    c: 'struct vcpu_set_singleshot_timer',
    type: struct(f('timeout_abs_ns', 'u64'), f('flags', 'u32')),
  },
  vcpu_set_periodic_timer: { c: 'struct vcpu_set_periodic_timer', type: struct(f('period_ns', 'u64')) },
  xen_platform_parameters: { c: 'struct xen_platform_parameters', type: struct(f('virt_start', 'ulong')) },
  xen_feature_info: {
    c: 'struct xen_feature_info',
    type: struct(f('submap_idx', 'u32'), f('submap', 'u32')),
  },
  iret_context: {
    c: 'struct iret_context',
    only: 64,
    type: struct(
      ...['rax', 'r11', 'rcx', 'flags', 'rip', 'cs', 'rflags', 'rsp', 'ss'].map((n) => f(n, 'u64')),
    ),
  },
  evtchn_send: { c: 'struct evtchn_send', type: struct(f('port', 'u32')) },
  evtchn_status: { c: 'struct evtchn_status', type: evtchnStatus },
  evtchn_alloc_unbound: {
    c: 'struct evtchn_alloc_unbound',
    type: struct(f('dom', 'u16'), f('remote_dom', 'u16'), f('port', 'u32')),
  },
  evtchn_bind_interdomain: {
    c: 'struct evtchn_bind_interdomain',
    type: struct(f('remote_dom', 'u16'), f('remote_port', 'u32'), f('local_port', 'u32')),
  },
  evtchn_bind_virq: {
    c: 'struct evtchn_bind_virq',
    type: struct(f('virq', 'u32'), f('vcpu', 'u32'), f('port', 'u32')),
  },
  evtchn_bind_ipi: { c: 'struct evtchn_bind_ipi', type: struct(f('vcpu', 'u32'), f('port', 'u32')) },
  evtchn_bind_vcpu: { c: 'struct evtchn_bind_vcpu', type: struct(f('port', 'u32'), f('vcpu', 'u32')) },
  evtchn_close: { c: 'struct evtchn_close', type: struct(f('port', 'u32')) },
  evtchn_bind_pirq: {
    c: 'struct evtchn_bind_pirq',
    type: struct(f('pirq', 'u32'), f('flags', 'u32'), f('port', 'u32')),
  },
  evtchn_reset: { c: 'struct evtchn_reset', type: struct(f('dom', 'u16')) },
  evtchn_unmask: { c: 'struct evtchn_unmask', type: struct(f('port', 'u32')) },
  grant_entry_v1: {
    c: 'struct grant_entry_v1',
    type: struct(f('flags', 'u16'), f('domid', 'u16'), f('frame', 'u32')),
  },
  gnttab_setup_table: {
    c: 'struct gnttab_setup_table',
    type: struct(f('dom', 'u16'), f('nr_frames', 'u32'), f('status', 'u16'), f('frame_list', 'handle')),
  },
  gnttab_query_size: {
    c: 'struct gnttab_query_size',
    type: struct(f('dom', 'u16'), f('nr_frames', 'u32'), f('max_nr_frames', 'u32'), f('status', 'u16')),
  },
  gnttab_set_version: { c: 'struct gnttab_set_version', type: struct(f('version', 'u32')) },
  gnttab_get_version: {
    c: 'struct gnttab_get_version',
    type: struct(f('dom', 'u16'), f('pad', 'u16'), f('version', 'u32')),
  },
} satisfies Record<string, AbiStruct>;

export type StructName = keyof typeof STRUCTS;

const cache: Record<Width, Map<string, Layout>> = { 32: new Map(), 64: new Map() };

/** The layout of a structure for a guest width (computed once). */
export function abi(name: StructName, w: Width): Layout {
  let l = cache[w].get(name);
  if (!l) {
    const def: AbiStruct = STRUCTS[name];
    if (def.only !== undefined && def.only !== w)
      throw new RangeError(`${name} does not exist for ${w}-bit guests`);
    l = layout(def.type, w);
    cache[w].set(name, l);
  }
  return l;
}
