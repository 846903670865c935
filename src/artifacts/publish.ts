// A model folder is published atomically: after a crash at any instant, `dir` holds the
// complete old model or the complete new one. The files are written into a fresh sibling
// (`.NAME~staging-ID`), fsynced, renamed to a version (`.NAME~v-ID`), and `dir` becomes a
// symbolic link to it, replaced by one rename(2) of a new link over the old. Readers resolve
// the link once (`resolveFolder`) and read every file from that version; the previous
// version is kept, so a reader that resolved it just before a publish still finds its files.
// Older versions and the leftovers of killed writers are removed by the next publish.
// ('~' cannot occur in a model name, so one model's entries never match another's.)
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readlink, realpath, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CfError, CfErrorCode } from '../errors.js';

const WINDOWS = process.platform === 'win32';

async function syncDirectory(dir: string): Promise<void> {
  if (WINDOWS) return; // directories cannot be opened for fsync there
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `write(staging)` fills a fresh folder; then it replaces `dir` in one atomic step. */
export async function writeFolderAtomic(dir: string, write: (staging: string) => Promise<void>): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  const base = basename(target);
  const fail = (what: string, err: unknown): never => {
    throw new CfError(CfErrorCode.IO, `${dir}: cannot ${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  };
  await mkdir(parent, { recursive: true }).catch((e) => fail('create its parent folder', e));
  const id = `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = join(parent, `.${base}~staging-${id}`);
  await mkdir(staging).catch((e) => fail('create a staging folder', e));
  try {
    await write(staging);
    await syncDirectory(staging);
  } catch (err) {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  const version = `.${base}~v-${id}`;
  const keep = new Set([version]);
  try {
    await rename(staging, join(parent, version));
    const current = await lstat(target).catch(() => null);
    if (current?.isSymbolicLink()) {
      keep.add(basename(await readlink(target)));
    } else if (current?.isDirectory()) {
      // A folder from before versioned publishing: it becomes the previous version.
      const legacy = `.${base}~v-${id}-previous`;
      await rename(target, join(parent, legacy));
      keep.add(legacy);
    } else if (current) {
      throw new Error('it exists and is not a folder');
    }
    const link = join(parent, `.${base}~link-${id}`);
    await symlink(WINDOWS ? join(parent, version) : version, link, WINDOWS ? 'junction' : 'dir');
    if (WINDOWS) await rm(target, { force: true }).catch(() => {}); // no atomic replace of a junction there
    await rename(link, target);
    await syncDirectory(parent);
  } catch (err) {
    if (err instanceof CfError) throw err;
    fail('publish the new version', err);
  }
  await cleanup(parent, base, keep);
}

/** Remove versions not in `keep` and the staging folders and links of writers that died. */
async function cleanup(parent: string, base: string, keep: Set<string>): Promise<void> {
  const prefix = `.${base}~`;
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || keep.has(name)) continue;
    const rest = name.slice(prefix.length);
    if (!rest.startsWith('v-')) {
      // staging-ID or link-ID, ID = time-pid-random: leave those of a writer still running.
      const pid = Number(rest.split('-')[2]);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) continue;
    }
    await rm(join(parent, name), { recursive: true, force: true }).catch(() => {});
  }
}

/** The version folder `dir` points at (or `dir` itself), resolved once for a consistent read. */
export async function resolveFolder(dir: string): Promise<string> {
  try {
    return await realpath(dir);
  } catch (err) {
    throw new CfError(CfErrorCode.IO, `${dir}: cannot open the model folder: ${(err as Error).message}`, { cause: err });
  }
}
