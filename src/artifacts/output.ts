// The output folder is checked before any data is read or any model fitted, so a bad
// `output` costs one line and exit 2, not a training run followed by a stack trace.
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { CfError, CfErrorCode } from '../errors.js';

/** Kernel file systems: writes there fail in odd ways or spin (a recursive mkdir under /proc). */
const SPECIAL = process.platform === 'linux' ? ['/proc', '/sys', '/dev'] : [];

/**
 * The absolute output folder, after checking that it is a folder or can be created: its
 * nearest existing ancestor is a writable folder outside /proc, /sys and /dev.
 */
export async function checkOutputFolder(output: string): Promise<string> {
  const abs = resolve(output);
  const bad = (why: string): never => {
    throw new CfError(CfErrorCode.IO, `output: ${output}: ${why}`);
  };
  let existing = abs;
  for (;;) {
    const st = await stat(existing).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? null : bad(err.message)));
    if (st) {
      if (!st.isDirectory()) bad(existing === abs ? 'exists and is not a folder' : `${existing} is a file, so no folder can be created under it`);
      break;
    }
    const up = dirname(existing);
    if (up === existing) bad('no existing parent folder');
    existing = up;
  }
  const real = await realpath(existing);
  if (SPECIAL.some((s) => real === s || real.startsWith(s + sep))) bad(`${real} is on a special file system (${SPECIAL.join(', ')}); choose a folder on disk`);
  await access(existing, constants.W_OK).catch(() => bad(`${existing} is not writable`));
  return abs;
}
