/**
 * Where Xenolith caches what it fetches and builds: .cache/ at the repository root (guest/ the
 * Debian packages, initramfs/ the built archives), found from this file's own place in dist/.
 */
import { fileURLToPath } from 'node:url';

/** The repository's .cache directory (dist/src/host/node/cache.js -> ../../../../.cache). */
export const CACHE_ROOT = fileURLToPath(new URL('../../../../.cache', import.meta.url));
