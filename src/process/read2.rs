//! Reading a child's stdout and stderr at once, to their end, each line
//! handed on as it comes: what cargo-util's `read2` does with threads,
//! done here with two reads joined on tokio.
//!
//! The buffers are on the heap: a future holds what lives across `.await`,
//! and two 8 KiB arrays made every command's future 16 KiB deeper, in every
//! caller's future up to `main`.

use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

/// How much is read at a time.
const CHUNK: usize = 8192;

/// After a command exits, how long what it left holding its output may
/// still write before lab stops reading.
pub const DRAIN: Duration = Duration::from_secs(2);

/// What a child printed and how it ended.
pub struct Ended {
    pub status: std::io::Result<std::process::ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

/// Reads a child's output until it exits, each complete line of stdout and
/// of stderr handed to its callback as it comes. Something it started may
/// hold its output open (a daemon it forked): once it has exited, what is
/// there is read for [`DRAIN`], then no more.
pub async fn read2(
    child: &mut tokio::process::Child,
    on_stdout: &(dyn Fn(&str) + Sync),
    on_stderr: &(dyn Fn(&str) + Sync),
) -> Ended {
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (out_buf, err_buf) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let mut readers = Box::pin(async {
        tokio::join!(
            read_lines(stdout, on_stdout, &out_buf),
            read_lines(stderr, on_stderr, &err_buf)
        )
    });
    let exited = tokio::select! {
        _ = &mut readers => None,
        status = child.wait() => Some(status),
    };
    let status = match exited {
        Some(status) => {
            let _ = tokio::time::timeout(DRAIN, &mut readers).await;
            status
        }
        None => child.wait().await,
    };
    drop(readers);
    let text = |buf: Mutex<Vec<u8>>| {
        String::from_utf8_lossy(&buf.into_inner().unwrap_or_default()).into_owned()
    };
    Ended {
        status,
        stdout: text(out_buf),
        stderr: text(err_buf),
    }
}

/// Reads a stream to its end into `all`, keeping the exact bytes (so that
/// a reader stopped early still leaves what it read) and reporting each
/// complete line.
async fn read_lines(
    mut stream: impl AsyncRead + Unpin,
    on_line: &(dyn Fn(&str) + Sync),
    all: &Mutex<Vec<u8>>,
) {
    let mut pending = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Ok(mut all) = all.lock() {
                    all.extend_from_slice(&buf[..n]);
                }
                pending.extend_from_slice(&buf[..n]);
                while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=pos).collect();
                    let text = String::from_utf8_lossy(&line[..pos]);
                    on_line(text.trim_end_matches('\r'));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_come_as_they_are_read_and_the_text_stays_exact() {
        let (mut tx, rx) = tokio::io::duplex(64);
        let all = Mutex::new(Vec::new());
        let seen = Mutex::new(Vec::new());
        let on_line = |l: &str| seen.lock().unwrap().push(l.to_string());
        let reader = read_lines(rx, &on_line, &all);
        let writer = async {
            use tokio::io::AsyncWriteExt as _;
            tx.write_all(b"one\r\ntwo\nthree, no newline")
                .await
                .unwrap();
            drop(tx);
        };
        tokio::join!(reader, writer);
        assert_eq!(*seen.lock().unwrap(), ["one", "two"]);
        assert_eq!(all.into_inner().unwrap(), b"one\r\ntwo\nthree, no newline");
    }

    #[test]
    fn a_command_s_reading_future_holds_no_buffer_of_its_own() {
        let (_tx, rx) = tokio::io::duplex(64);
        let all = Mutex::new(Vec::new());
        let on_line = |_: &str| {};
        let future = read_lines(rx, &on_line, &all);
        assert!(
            std::mem::size_of_val(&future) < CHUNK / 4,
            "{} bytes",
            std::mem::size_of_val(&future)
        );
    }
}
