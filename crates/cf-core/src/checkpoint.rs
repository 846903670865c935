//! A fit's state between two iterations (a checkpoint), as bytes and back.
//!
//! Iterative models (ALS, BPR, mf) give what their next iteration reads: factors, optimiser
//! moments, the best epoch kept for early stopping, counters. Everything else a fit draws is
//! derived from (seed, iteration), so a model rebuilt from this state and fitted on continues
//! bit for bit as the uninterrupted fit would. The encoding is little-endian with a magic, a
//! version, the model type and a CRC-32 over everything before it: a torn or foreign file is
//! refused, never resumed from.

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"CFCKPT\0\0";
const VERSION: u32 = 1;

/// One array of a state, in the type its model keeps it.
#[derive(Clone, Debug, PartialEq)]
pub enum StateData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    U32(Vec<u32>),
    U64(Vec<u64>),
}

impl StateData {
    fn tag(&self) -> u8 {
        match self {
            StateData::F32(_) => 1,
            StateData::F64(_) => 2,
            StateData::U32(_) => 3,
            StateData::U64(_) => 4,
        }
    }
    fn len(&self) -> usize {
        match self {
            StateData::F32(v) => v.len(),
            StateData::F64(v) => v.len(),
            StateData::U32(v) => v.len(),
            StateData::U64(v) => v.len(),
        }
    }
    fn type_name(tag: u8) -> &'static str {
        match tag {
            1 => "f32",
            2 => "f64",
            3 => "u32",
            _ => "u64",
        }
    }
}

/// The state of one model's fit: its type and named arrays (scalars are arrays of one).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    pub model_type: String,
    pub arrays: Vec<(String, StateData)>,
}

impl TrainState {
    pub fn new(model_type: &str) -> Self {
        TrainState {
            model_type: model_type.to_string(),
            arrays: Vec::new(),
        }
    }

    pub fn push(&mut self, name: &str, data: StateData) -> &mut Self {
        self.arrays.push((name.to_string(), data));
        self
    }

    pub fn push_u64(&mut self, name: &str, v: u64) -> &mut Self {
        self.push(name, StateData::U64(vec![v]))
    }

    pub fn has(&self, name: &str) -> bool {
        self.arrays.iter().any(|(n, _)| n == name)
    }

    fn take(&mut self, name: &str) -> Result<StateData> {
        let pos = self
            .arrays
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| {
                Error::Data(format!(
                    "checkpoint: the {} state has no array {name}",
                    self.model_type
                ))
            })?;
        Ok(self.arrays.swap_remove(pos).1)
    }

    fn wrong(&self, name: &str, found: &StateData, want: &str, len: Option<usize>) -> Error {
        Error::Data(format!(
            "checkpoint: array {name} of the {} state holds {} {} values where this model and data need {} {want}: was it saved with other params or other data?",
            self.model_type,
            found.len(),
            StateData::type_name(found.tag()),
            len.map_or_else(|| "some".to_string(), |l| l.to_string())
        ))
    }

    /// The f32 array `name` of exactly `len` values.
    pub fn take_f32(&mut self, name: &str, len: usize) -> Result<Vec<f32>> {
        match self.take(name)? {
            StateData::F32(v) if v.len() == len => Ok(v),
            other => Err(self.wrong(name, &other, "f32", Some(len))),
        }
    }

    pub fn take_f64(&mut self, name: &str, len: usize) -> Result<Vec<f64>> {
        match self.take(name)? {
            StateData::F64(v) if v.len() == len => Ok(v),
            other => Err(self.wrong(name, &other, "f64", Some(len))),
        }
    }

    pub fn take_u32(&mut self, name: &str, len: usize) -> Result<Vec<u32>> {
        match self.take(name)? {
            StateData::U32(v) if v.len() == len => Ok(v),
            other => Err(self.wrong(name, &other, "u32", Some(len))),
        }
    }

    /// The scalar `name` (a u64 array of one), as a usize.
    pub fn take_count(&mut self, name: &str) -> Result<usize> {
        match self.take(name)? {
            StateData::U64(v) if v.len() == 1 => usize::try_from(v[0]).map_err(|_| {
                Error::Data(format!("checkpoint: {name} = {} does not fit here", v[0]))
            }),
            other => Err(self.wrong(name, &other, "u64", Some(1))),
        }
    }

    /// Refuses a state of another model type, before anything is rebuilt from it.
    pub fn expect_type(&self, model_type: &str) -> Result<()> {
        if self.model_type != model_type {
            return Err(Error::Data(format!(
                "checkpoint: the state is of a {} model, not {model_type}",
                self.model_type
            )));
        }
        Ok(())
    }

    pub fn encode(&self) -> Vec<u8> {
        let body: usize = self
            .arrays
            .iter()
            .map(|(n, d)| 4 + n.len() + 1 + 8 + d.len() * 8)
            .sum();
        let mut out = Vec::with_capacity(8 + 4 + 4 + self.model_type.len() + 4 + body + 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        put_str(&mut out, &self.model_type);
        out.extend_from_slice(&(self.arrays.len() as u32).to_le_bytes());
        for (name, data) in &self.arrays {
            put_str(&mut out, name);
            out.push(data.tag());
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            match data {
                StateData::F32(v) => v
                    .iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                StateData::F64(v) => v
                    .iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                StateData::U32(v) => v
                    .iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                StateData::U64(v) => v
                    .iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// `bytes` as written by `encode`; anything else (torn, altered, another format or
    /// version) is an error naming what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let bad = |what: String| Error::Data(format!("checkpoint: {what}"));
        if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("not a cf-native checkpoint (no CFCKPT header)".into()));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        let want = u32::from_le_bytes(tail.try_into().unwrap());
        if crc32fast::hash(body) != want {
            return Err(bad(
                "the file is damaged or incomplete (checksum mismatch)".into()
            ));
        }
        let mut r = Reader {
            b: body,
            at: MAGIC.len(),
        };
        let version = r.u32()?;
        if version != VERSION {
            return Err(bad(format!(
                "format version {version}; this build reads version {VERSION}"
            )));
        }
        let model_type = r.str()?;
        let n = r.u32()? as usize;
        let mut arrays = Vec::new();
        for _ in 0..n {
            let name = r.str()?;
            let tag = r.byte()?;
            let len = usize::try_from(r.u64()?).map_err(|_| bad(format!("{name}: length")))?;
            let width = match tag {
                1 | 3 => 4,
                2 | 4 => 8,
                t => return Err(bad(format!("{name}: unknown element type {t}"))),
            };
            let raw = r.bytes(
                len.checked_mul(width)
                    .ok_or_else(|| bad(format!("{name}: length {len} overflows")))?,
            )?;
            let data = match tag {
                1 => StateData::F32(
                    raw.chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                ),
                2 => StateData::F64(
                    raw.chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                ),
                3 => StateData::U32(
                    raw.chunks_exact(4)
                        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                ),
                _ => StateData::U64(
                    raw.chunks_exact(8)
                        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                ),
            };
            arrays.push((name, data));
        }
        if r.at != body.len() {
            return Err(bad(format!(
                "{} bytes after the last array",
                body.len() - r.at
            )));
        }
        Ok(TrainState { model_type, arrays })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(Error::Data(format!(
                "checkpoint: ends inside a field at byte {} (needs {n} more)",
                self.at
            )));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn byte(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.bytes(8)?.try_into().unwrap()))
    }
    fn str(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| Error::Data("checkpoint: a name is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TrainState {
        let mut s = TrainState::new("bpr");
        s.push("a", StateData::F32(vec![1.5, -0.0, f32::MIN_POSITIVE]))
            .push("b", StateData::F64(vec![std::f64::consts::PI]))
            .push("c", StateData::U32(vec![7, u32::MAX]))
            .push_u64("n", 42);
        s
    }

    #[test]
    fn round_trips_every_type_bit_for_bit() {
        let s = sample();
        let back = TrainState::decode(&s.encode()).unwrap();
        assert_eq!(back, s);
        let mut back = back;
        assert_eq!(back.take_count("n").unwrap(), 42);
        assert_eq!(back.take_u32("c", 2).unwrap(), vec![7, u32::MAX]);
        let a = back.take_f32("a", 3).unwrap();
        assert_eq!(a[1].to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn refuses_torn_altered_and_foreign_bytes() {
        let b = sample().encode();
        for cut in [0, 5, 12, b.len() / 2, b.len() - 1] {
            let e = TrainState::decode(&b[..cut]).unwrap_err().to_string();
            assert!(e.contains("checkpoint"), "{e}");
        }
        let mut flipped = b.clone();
        flipped[20] ^= 1;
        assert!(TrainState::decode(&flipped)
            .unwrap_err()
            .to_string()
            .contains("damaged"));
        assert!(TrainState::decode(b"PK\x03\x04 not ours at all")
            .unwrap_err()
            .to_string()
            .contains("not a cf-native checkpoint"));
    }

    #[test]
    fn wrong_shape_type_or_model_is_named() {
        let mut s = sample();
        assert!(s
            .expect_type("als")
            .unwrap_err()
            .to_string()
            .contains("bpr"));
        let e = s.take_f32("a", 4).unwrap_err().to_string();
        assert!(
            e.contains("array a") && e.contains("holds 3 f32 values") && e.contains("need 4 f32"),
            "{e}"
        );
        let e = s.take_f32("b", 1).unwrap_err().to_string();
        assert!(e.contains("f64"), "{e}");
        let e = s.take_f32("zz", 1).unwrap_err().to_string();
        assert!(e.contains("no array zz"), "{e}");
    }
}
