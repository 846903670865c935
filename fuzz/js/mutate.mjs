// Mutations of a byte string, libFuzzer/AFL style: a stack of 1-16 random edits (bit flips,
// random and "interesting" bytes and integers, inserts, deletes, copies, dictionary tokens,
// numbers swapped for edge-case numbers, splices with another corpus entry).

/** A small seeded PRNG (sfc32), so a run can be repeated with --seed. */
export function rng(seed) {
  let a = 0x9e3779b9,
    b = 0x243f6a88,
    c = 0xb7e15162,
    d = seed >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  /** An integer in [0, n). */
  const below = (n) => (n <= 0 ? 0 : next() % n);
  return { next, below, pick: (xs) => xs[below(xs.length)], chance: (p) => next() / 2 ** 32 < p };
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x20, 0x22, 0x27, 0x2c, 0x3a, 0x7b, 0x7d];
const INTERESTING_16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 0x1000000];
// Numbers as text, for configs and headers: edges of ints, doubles, u32 and safe integers.
const NUMBERS = [
  '0', '-0', '1', '-1', '0.5', '1e308', '1e400', '-1e400', '4294967295', '4294967296', '9007199254740991',
  '9007199254740993', '18446744073709551616', '.inf', '-.inf', '.nan', 'NaN', 'Infinity', '0x10', '0o17', '1_000',
  '3.4e38', '5e-324', '2e-45', '999999999999999999999',
];

export function mutator(r, dictionary, maxLen) {
  const dict = dictionary.map((t) => (typeof t === 'string' ? Buffer.from(t, 'utf8') : Buffer.from(t)));
  const numbers = NUMBERS.map((t) => Buffer.from(t));

  function randomBytes(n) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = r.chance(0.5) ? r.pick(INTERESTING_8) : r.below(256);
    return b;
  }

  function writeInt(b, size) {
    if (b.length < size) return b;
    const at = r.below(b.length - size + 1);
    const v = r.pick(size === 2 ? INTERESTING_16 : INTERESTING_32);
    const out = Buffer.from(b);
    const le = r.chance(0.5);
    if (size === 2) le ? out.writeUInt16LE(v, at) : out.writeUInt16BE(v, at);
    else le ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at);
    return out;
  }

  /** Replaces a run of ASCII digits (with sign and dot) by an edge-case number. */
  function swapNumber(b) {
    const starts = [];
    for (let i = 0; i < b.length; i++) if (b[i] >= 0x30 && b[i] <= 0x39 && (i === 0 || !(b[i - 1] >= 0x30 && b[i - 1] <= 0x39))) starts.push(i);
    if (starts.length === 0) return Buffer.concat([b, r.pick(numbers)]);
    let at = r.pick(starts);
    if (at > 0 && b[at - 1] === 0x2d) at--;
    let end = at + 1;
    while (end < b.length && ((b[end] >= 0x30 && b[end] <= 0x39) || b[end] === 0x2e || b[end] === 0x65)) end++;
    return Buffer.concat([b.subarray(0, at), r.pick(numbers), b.subarray(end)]);
  }

  function once(b, other) {
    const n = b.length;
    switch (r.below(13)) {
      case 0: { // flip a bit
        if (n === 0) return randomBytes(1);
        const out = Buffer.from(b);
        out[r.below(n)] ^= 1 << r.below(8);
        return out;
      }
      case 1: { // set a byte
        if (n === 0) return randomBytes(1);
        const out = Buffer.from(b);
        out[r.below(n)] = r.chance(0.5) ? r.pick(INTERESTING_8) : r.below(256);
        return out;
      }
      case 2:
        return writeInt(b, 2);
      case 3:
        return writeInt(b, 4);
      case 4: { // insert random bytes
        const at = r.below(n + 1);
        return Buffer.concat([b.subarray(0, at), randomBytes(1 + r.below(8)), b.subarray(at)]);
      }
      case 5: { // delete a chunk
        if (n === 0) return b;
        const at = r.below(n);
        const len = 1 + r.below(Math.min(n - at, r.chance(0.8) ? 8 : 128));
        return Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
      }
      case 6: { // copy a chunk elsewhere (insert)
        if (n === 0) return b;
        const from = r.below(n);
        const len = 1 + r.below(Math.min(n - from, 64));
        const at = r.below(n + 1);
        return Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]);
      }
      case 7: // insert a dictionary token
      case 8: {
        if (dict.length === 0) return b;
        const at = r.below(n + 1);
        return Buffer.concat([b.subarray(0, at), r.pick(dict), b.subarray(at)]);
      }
      case 9: { // overwrite with a dictionary token
        if (dict.length === 0 || n === 0) return b;
        const t = r.pick(dict);
        const at = r.below(n);
        return Buffer.concat([b.subarray(0, at), t, b.subarray(Math.min(n, at + t.length))]);
      }
      case 10:
        return swapNumber(b);
      case 11: { // splice: a prefix of this input and a suffix of another
        if (!other || other.length === 0) return b;
        return Buffer.concat([b.subarray(0, r.below(n + 1)), other.subarray(r.below(other.length))]);
      }
      default: { // repeat a byte or a line
        if (n === 0) return b;
        const at = r.below(n);
        const nl = b.indexOf(0x0a, at);
        const end = nl < 0 || r.chance(0.5) ? at + 1 : nl + 1;
        const piece = b.subarray(at, end);
        return Buffer.concat([b.subarray(0, end), ...Array(1 + r.below(r.chance(0.9) ? 4 : 64)).fill(piece), b.subarray(end)]);
      }
    }
  }

  /** A mutant of `b`; `other` is a second corpus entry for splicing. */
  return (b, other) => {
    let out = Buffer.from(b);
    const rounds = 1 << r.below(5);
    for (let i = 0; i < rounds; i++) out = once(out, other);
    return out.length > maxLen ? out.subarray(0, maxLen) : out;
  };
}
