//! Handlers are written against `embedded-svc`'s HTTP server [`Connection`] (the design card's
//! HTTP abstraction): a request's method, URI, headers and body in, a status, headers and a
//! body out. [`Tiny`] adapts a tiny_http request to it for the real server; [`Memory`] is an
//! in-memory connection, so a handler runs in a unit test without a socket.
//!
//! A response is buffered and sent when the connection completes, unless it is initiated
//! with `Transfer-Encoding: chunked`: then its body streams through a bounded pipe to a
//! thread that answers the request (tiny_http frames it for HTTP/1.0 and 1.1, and drops the
//! body of a HEAD request either way).

pub use embedded_svc::http::server::{Connection, Request};
pub use embedded_svc::http::{Headers, Method, Query};
use embedded_svc::io::{ErrorType, Read, Write};
use std::io;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// The largest buffered response (pages, JSON, JPEGs); bigger ones must stream.
const MAX_BUFFERED: usize = 16 << 20;

/// What a request says about itself, copied out of it (so the body can be read alongside).
#[derive(Debug, Clone)]
pub struct Head {
    pub uri: String,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    /// The address the request came from (the socket's peer).
    pub peer: Option<std::net::IpAddr>,
}

impl Query for Head {
    fn uri(&self) -> &str {
        &self.uri
    }
    fn method(&self) -> Method {
        self.method
    }
}

impl Headers for Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The address a connection's request came from.
pub trait Peer {
    fn peer(&self) -> Option<std::net::IpAddr>;
}

impl Peer for Tiny {
    fn peer(&self) -> Option<std::net::IpAddr> {
        self.head.peer
    }
}

#[cfg(test)]
impl Peer for Memory {
    fn peer(&self) -> Option<std::net::IpAddr> {
        self.head.peer
    }
}

fn method_of(m: &tiny_http::Method) -> Method {
    use tiny_http::Method as T;
    match m {
        T::Get => Method::Get,
        T::Head => Method::Head,
        T::Post => Method::Post,
        T::Put => Method::Put,
        T::Delete => Method::Delete,
        T::Connect => Method::Connect,
        T::Options => Method::Options,
        T::Trace => Method::Trace,
        T::Patch => Method::Patch,
        // Methods nvr does not know are refused like any it does not serve.
        T::NonStandard(_) => Method::Unlink,
    }
}

/// The request's body, read from the socket.
pub struct Body(Option<tiny_http::Request>);

impl ErrorType for Body {
    type Error = io::Error;
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, io::Error> {
        match &mut self.0 {
            Some(r) => io::Read::read(r.as_reader(), buf),
            None => Ok(0),
        }
    }
}

impl Write for Body {
    fn write(&mut self, _: &[u8]) -> Result<usize, io::Error> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
    fn flush(&mut self) -> Result<(), io::Error> {
        Ok(())
    }
}

enum Out {
    /// No response initiated yet.
    None,
    Buffered {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Streaming {
        pipe: Option<SyncSender<Vec<u8>>>,
        responder: Option<std::thread::JoinHandle<()>>,
    },
    Done,
}

/// A tiny_http request as an embedded-svc connection.
pub struct Tiny {
    head: Head,
    body: Body,
    out: Out,
}

impl Tiny {
    pub fn new(request: tiny_http::Request) -> Tiny {
        let head = Head {
            uri: request.url().to_string(),
            method: method_of(request.method()),
            headers: request
                .headers()
                .iter()
                .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
                .collect(),
            peer: request.remote_addr().map(|a| a.ip()),
        };
        Tiny {
            head,
            body: Body(Some(request)),
            out: Out::None,
        }
    }

    /// Sends what is buffered, or ends the stream. A handler that never answered gets 500.
    pub fn complete(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        match std::mem::replace(&mut self.out, Out::Done) {
            Out::Done => {}
            Out::None => {
                log::error!("http: {} got no response", self.head.uri);
                self.send(500, Vec::new(), b"{\"error\": \"internal error\"}".to_vec());
            }
            Out::Buffered {
                status,
                headers,
                body,
            } => self.send(status, headers, body),
            Out::Streaming {
                mut pipe,
                mut responder,
            } => {
                drop(pipe.take());
                if let Some(t) = responder.take() {
                    let _ = t.join();
                }
            }
        }
    }

    fn send(&mut self, status: u16, headers: Vec<(String, String)>, body: Vec<u8>) {
        let Some(req) = self.body.0.take() else {
            return;
        };
        let mut resp = tiny_http::Response::from_data(body).with_status_code(status);
        for h in tiny_headers(&headers) {
            resp.add_header(h);
        }
        if let Err(e) = req.respond(resp) {
            log::debug!("http: client went away: {e}");
        }
    }
}

impl Drop for Tiny {
    fn drop(&mut self) {
        self.finish();
    }
}

fn tiny_headers(headers: &[(String, String)]) -> Vec<tiny_http::Header> {
    headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("Transfer-Encoding"))
        .filter_map(|(k, v)| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).ok())
        .collect()
}

impl ErrorType for Tiny {
    type Error = io::Error;
}

impl Query for Tiny {
    fn uri(&self) -> &str {
        &self.head.uri
    }
    fn method(&self) -> Method {
        self.head.method
    }
}

impl Headers for Tiny {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }
}

impl Read for Tiny {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, io::Error> {
        self.body.read(buf)
    }
}

impl Write for Tiny {
    fn write(&mut self, buf: &[u8]) -> Result<usize, io::Error> {
        match &mut self.out {
            Out::Buffered { body, .. } => {
                if body.len() + buf.len() > MAX_BUFFERED {
                    return Err(io::Error::other("response too large to buffer"));
                }
                body.extend_from_slice(buf);
                Ok(buf.len())
            }
            Out::Streaming { pipe: Some(p), .. } => p
                .send(buf.to_vec())
                .map(|()| buf.len())
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe)),
            _ => Err(io::Error::other("no response initiated")),
        }
    }
    fn flush(&mut self) -> Result<(), io::Error> {
        Ok(())
    }
}

impl Connection for Tiny {
    type Headers = Head;
    type Read = Body;
    type RawConnectionError = io::Error;
    type RawConnection = Body;

    fn split(&mut self) -> (&Head, &mut Body) {
        (&self.head, &mut self.body)
    }

    fn initiate_response<'a>(
        &'a mut self,
        status: u16,
        _message: Option<&'a str>,
        headers: &'a [(&'a str, &'a str)],
    ) -> Result<(), io::Error> {
        if !matches!(self.out, Out::None) {
            return Err(io::Error::other("response already initiated"));
        }
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("Transfer-Encoding") && v.eq_ignore_ascii_case("chunked")
        });
        if !chunked {
            self.out = Out::Buffered {
                status,
                headers,
                body: Vec::new(),
            };
            return Ok(());
        }
        let req = self
            .body
            .0
            .take()
            .ok_or_else(|| io::Error::other("request already answered"))?;
        // Bounded: a slow client slows the producer, it never grows memory.
        let (pipe, rx) = sync_channel::<Vec<u8>>(8);
        let responder = std::thread::Builder::new()
            .name("http-stream".into())
            .spawn(move || {
                let body = PipeReader {
                    rx,
                    buf: Vec::new(),
                    pos: 0,
                };
                let resp = tiny_http::Response::new(
                    tiny_http::StatusCode(status),
                    tiny_headers(&headers),
                    body,
                    None,
                    None,
                );
                if let Err(e) = req.respond(resp) {
                    log::debug!("http: client went away: {e}");
                }
            })?;
        self.out = Out::Streaming {
            pipe: Some(pipe),
            responder: Some(responder),
        };
        Ok(())
    }

    fn is_response_initiated(&self) -> bool {
        !matches!(self.out, Out::None)
    }

    fn raw_connection(&mut self) -> Result<&mut Body, io::Error> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// The streaming responder's body: what the handler writes, until it completes.
struct PipeReader {
    rx: Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

impl io::Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(b) => {
                    self.buf = b;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// An in-memory connection: a request in, the response kept for the test to read.
#[cfg(test)]
pub struct Memory {
    pub head: Head,
    body: MemoryBody,
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub out: Vec<u8>,
}

/// A [`Memory`] connection's request body.
#[cfg(test)]
pub struct MemoryBody(io::Cursor<Vec<u8>>);

#[cfg(test)]
impl ErrorType for MemoryBody {
    type Error = io::Error;
}

#[cfg(test)]
impl Read for MemoryBody {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, io::Error> {
        io::Read::read(&mut self.0, buf)
    }
}

#[cfg(test)]
impl Write for MemoryBody {
    fn write(&mut self, _: &[u8]) -> Result<usize, io::Error> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
    fn flush(&mut self) -> Result<(), io::Error> {
        Ok(())
    }
}

#[cfg(test)]
impl Memory {
    pub fn new(method: Method, uri: &str) -> Memory {
        Memory {
            head: Head {
                uri: uri.to_string(),
                method,
                headers: Vec::new(),
                peer: Some(std::net::IpAddr::from([192, 0, 2, 1])),
            },
            body: MemoryBody(io::Cursor::new(Vec::new())),
            status: None,
            headers: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Adds a request header.
    pub fn with(mut self, name: &str, value: &str) -> Memory {
        self.head.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the request body.
    pub fn body(mut self, body: &[u8]) -> Memory {
        self.body = MemoryBody(io::Cursor::new(body.to_vec()));
        self
    }

    pub fn header_out(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out).unwrap_or_default()
    }
}

#[cfg(test)]
impl ErrorType for Memory {
    type Error = io::Error;
}

#[cfg(test)]
impl Query for Memory {
    fn uri(&self) -> &str {
        &self.head.uri
    }
    fn method(&self) -> Method {
        self.head.method
    }
}

#[cfg(test)]
impl Headers for Memory {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }
}

#[cfg(test)]
impl Read for Memory {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, io::Error> {
        self.body.read(buf)
    }
}

#[cfg(test)]
impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> Result<usize, io::Error> {
        if self.status.is_none() {
            return Err(io::Error::other("no response initiated"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), io::Error> {
        Ok(())
    }
}

#[cfg(test)]
impl Connection for Memory {
    type Headers = Head;
    type Read = MemoryBody;
    type RawConnectionError = io::Error;
    type RawConnection = MemoryBody;

    fn split(&mut self) -> (&Head, &mut MemoryBody) {
        (&self.head, &mut self.body)
    }

    fn initiate_response<'a>(
        &'a mut self,
        status: u16,
        _message: Option<&'a str>,
        headers: &'a [(&'a str, &'a str)],
    ) -> Result<(), io::Error> {
        if self.status.is_some() {
            return Err(io::Error::other("response already initiated"));
        }
        self.status = Some(status);
        self.headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(())
    }

    fn is_response_initiated(&self) -> bool {
        self.status.is_some()
    }

    fn raw_connection(&mut self) -> Result<&mut MemoryBody, io::Error> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}
