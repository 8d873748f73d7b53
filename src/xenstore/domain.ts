/**
 * What the toolstack writes into xenstore for a new PV domU before it starts, as libxl does
 * (tools/libs/light/libxl_create.c libxl__domain_make, libxl_dom.c libxl__build_post,
 * libxl_console.c): the domain's home /local/domain/<id> readable by it and owned by domain 0;
 * the subdirectories a guest writes to (device, data, drivers, feature, attr, error,
 * control/shutdown and the control/feature-* nodes) owned by the guest; name, domid, vm and its
 * uuid; memory/static-max and memory/target in KiB; cpu/N/availability; store/ and console/
 * ring references and ports; control/platform-feature-* flags Linux looks for (xs_reset_watches
 * tells it XS_RESET_WATCHES works); the console's backend entries under domain 0.
 *
 * Invariant: every node is written by domain 0 (the toolstack) with explicit permissions; the
 * guest can write only the nodes libxl gives it.
 */
import { bytesOf } from '../lib/bytes.js';
import type { Store } from './store.js';

export interface DomainEntries {
  domid: number;
  name: string;
  uuid: string;
  memoryKiB: number;
  vcpus: number;
  storeMfn: number;
  storePort: number;
  consoleMfn: number;
  consolePort: number;
}

export function introduceDomain(s: Store, e: DomainEntries): void {
  const home = `/local/domain/${e.domid}`;
  const ro = ['n0', `r${e.domid}`]; // owned by the toolstack, readable by the guest
  const rw = [`n${e.domid}`]; // owned by the guest
  const node = (path: string, value: string | undefined, perms: string[]): void => {
    if (value === undefined) s.mkdir(0, path);
    else s.write(0, path, bytesOf(value));
    s.setPerms(0, path, perms);
  };
  const vm = `/vm/${e.uuid}`;
  node(vm, undefined, ['n0']);
  node(`${vm}/uuid`, e.uuid, ['n0']);
  node(`${vm}/name`, e.name, ['n0']);
  node(home, undefined, ro);
  node(`${home}/vm`, vm, ro);
  node(`${home}/name`, e.name, ro);
  node(`${home}/domid`, String(e.domid), ro);
  for (const dir of ['device', 'data', 'drivers', 'feature', 'attr', 'error'])
    node(`${home}/${dir}`, undefined, rw);
  node(`${home}/control`, undefined, ro);
  for (const n of ['shutdown', 'feature-poweroff', 'feature-reboot', 'feature-suspend', 'sysrq'])
    node(`${home}/control/${n}`, '', rw);
  node(`${home}/control/platform-feature-multiprocessor-suspend`, '1', ro);
  node(`${home}/control/platform-feature-xs_reset_watches`, '1', ro);
  node(`${home}/memory`, undefined, ro);
  node(`${home}/memory/static-max`, String(e.memoryKiB), ro);
  node(`${home}/memory/target`, String(e.memoryKiB), ro);
  node(`${home}/cpu`, undefined, ro);
  for (let i = 0; i < e.vcpus; i++) node(`${home}/cpu/${i}/availability`, 'online', ro);
  node(`${home}/store/port`, String(e.storePort), ro);
  node(`${home}/store/ring-ref`, String(e.storeMfn), ro);
  // The PV console: frontend entries for the guest, backend entries under domain 0.
  const back = `/local/domain/0/backend/console/${e.domid}/0`;
  node(`${home}/console`, undefined, ro);
  node(`${home}/console/backend`, back, ro);
  node(`${home}/console/backend-id`, '0', ro);
  node(`${home}/console/limit`, '1048576', ro);
  node(`${home}/console/type`, 'xenconsoled', ro);
  node(`${home}/console/output`, 'pty', ro);
  node(`${home}/console/tty`, '', ro);
  node(`${home}/console/port`, String(e.consolePort), ro);
  node(`${home}/console/ring-ref`, String(e.consoleMfn), ro);
  node(back, undefined, ro);
  node(`${back}/frontend`, `${home}/console`, ro);
  node(`${back}/frontend-id`, String(e.domid), ro);
  node(`${back}/online`, '1', ro);
  node(`${back}/state`, '4', ro); // XenbusStateConnected
  node(`${back}/protocol`, 'vt100', ro);
}
