//! A small HTTP server on 127.0.0.1 for gates to ask: one thread, one request per
//! connection, answers from a closure (with headers, such as a redirect's `Location`, from
//! `Server::routes`), hits counted and request lines kept. It answers any request, so it
//! also stands for a proxy: a proxy of plain `http://` is asked `GET http://host/path`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answers to the n-th request (0-based) of a path: status, body, delay.
pub(crate) type Answer = Box<dyn Fn(usize) -> (u16, String, u64) + Send>;

/// What the server answers to the n-th request (0-based) of a path (the request line's
/// target: a URL when asked as a proxy): status, headers, body.
pub(crate) type Route = Box<dyn Fn(&str, usize) -> (u16, Vec<(String, String)>, String) + Send>;

type Reply = Box<dyn Fn(&str, usize) -> (u16, Vec<(String, String)>, String, u64) + Send>;

/// An HTTP/1.0-style server on 127.0.0.1: one thread, one request per connection.
pub(crate) struct Server {
    pub(crate) address: String,
    hits: Arc<Mutex<Vec<String>>>,
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start(answer: Answer) -> Self {
        Self::serve(Box::new(move |_, n| {
            let (status, body, delay) = answer(n);
            (status, Vec::new(), body, delay)
        }))
    }

    /// A server whose answers depend on the path and may carry headers.
    pub(crate) fn routes(route: Route) -> Self {
        Self::serve(Box::new(move |path, n| {
            let (status, headers, body) = route(path, n);
            (status, headers, body, 0)
        }))
    }

    fn serve(answer: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopping) = (Arc::clone(&hits), Arc::clone(&stop));
        let asked = Arc::clone(&lines);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // Read the headers to their end.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                asked.lock().expect("lines").push(line.trim_end().to_owned());
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let n = {
                    let mut hits = seen.lock().expect("hits");
                    hits.push(path.clone());
                    hits.iter().filter(|p| **p == path).count() - 1
                };
                let (status, headers, body, delay) = answer(&path, n);
                std::thread::sleep(Duration::from_millis(delay));
                let headers: String = headers
                    .iter()
                    .flat_map(|(name, value)| [name.as_ref(), ": ", value.as_ref(), "\r\n"])
                    .collect();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { address, hits, lines, stop, thread: Some(thread) }
    }

    pub(crate) fn hits(&self) -> usize {
        self.hits.lock().expect("hits").len()
    }

    /// The request lines received, in order (`GET /health HTTP/1.1`).
    pub(crate) fn requests(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = std::net::TcpStream::connect(&self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
