//! The stdio transport, with a gate in front of rmcp: every incoming line is checked first, so
//! malformed JSON-RPC gets a proper error reply instead of ending the session, and the
//! protocol is written to a private copy of fd 1 while fd 1 itself is pointed at stderr
//! (a stray `print` from an extension can then never corrupt the protocol stream).

use std::os::fd::FromRawFd;

use serde_json::Value as Json;

use super::gate::{check, error};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use std::sync::Arc;

use rmcp::ServiceExt;

use super::ServerError;
use super::catalog::State;
use super::handler::Handler;

/// Larger messages are refused (and skipped) rather than buffered without bound.
pub(super) const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// The original stdout for the protocol; fd 1 now points at stderr.
pub(super) fn take_stdout() -> std::io::Result<std::fs::File> {
    // SAFETY: plain descriptor duplication on fds this process owns.
    unsafe {
        let proto = libc::dup(1);
        if proto < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(std::fs::File::from_raw_fd(proto))
    }
}

/// Runs `serve` with gated stdin and the protected stdout until stdin closes.
pub(super) async fn run<F, Fut>(proto_out: std::fs::File, serve: F) -> std::io::Result<()>
where
    F: FnOnce(tokio::io::DuplexStream, tokio::io::DuplexStream) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run_gated(async_stdin(), async_writer(proto_out), serve).await
}

/// Runs `serve` on the lines of `input` that pass the gate, its replies and the gate's
/// error replies written whole to `output`, until `input` ends.
pub(super) async fn run_gated<F, Fut>(input: Reader, mut proto_out: Writer, serve: F) -> std::io::Result<()>
where
    F: FnOnce(tokio::io::DuplexStream, tokio::io::DuplexStream) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (mut to_server, server_in) = tokio::io::duplex(1 << 20);
    let (server_out, from_server) = tokio::io::duplex(1 << 20);
    let (errors_tx, mut errors_rx) = tokio::sync::mpsc::unbounded_channel::<String>();

    // writer: whole lines from rmcp and from the gate, never interleaved
    let writer = tokio::spawn(async move {
        let mut lines = BufReader::new(from_server).lines();
        loop {
            let line = tokio::select! {
                l = lines.next_line() => match l { Ok(Some(l)) => l, _ => break },
                Some(e) = errors_rx.recv() => e,
            };
            if proto_out.write_all(format!("{line}\n").as_bytes()).await.is_err() || proto_out.flush().await.is_err() {
                break;
            }
        }
        // replies to the last requests may still be queued
        while let Ok(e) = errors_rx.try_recv() {
            let _ = proto_out.write_all(format!("{e}\n").as_bytes()).await;
        }
        let _ = proto_out.flush().await;
    });

    // gate: stdin → checks → rmcp
    let gate = tokio::spawn(async move {
        let mut input = BufReader::new(input);
        loop {
            let line = match read_line(&mut input).await {
                Ok(Some(Line::Text(l))) => l,
                Ok(Some(Line::TooLong)) => {
                    let reply = error(
                        Json::Null,
                        -32600,
                        format!("Invalid Request: message larger than {MAX_MESSAGE_BYTES} bytes"),
                    );
                    let _ = errors_tx.send(reply.to_string());
                    continue;
                }
                Ok(None) | Err(_) => break,
            };
            match check(&line) {
                Ok(true) => {
                    if to_server.write_all(format!("{line}\n").as_bytes()).await.is_err() {
                        break;
                    }
                }
                Ok(false) => {}
                Err(reply) => {
                    let _ = errors_tx.send(reply.to_string());
                }
            }
        }
        // stdin closed: rmcp sees the end of its input and stops
        drop(to_server);
    });

    serve(server_in, server_out).await;
    gate.abort();
    let _ = writer.await;
    Ok(())
}

pub(super) type Reader = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
pub(super) type Writer = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;

fn kind(fd: std::os::fd::RawFd) -> Option<libc::mode_t> {
    // SAFETY: all-zero bytes are a valid `stat` (plain integers); it is only an out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into a valid out-pointer
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_mode & libc::S_IFMT)
}

/// stdin for the event loop. Pipes and sockets (what MCP clients give a server) are read
/// non-blocking on the loop itself; anything else through tokio's stdin, which hops to a
/// blocking thread for every read (measurably slower per message).
fn async_stdin() -> Reader {
    // SAFETY: a duplicate of fd 0, owned by what wraps it
    let dup = || unsafe { std::fs::File::from_raw_fd(libc::dup(0)) };
    match kind(0) {
        Some(libc::S_IFIFO) => {
            if let Ok(r) = tokio::net::unix::pipe::Receiver::from_file(dup()) {
                return Box::new(r);
            }
        }
        Some(libc::S_IFSOCK) => {
            let s = std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(dup()));
            if let Ok(s) = s.set_nonblocking(true).and_then(|_| tokio::net::UnixStream::from_std(s)) {
                return Box::new(s);
            }
        }
        _ => {}
    }
    Box::new(tokio::io::stdin())
}

/// The protocol output, non-blocking on the loop for pipes and sockets (see [`async_stdin`]).
fn async_writer(file: std::fs::File) -> Writer {
    use std::os::fd::AsRawFd;
    match kind(file.as_raw_fd()) {
        Some(libc::S_IFIFO) => {
            if let Ok(Ok(w)) = file.try_clone().map(tokio::net::unix::pipe::Sender::from_file) {
                return Box::new(w);
            }
        }
        Some(libc::S_IFSOCK) => {
            let s = std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(file));
            return match s.set_nonblocking(true).and_then(|_| tokio::net::UnixStream::from_std(s)) {
                Ok(s) => Box::new(s),
                Err(_) => Box::new(tokio::io::sink()),
            };
        }
        _ => {}
    }
    Box::new(tokio::fs::File::from_std(file))
}

enum Line {
    Text(String),
    /// Longer than the limit; the rest of it was skipped.
    TooLong,
}

/// One line of at most `MAX_MESSAGE_BYTES`, without its newline; `None` at the end of input.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(input: &mut R) -> std::io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let mut too_long = false;
    loop {
        let chunk = input.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(match (buf.is_empty(), too_long) {
                (true, false) => None,
                (_, true) => Some(Line::TooLong),
                _ => Some(Line::Text(String::from_utf8_lossy(&buf).into_owned())),
            });
        }
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1),
            None => (chunk, chunk.len()),
        };
        if !too_long {
            if buf.len() + part.len() > MAX_MESSAGE_BYTES {
                too_long = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let ended = done > part.len();
        input.consume(done);
        if ended {
            return Ok(Some(if too_long {
                Line::TooLong
            } else {
                Line::Text(String::from_utf8_lossy(&buf).into_owned())
            }));
        }
    }
}

/// Serves one MCP session over the protocol file descriptors until the client hangs up.
pub(super) async fn serve(state: Arc<State>, proto_out: std::fs::File) -> Result<(), ServerError> {
    run(proto_out, |input, output| session(state, input, output)).await.map_err(|e| ServerError::Start(e.to_string()))
}

/// One MCP session of the handler over a gated pair of streams, until the client hangs up.
pub(super) async fn session(state: Arc<State>, input: tokio::io::DuplexStream, output: tokio::io::DuplexStream) {
    let telemetry = state.telemetry.clone();
    let service = super::traced::Traced::new(Handler::new(state), telemetry, Some(crate::telemetry::Transport::Pipe));
    match service.serve((input, output)).await {
        Ok(running) => {
            let _ = running.waiting().await;
        }
        Err(e) => tracing::error!("mxcp: the MCP session ended: {e}"),
    }
}
