//! Keep-alive connections carrying one request at a time, and the answers read off them.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};

pub struct Conn {
    pub sock: TcpStream,
    /// The request in flight: its index, due time and send time (ns on the run's clock).
    inflight: Option<(usize, i64, i64)>,
    buf: Vec<u8>,
}

pub struct Pool {
    addr: SocketAddrV4,
    pub conns: Vec<Conn>,
    pub idle: Vec<usize>,
}

impl Pool {
    pub fn new(port: u16, sockets: usize) -> Pool {
        Pool {
            addr: SocketAddrV4::new(Ipv4Addr::LOCALHOST, port),
            conns: Vec::with_capacity(sockets),
            idle: Vec::with_capacity(sockets),
        }
    }

    /// Opens the socket of `slot` (a new one, or a replacement for one the server closed).
    pub fn connect(&mut self, slot: usize) -> io::Result<&Conn> {
        let sock = TcpStream::connect(self.addr)?;
        sock.set_nodelay(true)?;
        sock.set_nonblocking(true)?;
        let c = Conn {
            sock,
            inflight: None,
            buf: Vec::with_capacity(4096),
        };
        if slot < self.conns.len() {
            self.conns[slot] = c;
        } else {
            self.conns.push(c);
            self.idle.push(slot);
        }
        Ok(&self.conns[slot])
    }
}

impl Conn {
    /// Writes request `i` (due at `due`) whole. A request is at most a few kB and the socket
    /// carries nothing else, so the kernel's send buffer takes it at once; if it ever does not,
    /// the request is counted as an error rather than waited for.
    pub fn send(&mut self, i: usize, due: i64, wire: &[Vec<u8>], now: i64) -> io::Result<()> {
        self.inflight = Some((i, due, now));
        let bytes = &wire[i % wire.len()];
        match self.sock.write(bytes) {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(_) => Err(io::Error::new(io::ErrorKind::WriteZero, "partial write")),
            Err(e) => Err(e),
        }
        .inspect_err(|_| self.inflight = None)
    }

    /// The request answered or lost: (index, due, sent).
    pub fn finish(&mut self) -> Option<(usize, i64, i64)> {
        self.inflight.take()
    }

    /// Reads what the socket holds and appends the status of every whole answer (a head, then
    /// Content-Length bytes). True when the server closed the connection or it failed.
    pub fn read_answers(&mut self, statuses: &mut Vec<u16>) -> bool {
        let mut chunk = [0u8; 16384];
        let closed = loop {
            match self.sock.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        let mut at = 0;
        while let Some((status, len)) = parse_answer(&self.buf[at..]) {
            statuses.push(status);
            at += len;
        }
        self.buf.drain(..at);
        closed
    }
}

/// The status and whole length of the answer at the start of `buf`, once all of it is there.
fn parse_answer(buf: &[u8]) -> Option<(u16, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let body = head
        .split("\r\n")
        .skip(1)
        .find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let len = end + 4 + body;
    (buf.len() >= len).then_some((status, len))
}

#[cfg(test)]
mod tests {
    use super::parse_answer;

    #[test]
    fn answers_are_read_by_their_length() {
        let a = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 404";
        assert_eq!(parse_answer(a), Some((200, a.len() - 12)));
        assert_eq!(
            parse_answer(&a[..a.len() - 14]),
            None,
            "body not all there yet"
        );
        assert_eq!(
            parse_answer(b"HTTP/1.1 204 No Content\r\n\r\n"),
            Some((204, 27))
        );
    }
}
