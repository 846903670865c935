//! Command line and the request file.

use std::io;

pub struct Args {
    pub port: u16,
    pub wire: String,
    pub rate: f64,
    pub duration: f64,
    pub sockets: usize,
}

pub fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut port, mut wire, mut rate, mut duration, mut sockets) =
        (None, None, 2000.0, 10.0, 64usize);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |what: &str| {
            value
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| format!("{what} must be a positive number, got {value:?}"))
        };
        match flag.as_str() {
            "--port" => {
                port = Some(
                    value
                        .parse::<u16>()
                        .map_err(|_| format!("--port must be a port number, got {value:?}"))?,
                )
            }
            "--wire" => wire = Some(value.clone()),
            "--rate" => rate = num("--rate")?,
            "--duration" => duration = num("--duration")?,
            "--sockets" => sockets = num("--sockets")? as usize,
            _ => {
                return Err(format!(
                    "unknown option {flag:?} (--port, --wire, --rate, --duration, --sockets)"
                ))
            }
        }
    }
    let port = port.ok_or("--port is required")?;
    let wire = wire.ok_or("--wire is required")?;
    if !(1..=4096).contains(&sockets) {
        return Err(format!("--sockets must be 1-4096, got {sockets}"));
    }
    Ok(Args {
        port,
        wire,
        rate,
        duration,
        sockets,
    })
}

/// The requests' bytes: each a little-endian u32 length, then that many bytes.
pub fn read_wire(path: &str) -> io::Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path)?;
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: {why}"));
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = u32::from_le_bytes(
            bytes
                .get(at..at + 4)
                .ok_or_else(|| bad("truncated length"))?
                .try_into()
                .unwrap(),
        ) as usize;
        out.push(
            bytes
                .get(at + 4..at + 4 + len)
                .ok_or_else(|| bad("truncated request"))?
                .to_vec(),
        );
        at += 4 + len;
    }
    if out.is_empty() {
        return Err(bad("no requests"));
    }
    Ok(out)
}
