import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from '../src/artifacts/atomic.js';
import { decodeNpy, readNpy, writeNpy } from '../src/artifacts/npy.js';
import { CfError, isCfError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'cf-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// CI points CF_NATIVE_PYTHON at a venv with numpy (see .ci/run); there the test must run.
const python = process.env.CF_NATIVE_PYTHON ?? 'python3';
function hasNumpy(): boolean {
  if (process.env.CF_NATIVE_PYTHON) return true;
  try {
    execFileSync(python, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<CfError> {
  try {
    await promise;
  } catch (err) {
    expect(isCfError(err, 'ERR_CF_IO')).toBe(true);
    return err as CfError;
  }
  throw new Error('was accepted');
}

describe('writeNpy', () => {
  it('writes the header exactly as numpy does, then the little-endian data', async () => {
    const file = join(dir, 'a.npy');
    await writeNpy(file, new Float32Array([1, 2, 3, 4, 5, 6.5]), [3, 2]);
    const bytes = readFileSync(file);

    expect([...bytes.subarray(0, 6)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
    expect([bytes[6], bytes[7]]).toEqual([1, 0]);
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).toBe(0);
    const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
    expect(header).toBe(`${dict}${' '.repeat(headerLength - dict.length - 1)}\n`);
    expect(headerLength).toBe(118); // 10 + 59 + 1 rounds up to 128

    const body = bytes.subarray(10 + headerLength);
    expect(body.byteLength).toBe(24);
    expect([0, 1, 2, 3, 4, 5].map((i) => body.readFloatLE(i * 4))).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes 1-d and 0-d shapes the Python way', async () => {
    const one = join(dir, 'one.npy');
    await writeNpy(one, new Int32Array([-1, 2, 3]), [3]);
    expect(readFileSync(one).toString('latin1')).toContain("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }");
    const scalar = join(dir, 'scalar.npy');
    await writeNpy(scalar, new Float64Array([Math.PI]), []);
    expect(readFileSync(scalar).toString('latin1')).toContain("'shape': (), }");
  });

  it('pads minimally to 64 bytes, including a header that needs no padding', async () => {
    // Shapes of 1..40 dimensions sweep the dict length across several 64-byte boundaries.
    for (let n = 1; n <= 40; n++) {
      const shape = [10, ...Array.from({ length: n - 1 }, () => 1)];
      const file = join(dir, 'pad.npy');
      await writeNpy(file, new Uint32Array(10), shape);
      const bytes = readFileSync(file);
      const headerLength = bytes.readUInt16LE(8);
      const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
      const dict = `{'descr': '<u4', 'fortran_order': False, 'shape': (${shape.join(', ')}${n === 1 ? ',' : ''}), }`;
      const padding = headerLength - dict.length - 1;
      expect((10 + headerLength) % 64).toBe(0);
      expect(padding).toBeGreaterThanOrEqual(0);
      expect(padding).toBeLessThan(64);
      expect(header).toBe(`${dict}${' '.repeat(padding)}\n`);
    }
  });

  it('rejects a shape that does not match the data', async () => {
    await expect(writeNpy(join(dir, 'x.npy'), new Float32Array(5), [2, 3])).rejects.toThrow(
      /shape \(2, 3\) holds 6 elements but data has 5/,
    );
  });
});

describe('readNpy', () => {
  it('round-trips every supported dtype', async () => {
    const cases = [
      { data: new Float32Array([0.5, -1.25, 3e-8, 7]), shape: [2, 2], dtype: '<f4' },
      { data: new Uint32Array([0, 1, 4294967295]), shape: [3], dtype: '<u4' },
      { data: new Int32Array([-2147483648, 0, 5, 6, 7, 8]), shape: [1, 2, 3], dtype: '<i4' },
      { data: new Float64Array([Math.E, -0.1]), shape: [2, 1], dtype: '<f8' },
      { data: new Float32Array(0), shape: [0, 4], dtype: '<f4' },
    ] as const;
    for (const [i, c] of cases.entries()) {
      const file = join(dir, `rt${i}.npy`);
      await writeNpy(file, c.data, c.shape);
      const back = await readNpy(file);
      expect(back.dtype).toBe(c.dtype);
      expect(back.shape).toEqual(c.shape);
      expect(back.data).toBeInstanceOf(c.data.constructor);
      expect([...back.data]).toEqual([...c.data]);
    }
  });

  it('writes a subarray view, not its whole backing buffer', async () => {
    const file = join(dir, 'view.npy');
    await writeNpy(file, new Float32Array([9, 1, 2, 9]).subarray(1, 3), [2]);
    expect([...(await readNpy(file)).data]).toEqual([1, 2]);
  });

  it('rejects a truncated file, naming it', async () => {
    const file = join(dir, 'cut.npy');
    await writeNpy(file, new Float32Array(6), [3, 2]);
    writeFileSync(file, readFileSync(file).subarray(0, 128 + 20));
    const err = await rejection(readNpy(file));
    expect(err.message).toBe(`${file}: invalid .npy file: truncated data: 20 bytes, expected 24 for shape (3, 2) of <f4`);

    writeFileSync(file, readFileSync(file).subarray(0, 40));
    expect((await rejection(readNpy(file))).message).toMatch(/truncated header/);
  });

  it('rejects bad magic, versions, dtypes and Fortran order', async () => {
    const good = join(dir, 'good.npy');
    await writeNpy(good, new Float32Array([1, 2]), [2]);
    const bytes = readFileSync(good);
    const variant = (edit: (b: Buffer) => Buffer): Buffer => edit(Buffer.from(bytes));
    const bad = [
      [variant((b) => (b.write('X', 1, 'latin1'), b)), /missing the \\x93NUMPY magic/],
      [variant((b) => ((b[6] = 4), b)), /unsupported format version 4\.0/],
      [variant((b) => Buffer.from(b.toString('latin1').replace('<f4', '>f4'), 'latin1')), /unsupported dtype '>f4'/],
      [variant((b) => Buffer.from(b.toString('latin1').replace('False', 'True '), 'latin1')), /Fortran-order/],
      [Buffer.concat([bytes, Buffer.alloc(4)]), /trailing bytes after the data: 12 bytes, expected 8/],
      [Buffer.alloc(3), /missing the \\x93NUMPY magic/],
    ] as const;
    for (const [content, message] of bad) {
      const file = join(dir, 'bad.npy');
      writeFileSync(file, content);
      const err = await rejection(readNpy(file));
      expect(err.message).toMatch(message);
      expect(err.message.startsWith(`${file}: `)).toBe(true);
    }
    await expect(readNpy(join(dir, 'absent.npy'))).rejects.toThrow(/absent\.npy: cannot read \.npy file: no such file/);
  });

  it('quotes header text on one line, escaped and cut', () => {
    // Found by the npy fuzz target: dtype and shape text went into messages raw, newlines and all.
    const npy = (dict: string): Buffer => {
      const prefix = Buffer.from('\x93NUMPY\x01\x00\x00\x00', 'latin1');
      const header = Buffer.from(`${dict}\n`, 'latin1');
      prefix.writeUInt16LE(header.length, 8);
      return Buffer.concat([prefix, header]);
    };
    const message = (bytes: Buffer): string => {
      try {
        decodeNpy(bytes, 'x.npy');
      } catch (err) {
        expect(isCfError(err, 'ERR_CF_IO')).toBe(true);
        return (err as CfError).message;
      }
      throw new Error('was accepted');
    };
    const dtypes = "(expected one of '<f4', '<u4', '<i4', '<f8')";
    expect(message(npy("{'descr': '<f\r4', 'fortran_order': False, 'shape': (2,), }"))).toBe(`x.npy: invalid .npy file: unsupported dtype '<f\\r4' ${dtypes}`);
    expect(message(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,\n x), }"))).toBe('x.npy: invalid .npy file: malformed shape (2,\\n x)');
    expect(message(npy(`{'descr': '${'f'.repeat(500)}', 'fortran_order': False, 'shape': (2,), }`))).toBe(
      `x.npy: invalid .npy file: unsupported dtype '${'f'.repeat(80)}...' ${dtypes}`,
    );
    const header = `{'descr': '<f4',\n${' '.repeat(300)}}`;
    expect(message(npy(header))).toBe(`x.npy: invalid .npy file: malformed header ${JSON.stringify(`${header.slice(0, 200)}...`)}`);
  });

  it('decodes numpy version 2.0 headers and unaligned input by copying', () => {
    const dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
    const header = Buffer.from(`${dict}${' '.repeat(64 - ((12 + dict.length + 1) % 64))}\n`, 'latin1');
    const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0]);
    prefix.writeUInt32LE(header.length, 8);
    const body = Buffer.alloc(16);
    body.writeDoubleLE(1.5, 0);
    body.writeDoubleLE(-2, 8);
    const unaligned = Buffer.concat([Buffer.alloc(1), prefix, header, body]).subarray(1);
    const out = decodeNpy(unaligned);
    expect(out).toMatchObject({ dtype: '<f8', shape: [2] });
    expect([...out.data]).toEqual([1.5, -2]);

    const aligned = Buffer.concat([prefix, header, body]);
    const decoded = decodeNpy(aligned);
    aligned.fill(0, aligned.byteLength - 16);
    expect([...decoded.data]).toEqual([1.5, -2]);
  });

  it.skipIf(!hasNumpy())('is read by numpy.load (skipped: python3 has no numpy here)', async () => {
    const file = join(dir, 'np.npy');
    await writeNpy(file, new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
    const out = execFileSync(python, ['-c', 'import sys, numpy; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype, a.sum(), a[2, 1])', file], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('(3, 2) float32 21.0 6.0');
  });
});

describe('writeFileAtomic', () => {
  it('replaces an existing file and leaves no temp file', async () => {
    const file = join(dir, 'm.json');
    writeFileSync(file, 'old');
    await writeJsonAtomic(file, { a: 1, b: [1, 2] });
    expect(readFileSync(file, 'utf8')).toBe('{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}\n');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('fails with ERR_CF_IO naming the path when the directory is missing', async () => {
    const file = join(dir, 'no-such-dir', 'x.txt');
    const err = await rejection(writeFileAtomic(file, 'x'));
    expect(err.message.startsWith(`${file}: cannot write file: `)).toBe(true);
  });
});
