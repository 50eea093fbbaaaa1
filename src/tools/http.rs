//! A plain HTTP GET from the host to one of the lab's machines, for an
//! exercise's `http` check: the status and the start of the body. HTTP/1.0
//! with `Connection: close`, so the answer ends with the connection and is
//! never chunked; nothing else is needed to ask a lab's own service.

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How much of a body lab reads: a page's start says what it is.
const MAX_BODY: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// `GET path` on `ip:port`, all of it within `limit`.
pub async fn get(ip: Ipv4Addr, port: u16, path: &str, limit: Duration) -> Result<Response, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((ip, port))
            .await
            .map_err(|e| format!("cannot connect to {ip}:{port}: {e}"))?;
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: {ip}:{port}\r\nUser-Agent: lab\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("sending to {ip}:{port}: {e}"))?;
        let mut raw = Vec::new();
        (&mut stream)
            .take(MAX_BODY)
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("reading from {ip}:{port}: {e}"))?;
        parse(&String::from_utf8_lossy(&raw))
    };
    tokio::time::timeout(limit, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "{ip}:{port} did not answer within {}s",
                limit.as_secs()
            ))
        })
}

/// A response's status line and body.
pub fn parse(raw: &str) -> Result<Response, String> {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let status_line = head.lines().next().unwrap_or_default();
    let mut words = status_line.split_whitespace();
    let status = match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "not an HTTP answer: {:?}",
            status_line.chars().take(60).collect::<String>()
        )
    })?;
    Ok(Response {
        status,
        body: body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_body() {
        let r = parse("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<title>Redmine</title>")
            .unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "<title>Redmine</title>"));
        assert_eq!(
            parse("HTTP/1.0 302 Found\r\nLocation: /login\r\n\r\n")
                .unwrap()
                .status,
            302
        );
        assert!(parse("SSH-2.0-OpenSSH_9.2\r\n")
            .unwrap_err()
            .contains("not an HTTP answer"));
        assert!(parse("").is_err());
    }

    /// A server on loopback answers; a closed port is an error that says so.
    #[tokio::test]
    async fn a_real_exchange_on_loopback() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 1024];
            let n = socket.read(&mut request).await.unwrap();
            let request = String::from_utf8_lossy(&request[..n]).to_string();
            socket
                .write_all(b"HTTP/1.0 404 Not Found\r\n\r\nno such page")
                .await
                .unwrap();
            request
        });
        let got = get(Ipv4Addr::LOCALHOST, port, "/x?y=1", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!((got.status, got.body.as_str()), (404, "no such page"));
        assert!(server.await.unwrap().starts_with("GET /x?y=1 HTTP/1.0\r\n"));
        let closed = get(Ipv4Addr::LOCALHOST, port, "/", Duration::from_secs(5)).await;
        assert!(closed.unwrap_err().contains("cannot connect"));
    }
}
