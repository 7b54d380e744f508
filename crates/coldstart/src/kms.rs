//! A local KMS on 127.0.0.1 for the start of a deployed tool: template.yaml's `Globals` give
//! every function `CALLER_SIGNING_KEY`, and a tool fetches that key's public half at init
//! (`GetPublicKey`, so that no invocation waits for it). Pointed at this endpoint
//! (`AWS_ENDPOINT_URL_KMS`), the call is made as deployed and answered at once with a P-256
//! public key; its round trip over the loopback is part of the measured init, where a deployed
//! function's would cross the region's network.
//!
//! Every request on every connection gets the same answer: the harness only needs a tool to
//! start as deployed, not a KMS.

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    net::{Ipv4Addr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::{self, JoinHandle},
};

/// The key the functions are configured with (`CALLER_SIGNING_KEY`).
pub const KEY_ARN: &str =
    "arn:aws:kms:us-east-1:123456789012:key/0c0d5a1e-5a2b-4c3d-8e9f-000000000000";

/// A P-256 public key (DER `SubjectPublicKeyInfo`, base64), as `GetPublicKey` returns one; its
/// private half was never kept.
const PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZE5N3tw8nZAavt+GRSfq5iXuM4rz3KXflBj5N61tSU1SQJmiD+EF3A2e1EzFrlkgR8Q2V+38vbhnVnqQOtxRMg==";

/// The local KMS: serving until dropped.
#[derive(Debug)]
pub struct LocalKms {
    port: u16,
    stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

impl LocalKms {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let server = thread::spawn(move || {
            for connection in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(connection) = connection {
                    thread::spawn(move || {
                        // A connection that breaks is the client's business: it retries.
                        let _ = serve(connection);
                    });
                }
            }
        });
        Ok(Self {
            port,
            stop,
            server: Some(server),
        })
    }

    /// Its endpoint, for `AWS_ENDPOINT_URL_KMS`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for LocalKms {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the listener from `accept`, so it sees the stop.
        drop(TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)));
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

/// Answers every request on `connection` with the public key, until the client closes it.
fn serve(connection: TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(connection.try_clone()?);
    let mut writer = connection;
    loop {
        let mut length = 0_usize;
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        io::copy(&mut (&mut reader).take(length as u64), &mut io::sink())?;
        writer.write_all(response().as_bytes())?;
    }
}

/// The `GetPublicKey` answer, as an HTTP response.
fn response() -> String {
    let body = serde_json::json!({
        "KeyId": KEY_ARN,
        "PublicKey": PUBLIC_KEY,
        "KeySpec": "ECC_NIST_P256",
        "KeyUsage": "SIGN_VERIFY",
        "SigningAlgorithms": ["ECDSA_SHA_256"],
    })
    .to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n\
         x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_is_answered_with_the_public_key_on_one_connection() {
        let kms = LocalKms::start().unwrap();
        let mut client = TcpStream::connect(kms.endpoint().trim_start_matches("http://")).unwrap();
        let request = "POST / HTTP/1.1\r\nHost: kms\r\nX-Amz-Target: TrentService.GetPublicKey\r\n\
                       Content-Length: 2\r\n\r\n{}";
        let mut reader = BufReader::new(client.try_clone().unwrap());
        for _ in 0..2 {
            client.write_all(request.as_bytes()).unwrap();
            let mut status = String::new();
            reader.read_line(&mut status).unwrap();
            assert_eq!(status.trim_end(), "HTTP/1.1 200 OK");
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim_end().is_empty() {
                    break;
                }
                if let Some(value) = header.strip_prefix("Content-Length: ") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["KeyId"], KEY_ARN);
            assert_eq!(body["PublicKey"], PUBLIC_KEY);
        }
    }
}
