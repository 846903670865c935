/**
 * NumPy .npy files (format version 1.0 on write; 1.0, 2.0 and 3.0 on read), so that
 * factors saved here open with `numpy.load` and the other way round.
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { CfError, CfErrorCode } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export type NpyData = Float32Array | Uint32Array | Int32Array | Float64Array;
export type NpyDtype = '<f4' | '<u4' | '<i4' | '<f8';

export interface NpyArray {
  data: NpyData;
  shape: number[];
  dtype: NpyDtype;
}

const ARRAYS = {
  '<f4': Float32Array,
  '<u4': Uint32Array,
  '<i4': Int32Array,
  '<f8': Float64Array,
} as const;

const MAGIC = Buffer.from('\x93NUMPY', 'latin1');
// numpy aligns the data start to 64 bytes so the array can be memory-mapped and read with aligned loads.
const ALIGN = 64;
const BIG_ENDIAN_HOST = endianness() === 'BE';

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Float64Array) return '<f8';
  throw new CfError(CfErrorCode.INVALID_ARG, 'npy: data must be a Float32Array, Uint32Array, Int32Array or Float64Array');
}

const shapeText = (shape: readonly number[]): string => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

/** The magic, version, length and header dict exactly as numpy writes them for a C-order array. */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Buffer {
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText(shape)}, }`;
  const unpadded = MAGIC.length + 4 + dict.length + 1;
  const header = `${dict}${' '.repeat((ALIGN - (unpadded % ALIGN)) % ALIGN)}\n`;
  if (header.length > 0xffff) throw new CfError(CfErrorCode.INVALID_ARG, `npy: shape ${shapeText(shape)} is too long for a version 1.0 header`);
  const prefix = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(prefix);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1')]);
}

// .npy data is little-endian; a big-endian host must swap every element on the way in and out.
function swapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  }
  return out;
}

/** Writes `data` (C order) with the given shape; the product of `shape` must equal `data.length`. */
export async function writeNpy(path: string, data: NpyData, shape: readonly number[]): Promise<void> {
  const dtype = dtypeOf(data);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new CfError(CfErrorCode.INVALID_ARG, `${path}: npy shape ${shapeText(shape)} must be non-negative integers`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new CfError(CfErrorCode.INVALID_ARG, `${path}: npy shape ${shapeText(shape)} holds ${count} elements but data has ${data.length}`);
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  await writeFileAtomic(path, [npyHeader(dtype, shape), BIG_ENDIAN_HOST ? swapped(bytes, data.BYTES_PER_ELEMENT) : bytes]);
}

/**
 * Header text quoted in a message: messages are one line (the CLI prints them so), and a
 * header can hold any byte and be as long as the file. Text past `max` characters is cut,
 * and control characters come out escaped as in JSON.
 */
const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}...` : text);
function shown(text: string, max = 80): string {
  const short = cut(text, max);
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(short) ? JSON.stringify(short).slice(1, -1) : short;
}

function parseHeader(text: string, bad: (why: string) => never): { dtype: NpyDtype; shape: number[] } {
  const dict = text.trim();
  const keys = [...dict.matchAll(/'(\w+)'\s*:/g)].map((m) => m[1]);
  if (!dict.startsWith('{') || !dict.endsWith('}') || keys.length !== 3) bad(`malformed header ${JSON.stringify(cut(dict, 200))}`);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(dict)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(dict)?.[1];
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined) bad(`malformed header ${JSON.stringify(cut(dict, 200))}`);
  if (!(descr in ARRAYS)) bad(`unsupported dtype '${shown(descr)}' (expected one of ${Object.keys(ARRAYS).map((d) => `'${d}'`).join(', ')})`);
  if (fortran === 'True') bad('Fortran-order arrays are not supported; save with C order');
  const dims = shape.split(',').map((d) => d.trim());
  if (dims.at(-1) === '') dims.pop();
  // Python 2 era numpy wrote long integers with an L suffix.
  if (!dims.every((d) => /^\d+L?$/.test(d))) bad(`malformed shape (${shown(shape)})`);
  const numbers = dims.map((d) => Number.parseInt(d, 10));
  if (!numbers.every(Number.isSafeInteger)) bad(`shape (${shown(shape)}) is too large`);
  return { dtype: descr as NpyDtype, shape: numbers };
}

function decode(bytes: Uint8Array, source: string, copy: boolean): NpyArray {
  const bad = (why: string): never => {
    throw new CfError(CfErrorCode.IO, `${source}: invalid .npy file: ${why}`);
  };
  if (bytes.byteLength < 10 || !MAGIC.equals(bytes.subarray(0, MAGIC.length))) bad('missing the \\x93NUMPY magic');
  const [major, minor] = [bytes[6]!, bytes[7]!];
  if (major < 1 || major > 3 || minor !== 0) bad(`unsupported format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  if (bytes.byteLength < 8 + lengthSize) bad('truncated header');
  const headerLength = lengthSize === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthSize + headerLength;
  if (bytes.byteLength < dataStart) bad(`truncated header (${bytes.byteLength} bytes, header ends at ${dataStart})`);
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + 8 + lengthSize, headerLength).toString(major === 3 ? 'utf8' : 'latin1');
  const { dtype, shape } = parseHeader(header, bad);
  const Ctor = ARRAYS[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * Ctor.BYTES_PER_ELEMENT;
  const actual = bytes.byteLength - dataStart;
  if (actual !== expected) {
    bad(`${actual < expected ? 'truncated' : 'trailing bytes after the'} data: ${actual} bytes, expected ${expected} for shape ${shapeText(shape)} of ${dtype}`);
  }
  let body = bytes.subarray(dataStart);
  if (BIG_ENDIAN_HOST) body = swapped(body, Ctor.BYTES_PER_ELEMENT);
  // new Uint8Array(x), not x.slice(): on a Buffer, slice() is a view and would not copy.
  else if (copy || body.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0) body = new Uint8Array(body);
  // Either a fresh copy or readFile's own buffer, so never a SharedArrayBuffer.
  return { data: new Ctor(body.buffer as ArrayBuffer, body.byteOffset, count), shape, dtype };
}

/** Parses .npy bytes held in memory; `source` names them in errors. The result never shares memory with `bytes`. */
export function decodeNpy(bytes: Uint8Array, source = '<npy>'): NpyArray {
  return decode(bytes, source, true);
}

/** Reads a .npy file; anything unreadable or not a supported C-order array is an ERR_CF_IO naming the file. */
export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err);
    throw new CfError(CfErrorCode.IO, `${path}: cannot read .npy file: ${reason}`, { cause: err });
  }
  // The buffer is ours alone, so an aligned body can be viewed in place instead of copied.
  return decode(bytes, path, false);
}
