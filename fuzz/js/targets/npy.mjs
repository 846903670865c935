// decodeNpy (src/artifacts/npy.ts) on arbitrary bytes. Expected: an ERR_CF_IO naming the
// source, or an array whose length matches its shape, of the declared dtype, sharing no
// memory with the input, that encodes back (npyHeader + data) to bytes decoding the same.
export const maxLen = 4096;

export const covers = (url) => url.includes('/dist/artifacts/npy.js');

export const dictionary = [
  '\x93NUMPY', '\x01\x00', '\x02\x00', '\x03\x00', "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
  "'descr'", "'fortran_order'", "'shape'", "'<f4'", "'<u4'", "'<i4'", "'<f8'", "'>f4'", "'|u1'", "'<f2'",
  'True', 'False', '()', '(0,)', '(1,)', '(3, 0)', ', ', ':', "''", '{', '}', '(', ')', 'L', ' ', '\n',
  '9007199254740991', '9007199254740992', '4294967296', "'extra': 1, ", '\u00e9', '\u2603',
];

export async function load() {
  const { decodeNpy, npyHeader } = await import('../../../dist/artifacts/npy.js');
  const { isCfError } = await import('../../../dist/errors.js');
  const fail = (why) => {
    throw new Error(`invariant: ${why}`);
  };
  const ctors = { '<f4': Float32Array, '<u4': Uint32Array, '<i4': Int32Array, '<f8': Float64Array };
  return (bytes) => {
    let a;
    try {
      a = decodeNpy(bytes, 'fuzz.npy');
    } catch (err) {
      if (!isCfError(err)) throw err;
      if (err.code !== 'ERR_CF_IO') fail(`code ${err.code}: ${err.message}`);
      if (!err.message.startsWith('fuzz.npy: invalid .npy file: ')) fail(`message does not name the source: ${err.message}`);
      if (/[\n\r]/.test(err.message)) fail(`message spans lines: ${JSON.stringify(err.message)}`);
      return;
    }
    const Ctor = ctors[a.dtype];
    if (!Ctor || !(a.data instanceof Ctor)) fail(`dtype ${a.dtype} with ${a.data?.constructor?.name}`);
    if (!a.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`shape ${a.shape}`);
    if (a.shape.reduce((x, y) => x * y, 1) !== a.data.length) fail(`shape ${a.shape} for ${a.data.length} elements`);
    if (a.data.buffer === bytes.buffer) fail('the array shares memory with the input');
    let header;
    try {
      header = npyHeader(a.dtype, a.shape);
    } catch (err) {
      if (isCfError(err)) return; // a shape too long for a version 1.0 header: a CfError, fine
      throw err;
    }
    const again = decodeNpy(Buffer.concat([header, new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength)]), 'again.npy');
    if (again.dtype !== a.dtype || again.shape.join() !== a.shape.join()) fail(`round trip: ${a.dtype} ${a.shape} -> ${again.dtype} ${again.shape}`);
    if (!Buffer.from(again.data.buffer, again.data.byteOffset, again.data.byteLength).equals(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength))) fail('round trip changed the data');
  };
}
