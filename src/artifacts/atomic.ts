import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CfError, CfErrorCode } from '../errors.js';

/**
 * Writes `data` so that readers see either the old file or the complete new one, never
 * a torn write: a temp file in the same directory (rename is only atomic within one
 * file system), fsync, then rename over. The parent directory must exist. An array of
 * chunks is written back to back, which saves concatenating large buffers first.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  try {
    const handle = await open(tmp, 'wx');
    try {
      for (const chunk of chunks) {
        let written = 0;
        while (written < chunk.byteLength) {
          written += (await handle.write(chunk, written, chunk.byteLength - written)).bytesWritten;
        }
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    const reason = err instanceof Error ? err.message : String(err);
    throw new CfError(CfErrorCode.IO, `${path}: cannot write file: ${reason}`, { cause: err });
  }
  await syncDirectory(dirname(path));
}

// Makes the rename itself durable on POSIX; directories cannot be opened for this on Windows, hence best effort.
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability of the rename is a bonus, not part of the contract.
  }
}

/** JSON with 2-space indent and a trailing newline, written atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2) as string | undefined;
  if (text === undefined) throw new CfError(CfErrorCode.INVALID_ARG, `${path}: value is not JSON-serialisable (${typeof value})`);
  await writeFileAtomic(path, `${text}\n`);
}
