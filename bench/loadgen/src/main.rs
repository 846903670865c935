//! An open-loop load generator for bench/serve.mjs's fixed-rate latency runs.
//!
//! Request i is due at t0 + i / rate (uniform arrivals on the monotonic clock) and goes out when
//! due whatever happened to earlier ones (open loop), on the first idle keep-alive socket, one
//! request at a time per socket (HTTP/1.1, no pipelining); with none idle it waits for the next
//! answer. Its latency runs from the time it was due, so a late send is charged too (no
//! coordinated omission). Answers are read by their Content-Length (what Fastify sends).
//!
//! Why not Node: a generator written in Node on the same 2-core machine added its own tail. Its
//! event loop and garbage collector sent requests up to 6-9 ms late, and those waits were
//! counted as latency of whichever server was measured (p99 1.9-4.8 ms where this one measures
//! 0.7-1.1 ms on the same server, minutes apart). Here one thread waits in epoll on the sockets
//! and on a timerfd armed at the next due time, with a 1 ns timer slack, so it sends within
//! microseconds and sleeps otherwise.
//!
//!   cf-loadgen --port PORT --wire FILE --rate R --duration S [--sockets N]
//!
//! FILE holds the requests' bytes, each as a little-endian u32 length then that many bytes,
//! cycled in order. Prints one JSON line of results.

mod args;
mod conn;
mod stats;

use std::io;
use std::time::Instant;

use conn::{Conn, Pool};

const TIMER: u64 = u64::MAX;

fn main() {
    let a = match args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cf-loadgen: {e}");
            std::process::exit(2);
        }
    };
    match run(&a) {
        Ok(out) => println!("{out}"),
        Err(e) => {
            eprintln!("cf-loadgen: {e}");
            std::process::exit(1);
        }
    }
}

fn run(a: &args::Args) -> io::Result<String> {
    let wire = args::read_wire(&a.wire)?;
    let total = (a.rate * a.duration).round() as usize;
    // Timers wake this thread at the due time, not up to 50 us after it (the default slack).
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
    let clock = Instant::now();
    let ep = Epoll::new()?;
    let timer = Timer::new(clock)?;
    ep.add(timer.fd, TIMER, libc::EPOLLIN as u32)?;
    let mut pool = Pool::new(a.port, a.sockets);
    // All sockets before the clock starts: connecting is not what is measured.
    for slot in 0..a.sockets {
        let c = pool.connect(slot)?;
        ep.add(c.fd(), slot as u64, libc::EPOLLIN as u32)?;
    }

    let now = || clock.elapsed().as_nanos() as i64;
    let t0 = now() + 200_000_000;
    let due = |i: usize| t0 + (i as f64 * 1e9 / a.rate) as i64;
    let end_by = t0 + ((a.duration + 30.0) * 1e9) as i64;

    let mut latency = vec![-1i64; total];
    let mut service = vec![-1i64; total];
    let mut queued = std::collections::VecDeque::new();
    let (mut sent, mut done, mut errors, mut non2xx, mut max_lag) =
        (0usize, 0usize, 0usize, 0usize, 0i64);
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 128];

    while done < total {
        let t = now();
        if t > end_by {
            break;
        }
        while sent < total && due(sent) <= t {
            max_lag = max_lag.max(t - due(sent));
            match pool.idle.pop() {
                Some(slot) => {
                    if pool.conns[slot]
                        .send(sent, due(sent), &wire, now())
                        .is_err()
                    {
                        errors += 1;
                        done += 1;
                    }
                }
                None => queued.push_back(sent),
            }
            sent += 1;
        }
        if sent < total {
            timer.arm_at(due(sent))?;
        }
        let n = ep.wait(&mut events, 1000)?;
        for ev in &events[..n] {
            if ev.u64 == TIMER {
                timer.drain();
                continue;
            }
            let slot = ev.u64 as usize;
            let mut answers = Vec::new();
            let closed = pool.conns[slot].read_answers(&mut answers);
            for status in answers {
                let c = &mut pool.conns[slot];
                let t = now();
                if let Some((i, due_at, start)) = c.finish() {
                    latency[i] = t - due_at;
                    service[i] = t - start;
                    if !(200..300).contains(&status) {
                        non2xx += 1;
                    }
                    done += 1;
                }
                if let Some(j) = queued.pop_front() {
                    if c.send(j, due(j), &wire, now()).is_err() {
                        errors += 1;
                        done += 1;
                    }
                } else {
                    pool.idle.push(slot);
                }
            }
            if closed {
                // The request in flight is lost; one waiting gets the reconnected socket.
                if pool.conns[slot].finish().is_some() {
                    errors += 1;
                    done += 1;
                }
                ep.del(pool.conns[slot].fd());
                pool.idle.retain(|&s| s != slot);
                if done < total {
                    let c = pool.connect(slot)?;
                    ep.add(c.fd(), slot as u64, libc::EPOLLIN as u32)?;
                    match queued.pop_front() {
                        Some(j) => {
                            if pool.conns[slot].send(j, due(j), &wire, now()).is_err() {
                                errors += 1;
                                done += 1;
                            }
                        }
                        None => pool.idle.push(slot),
                    }
                }
            }
        }
    }
    let elapsed = (now() - t0) as f64 / 1e9;
    let answered = done - errors;
    Ok(format!(
        "{{\"rate\":{},\"requests\":{total},\"answered\":{answered},\"unanswered\":{},\"errors\":{errors},\"non2xx\":{non2xx},\"achievedRate\":{:.1},\"maxSendLagMs\":{:.3},\"latencyMs\":{},\"serviceMs\":{}}}",
        a.rate,
        total - done,
        answered as f64 / elapsed,
        max_lag as f64 / 1e6,
        stats::percentiles(&latency),
        stats::percentiles(&service),
    ))
}

struct Epoll(i32);

impl Epoll {
    fn new() -> io::Result<Self> {
        cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map(Epoll)
    }
    fn add(&self, fd: i32, key: u64, events: u32) -> io::Result<()> {
        let mut e = libc::epoll_event { events, u64: key };
        cvt(unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_ADD, fd, &mut e) }).map(|_| ())
    }
    fn del(&self, fd: i32) {
        unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
    }
    fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
        loop {
            let n = unsafe {
                libc::epoll_wait(self.0, events.as_mut_ptr(), events.len() as i32, timeout_ms)
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// A timerfd on CLOCK_MONOTONIC, armed at times on the run's clock (ns since an `Instant`).
struct Timer {
    fd: i32,
    /// CLOCK_MONOTONIC, in ns, at the run clock's zero.
    zero: i64,
}

impl Timer {
    fn new(clock: Instant) -> io::Result<Self> {
        let fd = cvt(unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        })?;
        // Instant reads CLOCK_MONOTONIC on Linux: tie the two clocks together once.
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        let zero = ts.tv_sec * 1_000_000_000 + ts.tv_nsec - clock.elapsed().as_nanos() as i64;
        Ok(Timer { fd, zero })
    }
    /// Fires when the run's clock reaches `at`.
    fn arm_at(&self, at: i64) -> io::Result<()> {
        let abs = self.zero + at;
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: abs / 1_000_000_000,
                tv_nsec: abs % 1_000_000_000,
            },
        };
        cvt(unsafe {
            libc::timerfd_settime(
                self.fd,
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        })
        .map(|_| ())
    }
    fn drain(&self) {
        let mut x = 0u64;
        unsafe { libc::read(self.fd, &mut x as *mut u64 as *mut libc::c_void, 8) };
    }
}

fn cvt(r: i32) -> io::Result<i32> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Conn {
    fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.sock.as_raw_fd()
    }
}
