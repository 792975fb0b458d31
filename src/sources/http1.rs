//! The probes' own plain-HTTP client: one GET, its answer read up to a cap,
//! on connections kept per host and port.
//!
//! Why not reqwest here: at 10,000 endpoints a second its layers (the URL
//! turned into a URI, the pool's hashing and locks, a task and a channel per
//! connection, services, boxed bodies) were three quarters of the probes'
//! CPU (docs/BENCHMARKS.md). A health probe needs much less: a request
//! written once, in one call, and an answer read into one buffer. reqwest
//! still does what this does not: TLS, proxies, credentials in the URL and
//! redirects (`probe::Prober` decides which goes where).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::{Host, Url};

/// A kept connection unused this long is closed (reqwest's pool did the same).
const IDLE: Duration = Duration::from_secs(30);

/// An answer's head larger than this is not a health answer.
const HEAD_CAP: usize = 64 * 1024;

/// Headers read from an answer, at most.
const HEADERS: usize = 64;

/// Bytes asked of the socket in one read.
const READ: usize = 4 * 1024;

/// A GET to a plain-HTTP URL, ready to write in one call.
pub struct Request {
    /// `host:port`: connections are kept per key.
    key: String,
    host: Host<String>,
    port: u16,
    bytes: Vec<u8>,
}

impl fmt::Debug for Request {
    // The bytes hold the endpoint's headers: tokens, passwords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request").field("to", &self.key).finish()
    }
}

impl Request {
    /// `None` for what this client does not do: anything but `http`, and
    /// credentials in the URL (reqwest turns those into a header).
    pub fn new(url: &Url, headers: &HeaderMap, defaults: &[(&str, &str)]) -> Option<Request> {
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        let host = url.host()?.to_owned();
        let port = url.port_or_known_default()?;
        // `host_str` keeps an IPv6 address's brackets, as Host wants them.
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str()?),
            None => url.host_str()?.to_string(),
        };
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(b"GET ");
        bytes.extend_from_slice(url.path().as_bytes());
        if let Some(q) = url.query() {
            bytes.push(b'?');
            bytes.extend_from_slice(q.as_bytes());
        }
        bytes.extend_from_slice(b" HTTP/1.1\r\n");
        let mut line = |name: &[u8], value: &[u8]| {
            bytes.extend_from_slice(name);
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"\r\n");
        };
        if !headers.contains_key(reqwest::header::HOST) {
            line(b"host", authority.as_bytes());
        }
        for (name, value) in headers {
            line(name.as_str().as_bytes(), value.as_bytes());
        }
        for (name, value) in defaults {
            if !headers.contains_key(*name) {
                line(name.as_bytes(), value.as_bytes());
            }
        }
        bytes.extend_from_slice(b"\r\n");
        Some(Request {
            key: format!("{}:{port}", url.host_str()?),
            host,
            port,
            bytes,
        })
    }
}

/// A health answer, its body read up to the cap.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// There was more body than the cap.
    pub truncated: bool,
    /// A redirect to follow (a 301, 302, 303, 307 or 308 with a Location).
    pub redirect: bool,
}

/// Why there is no answer.
#[derive(Debug)]
pub enum Failure {
    /// The name did not resolve.
    Dns(io::Error),
    /// No connection: refused, unreachable.
    Connect(io::Error),
    /// Connected, and the connection ended before a byte of answer.
    Unanswered(String),
    /// The connection ended, or failed, before the answer was whole.
    Cut(String),
    /// What came back is not an HTTP/1 answer.
    Invalid(String),
}

/// Connections kept open between probes, per host and port. Most recently
/// used first: a steady load keeps reusing the same few, and the rest age out.
#[derive(Debug, Default)]
pub struct Pool {
    idle: Mutex<HashMap<String, VecDeque<(TcpStream, Instant)>>>,
}

impl Pool {
    fn take(&self, key: &str) -> Option<TcpStream> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let kept = idle.get_mut(key)?;
        while let Some((stream, since)) = kept.pop_back() {
            // The newest is the freshest: when it is stale, they all are.
            if since.elapsed() >= IDLE {
                kept.clear();
                return None;
            }
            if idle_and_open(&stream) {
                return Some(stream);
            }
        }
        None
    }

    fn put(&self, key: &str, stream: TcpStream) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let kept = match idle.get_mut(key) {
            Some(kept) => kept,
            None => idle.entry(key.to_string()).or_default(),
        };
        // The oldest are at the front: close those past their time.
        while kept
            .front()
            .is_some_and(|(_, since)| now.duration_since(*since) >= IDLE)
        {
            kept.pop_front();
        }
        kept.push_back((stream, now));
    }

    /// Connections kept now, over all hosts.
    pub fn kept(&self) -> usize {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.values().map(VecDeque::len).sum()
    }
}

/// A kept connection the server has neither closed nor written to since
/// its last answer. Some servers say "408" before they close an idle
/// connection: read as the next probe's answer, that would be a failure
/// the endpoint never had. Free while the connection is quiet (tokio knows
/// it has had nothing to read, and makes no call).
fn idle_and_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Send `request` and read the answer, its body up to `cap` bytes. `head`
/// gets the status as soon as the answer's head is in, so that a timeout
/// can say whether it was the body that did not come.
pub async fn get(
    pool: &Pool,
    request: &Request,
    cap: usize,
    head: &mut Option<u16>,
) -> Result<Answer, Failure> {
    if let Some(stream) = pool.take(&request.key) {
        match exchange(stream, request, cap, head).await {
            Ok((answer, kept)) => return Ok(keep(pool, request, answer, kept)),
            // Servers close idle connections when they like; the request
            // was not answered, so it is sent once more, on a new one.
            Err(Exchange::Unanswered(_)) => {}
            Err(Exchange::Failed(f)) => return Err(f),
        }
    }
    let stream = connect(request).await?;
    match exchange(stream, request, cap, head).await {
        Ok((answer, kept)) => Ok(keep(pool, request, answer, kept)),
        Err(Exchange::Unanswered(why)) => Err(Failure::Unanswered(why)),
        Err(Exchange::Failed(f)) => Err(f),
    }
}

fn keep(pool: &Pool, request: &Request, answer: Answer, kept: Option<TcpStream>) -> Answer {
    if let Some(stream) = kept {
        pool.put(&request.key, stream);
    }
    answer
}

async fn connect(request: &Request) -> Result<TcpStream, Failure> {
    let addrs: Vec<SocketAddr> = match &request.host {
        Host::Ipv4(ip) => vec![SocketAddr::from((*ip, request.port))],
        Host::Ipv6(ip) => vec![SocketAddr::from((*ip, request.port))],
        Host::Domain(name) => tokio::net::lookup_host((name.as_str(), request.port))
            .await
            .map_err(Failure::Dns)?
            .collect(),
    };
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // A probe is one small write: never hold it back.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => Failure::Connect(e),
        None => Failure::Dns(io::Error::new(
            io::ErrorKind::NotFound,
            "the name has no address",
        )),
    })
}

enum Exchange {
    /// Not a byte of answer: the connection was closed or broken first.
    Unanswered(String),
    Failed(Failure),
}

impl From<Failure> for Exchange {
    fn from(f: Failure) -> Self {
        Exchange::Failed(f)
    }
}

/// What an answer's head says, as far as a probe cares.
struct Head {
    status: u16,
    /// HTTP/1.1 (1) or HTTP/1.0 (0).
    version: u8,
    content_type: Option<String>,
    content_length: Option<u64>,
    /// A Transfer-Encoding was given, and whether it ends in chunked.
    transfer: Option<bool>,
    close: bool,
    location: bool,
}

impl Head {
    fn read(r: &httparse::Response<'_, '_>) -> Result<Head, Failure> {
        let mut head = Head {
            status: r.code.unwrap_or(0),
            version: r.version.unwrap_or(0),
            content_type: None,
            content_length: None,
            transfer: None,
            close: false,
            location: false,
        };
        for h in r.headers.iter() {
            let value = String::from_utf8_lossy(h.value);
            let value = value.trim();
            let name = h.name;
            if name.eq_ignore_ascii_case("content-type") {
                head.content_type = Some(value.to_string());
            } else if name.eq_ignore_ascii_case("content-length") {
                // Some servers repeat it, in one header or in several; the
                // same length any number of times is one length.
                for part in value.split(',') {
                    let n: u64 = part
                        .trim()
                        .parse()
                        .map_err(|_| Failure::Invalid(format!("Content-Length {value:?}")))?;
                    if head.content_length.is_some_and(|m| m != n) {
                        return Err(Failure::Invalid("two different Content-Lengths".into()));
                    }
                    head.content_length = Some(n);
                }
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                let last = value.rsplit(',').next().unwrap_or("").trim();
                head.transfer = Some(last.eq_ignore_ascii_case("chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                head.close |= value
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("close"));
            } else if name.eq_ignore_ascii_case("location") {
                head.location = true;
            }
        }
        Ok(head)
    }

    /// How the body ends (RFC 9112, section 6.3).
    fn framing(&self) -> Framing {
        match (self.status, self.transfer, self.content_length) {
            (204 | 304, _, _) => Framing::Length(0),
            (_, Some(true), _) => Framing::Chunked,
            (_, Some(false), _) => Framing::Close,
            (_, None, Some(n)) => Framing::Length(n),
            (_, None, None) => Framing::Close,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    /// The body is whatever comes until the server closes.
    Close,
}

/// A connection (any reader, in tests) and the bytes read from it but not
/// yet used.
struct Wire<S> {
    stream: S,
    buf: Vec<u8>,
    at: usize,
}

impl<S: AsyncRead + Unpin> Wire<S> {
    fn unread(&self) -> &[u8] {
        &self.buf[self.at..]
    }

    fn used(&mut self, n: usize) {
        self.at += n;
    }

    /// Read more; `Ok(0)` when the server has closed.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        }
        self.buf.reserve(READ);
        self.stream.read_buf(&mut self.buf).await
    }

    /// Read more, or say how the answer was cut.
    async fn more(&mut self) -> Result<(), Failure> {
        match self.fill().await {
            Ok(0) => Err(Failure::Cut("connection closed".into())),
            Ok(_) => Ok(()),
            Err(e) => Err(Failure::Cut(e.to_string())),
        }
    }
}

/// One request and its answer; the connection back when it can carry
/// another.
async fn exchange(
    mut stream: TcpStream,
    request: &Request,
    cap: usize,
    got: &mut Option<u16>,
) -> Result<(Answer, Option<TcpStream>), Exchange> {
    if let Err(e) = stream.write_all(&request.bytes).await {
        return Err(Exchange::Unanswered(e.to_string()));
    }
    let mut wire = Wire {
        stream,
        buf: Vec::with_capacity(READ),
        at: 0,
    };
    let (answer, reusable) = answer(&mut wire, cap, got).await?;
    Ok((answer, reusable.then_some(wire.stream)))
}

/// The answer read from `stream` (what a server sent, however it is cut
/// into reads), its body up to `cap`: what the probes' answer parsing makes
/// of any bytes. For the tests and the fuzz target (`scripts/fuzz http1`).
pub async fn read_answer<S: AsyncRead + Unpin>(stream: S, cap: usize) -> Result<Answer, Failure> {
    let mut wire = Wire {
        stream,
        buf: Vec::with_capacity(READ),
        at: 0,
    };
    match answer(&mut wire, cap, &mut None).await {
        Ok((a, _)) => Ok(a),
        Err(Exchange::Unanswered(why)) => Err(Failure::Unanswered(why)),
        Err(Exchange::Failed(f)) => Err(f),
    }
}

/// Bytes handed out `step` at a time, as a slow or fragmenting network
/// would (tests and the fuzz target: each read ends at a new place).
pub struct Pieces<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl<'a> Pieces<'a> {
    pub fn new(bytes: &'a [u8], step: usize) -> Self {
        Pieces {
            bytes,
            step: step.max(1),
        }
    }
}

impl AsyncRead for Pieces<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let n = self.step.min(self.bytes.len()).min(buf.remaining());
        let (now, later) = self.bytes.split_at(n);
        buf.put_slice(now);
        self.bytes = later;
        std::task::Poll::Ready(Ok(()))
    }
}

/// The answer on `wire`, and whether the connection can carry another.
async fn answer<S: AsyncRead + Unpin>(
    wire: &mut Wire<S>,
    cap: usize,
    got: &mut Option<u16>,
) -> Result<(Answer, bool), Exchange> {
    let head = loop {
        if !wire.unread().is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; HEADERS];
            let mut r = httparse::Response::new(&mut headers);
            match r.parse(wire.unread()) {
                Ok(httparse::Status::Complete(len)) => {
                    let head = Head::read(&r)?;
                    wire.used(len);
                    // 100 Continue, 103 Early Hints: the answer follows.
                    if (100..200).contains(&head.status) {
                        continue;
                    }
                    break head;
                }
                Ok(httparse::Status::Partial) if wire.unread().len() > HEAD_CAP => {
                    return Err(Failure::Invalid("a head of over 64 KiB".into()).into());
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(Failure::Invalid(e.to_string()).into()),
            }
        }
        let nothing = wire.buf.is_empty();
        match wire.fill().await {
            Ok(n) if n > 0 => {}
            Ok(_) if nothing => {
                return Err(Exchange::Unanswered(
                    "connection closed before an answer".into(),
                ));
            }
            Err(e) if nothing => return Err(Exchange::Unanswered(e.to_string())),
            Ok(_) => return Err(Failure::Cut("connection closed in the head".into()).into()),
            Err(e) => return Err(Failure::Cut(e.to_string()).into()),
        }
    };
    *got = Some(head.status);
    let framing = head.framing();
    let mut body = Vec::new();
    let whole = match framing {
        Framing::Length(n) => length(wire, n, cap, &mut body).await?,
        Framing::Chunked => chunked(wire, cap, &mut body).await?,
        Framing::Close => until_closed(wire, cap, &mut body).await?,
    };
    let reusable = whole
        && framing != Framing::Close
        && head.version == 1
        && !head.close
        && wire.unread().is_empty();
    let answer = Answer {
        status: head.status,
        content_type: head.content_type,
        body,
        truncated: !whole,
        redirect: head.location && matches!(head.status, 301 | 302 | 303 | 307 | 308),
    };
    Ok((answer, reusable))
}

/// Add `bytes` to the body within the cap; false when they did not fit.
fn take(body: &mut Vec<u8>, bytes: &[u8], cap: usize) -> bool {
    let room = cap.saturating_sub(body.len());
    body.extend_from_slice(&bytes[..bytes.len().min(room)]);
    bytes.len() <= room
}

/// A body of `n` bytes. Ok(false) when it passed the cap (the rest unread).
async fn length<S: AsyncRead + Unpin>(
    wire: &mut Wire<S>,
    n: u64,
    cap: usize,
    body: &mut Vec<u8>,
) -> Result<bool, Failure> {
    let mut left = n;
    while left > 0 {
        if wire.unread().is_empty() {
            wire.more().await?;
        }
        let here = wire
            .unread()
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        if !take(body, &wire.unread()[..here], cap) {
            return Ok(false);
        }
        wire.used(here);
        left -= here as u64;
    }
    Ok(true)
}

/// A chunked body, its trailers skipped.
async fn chunked<S: AsyncRead + Unpin>(
    wire: &mut Wire<S>,
    cap: usize,
    body: &mut Vec<u8>,
) -> Result<bool, Failure> {
    loop {
        let size = loop {
            match httparse::parse_chunk_size(wire.unread()) {
                Ok(httparse::Status::Complete((used, size))) => {
                    wire.used(used);
                    break size;
                }
                Ok(httparse::Status::Partial) if wire.unread().len() > 1024 => {
                    return Err(Failure::Invalid("a chunk size line of over 1 KiB".into()));
                }
                Ok(httparse::Status::Partial) => wire.more().await?,
                Err(_) => return Err(Failure::Invalid("a chunk size that is not one".into())),
            }
        };
        if size == 0 {
            // Trailers, a line each, until an empty line.
            let mut read = 0;
            loop {
                match wire.unread().windows(2).position(|w| w == b"\r\n") {
                    Some(0) => {
                        wire.used(2);
                        return Ok(true);
                    }
                    Some(end) => {
                        read += end + 2;
                        wire.used(end + 2);
                    }
                    None if read + wire.unread().len() > HEAD_CAP => {
                        return Err(Failure::Invalid("trailers of over 64 KiB".into()));
                    }
                    None => wire.more().await?,
                }
            }
        }
        if !length(wire, size, cap, body).await? {
            return Ok(false);
        }
        while wire.unread().len() < 2 {
            wire.more().await?;
        }
        if &wire.unread()[..2] != b"\r\n" {
            return Err(Failure::Invalid("a chunk longer than its size".into()));
        }
        wire.used(2);
    }
}

/// A body that ends when the server closes.
async fn until_closed<S: AsyncRead + Unpin>(
    wire: &mut Wire<S>,
    cap: usize,
    body: &mut Vec<u8>,
) -> Result<bool, Failure> {
    loop {
        let here = wire.unread().len();
        if !take(body, wire.unread(), cap) {
            return Ok(false);
        }
        wire.used(here);
        match wire.fill().await {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) => return Err(Failure::Cut(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `raw` read whole, and cut into reads of 1, 2, 3 and 7 bytes: every
    /// cut gives the same result.
    async fn read(raw: &[u8], cap: usize) -> Result<Answer, Failure> {
        let whole = read_answer(raw, cap).await;
        for step in [1, 2, 3, 7] {
            let cut = read_answer(Pieces::new(raw, step), cap).await;
            assert_eq!(
                format!("{cut:?}"),
                format!("{whole:?}"),
                "read {step} bytes at a time"
            );
        }
        whole
    }

    fn invalid(r: Result<Answer, Failure>) -> String {
        match r {
            Err(Failure::Invalid(why)) => why,
            other => panic!("not refused as invalid: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_body_by_its_length_and_its_type() {
        let a = read(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}",
            1024,
        )
        .await
        .unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(a.content_type.as_deref(), Some("application/json"));
        assert_eq!(a.body, b"{\"status\":\"ok\"}");
        assert!(!a.truncated && !a.redirect);
        // The same length repeated is one length; two lengths are a lie.
        let a = read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok",
            64,
        )
        .await
        .unwrap();
        assert_eq!(a.body, b"ok");
        let why = invalid(
            read(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
                64,
            )
            .await,
        );
        assert_eq!(why, "two different Content-Lengths");
        assert!(
            invalid(read(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 64).await)
                .contains("Content-Length")
        );
    }

    #[tokio::test]
    async fn chunks_with_extensions_and_trailers() {
        let a = read(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Checked: yes\r\nX-More: 2\r\n\r\n",
            1024,
        )
        .await
        .unwrap();
        assert_eq!(a.body, b"Wikipedia");
        assert!(!a.truncated);
        assert_eq!(
            invalid(
                read(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
                    64
                )
                .await
            ),
            "a chunk longer than its size"
        );
        assert_eq!(
            invalid(
                read(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    64
                )
                .await
            ),
            "a chunk size that is not one"
        );
        let long_size = [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;".as_slice(),
            &[b'x'; 2000],
        ]
        .concat();
        assert_eq!(
            invalid(read(&long_size, 64).await),
            "a chunk size line of over 1 KiB"
        );
        let trailers = [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".as_slice(),
            &b"X-Pad: ".repeat(10_000),
        ]
        .concat();
        assert_eq!(
            invalid(read_answer(trailers.as_slice(), 64).await),
            "trailers of over 64 KiB"
        );
    }

    #[tokio::test]
    async fn the_cap_keeps_what_fits_and_says_there_was_more() {
        let a = read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
            4,
        )
        .await
        .unwrap();
        assert_eq!(a.body, b"0123");
        assert!(a.truncated);
        let a = read(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n0\r\n\r\n",
            4,
        )
        .await
        .unwrap();
        assert_eq!(a.body, b"0123");
        assert!(a.truncated);
    }

    #[tokio::test]
    async fn interim_answers_no_body_and_bodies_until_close() {
        let a = read(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown", 64)
            .await
            .unwrap();
        assert_eq!((a.status, a.body.as_slice()), (503, b"down".as_slice()));
        let a = read(b"HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n", 64)
            .await
            .unwrap();
        assert!(a.body.is_empty() && !a.truncated);
        let a = read(b"HTTP/1.0 200 OK\r\n\r\nuntil the end", 64)
            .await
            .unwrap();
        assert_eq!(a.body, b"until the end");
        let a = read(
            b"HTTP/1.1 302 Found\r\nLocation: /health/\r\nContent-Length: 0\r\n\r\n",
            64,
        )
        .await
        .unwrap();
        assert!(a.redirect);
    }

    #[tokio::test]
    async fn what_is_not_an_answer_says_so() {
        assert!(matches!(read(b"", 64).await, Err(Failure::Unanswered(_))));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nContent-Le", 64).await,
            Err(Failure::Cut(why)) if why == "connection closed in the head"
        ));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 64).await,
            Err(Failure::Cut(_))
        ));
        assert!(!invalid(read(b"SSH-2.0-OpenSSH_9.6\r\n", 64).await).is_empty());
        let big = [
            b"HTTP/1.1 200 OK\r\nX-Pad: ".as_slice(),
            &b"a".repeat(70_000),
        ]
        .concat();
        assert_eq!(
            invalid(read_answer(big.as_slice(), 64).await),
            "a head of over 64 KiB"
        );
    }
}
