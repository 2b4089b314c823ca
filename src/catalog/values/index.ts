/**
 * ktrail's value tables: every flag and enum table by name (the key equals `table.name`), the errno and signal
 * helpers, and the renderer. Catalog fields reference a table by name in `FieldSpec.values`.
 */
import type { ValueTable } from '../types.js';
import { bpfCmd } from './bpf.js';
import { epollCtlOp } from './epoll.js';
import { errno } from './errno.js';
import { accessMode, atFlags, fcntlCmd, fileMode, openFlags, renameat2Flags, seekWhence } from './file.js';
import { futexOp } from './futex.js';
import { madviseAdvice, memfdFlags, mmapFlags, mmapProt } from './memory.js';
import { deleteModuleFlags, finitModuleFlags } from './module.js';
import { mountFlags, umountFlags } from './mount.js';
import {
  capability,
  cloneFlags,
  prctlOption,
  ptraceRequest,
  rlimitResource,
  unshareFlags,
} from './process.js';
import { signal } from './signal.js';
import { msgFlags, socketDomain, socketLevel, socketType } from './socket.js';
import { clockid } from './time.js';

export { tableAliases } from './aliases.js';
export { bpfCmd } from './bpf.js';
export { epollCtlOp } from './epoll.js';
export { errno, errnoMeaning, errnoName, errnoValue, retvalErrno } from './errno.js';
export {
  accessMode,
  atFlags,
  fcntlCmd,
  fileMode,
  openFlags,
  renameat2Flags,
  renderMode,
  seekWhence,
} from './file.js';
export { futexOp } from './futex.js';
export { madviseAdvice, memfdFlags, mmapFlags, mmapProt } from './memory.js';
export { deleteModuleFlags, finitModuleFlags } from './module.js';
export { mountFlags, umountFlags } from './mount.js';
export {
  capability,
  cloneFlags,
  prctlOption,
  ptraceRequest,
  rlimitResource,
  unshareFlags,
} from './process.js';
export { parseValue, renderValue } from './render.js';
export { parseRtSignal, SIGRTMAX, SIGRTMIN, signal, signalName } from './signal.js';
export { msgFlags, socketDomain, socketLevel, socketType } from './socket.js';
export { clockid } from './time.js';

const all: readonly ValueTable[] = [
  deleteModuleFlags,
  finitModuleFlags,
  openFlags,
  fileMode,
  mmapProt,
  mmapFlags,
  cloneFlags,
  unshareFlags,
  ptraceRequest,
  socketDomain,
  socketType,
  atFlags,
  accessMode,
  fcntlCmd,
  prctlOption,
  bpfCmd,
  capability,
  madviseAdvice,
  memfdFlags,
  mountFlags,
  umountFlags,
  signal,
  seekWhence,
  rlimitResource,
  clockid,
  renameat2Flags,
  epollCtlOp,
  futexOp,
  socketLevel,
  msgFlags,
  errno,
];

/** Every value table by name. Frozen; the key always equals the table's `name`. */
export const valueTables: Readonly<Record<string, ValueTable>> = Object.freeze(
  Object.fromEntries(all.map((t) => [t.name, t])),
);
