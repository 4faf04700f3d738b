//! A plain HTTP GET or POST over a real socket, through `ureq`, and a reader of the Prometheus
//! text the services expose. Blocking, as `ureq` is; [`get_async`] runs it on tokio's blocking pool so a
//! `#[tokio::test]` can await it without stalling the server it talks to on the same runtime.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// What a GET answered: any status (a 503 is an answer, not an error), the content type, the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The `content-type` header, when there is one.
    pub content_type: Option<String>,
    pub body: String,
}

/// Long enough for any endpoint under test; short enough that a hung server fails the test.
const TIMEOUT: Duration = Duration::from_secs(30);

/// GETs `http://{addr}{path}`; panics if the server cannot be reached or the body is not UTF-8.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    get_url(&format!("http://{addr}{path}"))
}

/// GETs `url` (plain `http://` only); see [`get`].
pub fn get_url(url: &str) -> Response {
    let response = agent().get(url).call();
    read(url, response)
}

/// POSTs `body` as `text/plain` to `http://{addr}{path}`; any status is an answer, as for [`get`].
pub fn post(addr: SocketAddr, path: &str, body: &str) -> Response {
    let url = format!("http://{addr}{path}");
    let response = agent()
        .post(&url)
        .header("content-type", "text/plain")
        .send(body);
    read(&url, response)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into()
}

/// The answer, with the body whole (no size limit: a test may ask for a large result) and
/// decoded lossily, so a body that is not UTF-8 fails the test's assertion, not the client.
fn read(url: &str, response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Response {
    // A test may send a URL of megabytes; the message names its start.
    let url = url.get(..200).unwrap_or(url);
    let mut response = response.unwrap_or_else(|e| panic!("{url}: {e}"));
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("a text content type").to_owned());
    let body = response
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .unwrap_or_else(|e| panic!("{url}: reading the body: {e}"));
    Response {
        status: response.status().as_u16(),
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// [`get`] from async code: on tokio's blocking pool (needs a tokio runtime).
pub async fn get_async(addr: SocketAddr, path: &str) -> Response {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || get(addr, &path))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// [`post`] from async code: on tokio's blocking pool (needs a tokio runtime).
pub async fn post_async(addr: SocketAddr, path: &str, body: &str) -> Response {
    let (path, body) = (path.to_owned(), body.to_owned());
    tokio::task::spawn_blocking(move || post(addr, &path, &body))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Sends `method path` with `body` over a plain socket, for requests a client library will not
/// send or cannot read the answer to: a URL past the `http` crate's 64 KiB, or a body the server
/// refuses, and hangs up on, before reading it. A failed write is not an error, since the answer
/// may already be there. HTTP/1.0, so the answer is close-delimited and never chunked.
pub async fn send_by_hand(addr: SocketAddr, method: &str, path: &str, body: &str) -> Response {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\ncontent-type: text/plain\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(body.as_bytes()).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(TIMEOUT, socket.read_to_end(&mut answer)).await;
    read.expect("no answer in time").ok();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    let content_type = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-type")
            .then(|| value.trim().to_owned())
    });
    Response {
        status: status.unwrap_or_else(|| panic!("not an HTTP answer: {answer:.200}")),
        content_type,
        body: body.to_owned(),
    }
}

/// The samples of a Prometheus text exposition: each metric name with the label names its
/// samples carry (comment lines, `# HELP`/`# TYPE`/`# EOF`, are not samples).
pub fn sample_names(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut names = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels: Vec<String> = match line[end..].strip_prefix('{') {
            Some(rest) => rest[..rest.find('}').expect("labels end with `}`")]
                .split(',')
                .map(|pair| pair.split_once('=').expect("label=value").0.to_owned())
                .collect(),
            None => Vec::new(),
        };
        names.insert(line[..end].to_owned(), labels);
    }
    names
}

/// Asserts that the samples of `text` are exactly `expected`: each metric name once, with these
/// label names in this order. Scrape tests use it to keep metric names stable.
pub fn assert_samples(text: &str, expected: &[(&str, &[&str])]) {
    let expected: BTreeMap<String, Vec<String>> = expected
        .iter()
        .map(|(name, labels)| {
            let labels = labels.iter().map(|l| l.to_string()).collect();
            (name.to_string(), labels)
        })
        .collect();
    assert_eq!(sample_names(text), expected, "{text}");
}

/// The metric families of a Prometheus text exposition: each `# TYPE` line's name and type.
pub fn family_types(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| {
            let (name, kind) = rest.split_once(' ').expect("# TYPE <name> <type>");
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot server that answers `response` verbatim and returns the request it read.
    async fn serve_once(response: &'static str) -> (SocketAddr, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            let complete = |request: &[u8]| {
                let text = String::from_utf8_lossy(request).to_ascii_lowercase();
                let Some((head, body)) = text.split_once("\r\n\r\n") else {
                    return false;
                };
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |n| n.trim().parse().unwrap());
                body.len() >= length
            };
            while !complete(&request) {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "the client hung up mid-request");
                request.extend_from_slice(&buf[..n]);
            }
            socket.write_all(response.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
            String::from_utf8(request).unwrap()
        });
        (addr, task)
    }

    #[tokio::test]
    async fn a_get_returns_any_status_its_content_type_and_body() {
        let (addr, server) = serve_once(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: 17\r\nconnection: close\r\n\r\n{\"status\":\"bad\"}\n",
        )
        .await;
        let response = get_async(addr, "/health?x=1").await;
        assert_eq!(
            response,
            Response {
                status: 503,
                content_type: Some("application/json".to_owned()),
                body: "{\"status\":\"bad\"}\n".to_owned(),
            }
        );
        assert!(
            server
                .await
                .unwrap()
                .starts_with("GET /health?x=1 HTTP/1.1\r\n")
        );
    }

    #[tokio::test]
    async fn a_post_sends_its_body_as_text() {
        let (addr, server) = serve_once(
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno",
        )
        .await;
        let response = post_async(addr, "/api/v1/sql", "SELECT 1").await;
        assert_eq!((response.status, response.body.as_str()), (400, "no"));
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /api/v1/sql HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains("content-type: text/plain\r\n"),
            "{request}"
        );
        assert!(request.ends_with("\r\n\r\nSELECT 1"), "{request}");
    }

    #[tokio::test]
    async fn a_request_sent_by_hand_reads_a_close_delimited_answer() {
        let (addr, server) =
            serve_once("HTTP/1.0 413 Payload Too Large\r\ncontent-type: text/plain\r\n\r\nbig")
                .await;
        let response = send_by_hand(addr, "POST", "/api/v1/sql", "SELECT 2").await;
        let expected = Response {
            status: 413,
            content_type: Some("text/plain".to_owned()),
            body: "big".to_owned(),
        };
        assert_eq!(response, expected);
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /api/v1/sql HTTP/1.0\r\n"),
            "{request}"
        );
        assert!(
            request.ends_with("content-length: 8\r\n\r\nSELECT 2"),
            "{request}"
        );
    }

    #[test]
    fn samples_are_named_with_their_label_names() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total{stream=\"s\",type=\"t\"} 1\n\
                    b 2\n# EOF\n";
        let names = sample_names(text);
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(names["a_total"], ["stream", "type"]);
        assert!(names["b"].is_empty());
        assert_samples(text, &[("a_total", &["stream", "type"]), ("b", &[])]);
        let types = family_types(text);
        assert_eq!(
            types.into_iter().collect::<Vec<_>>(),
            [("a_total".into(), "counter".into())]
        );
    }

    #[test]
    #[should_panic(expected = "assertion `left == right` failed")]
    fn a_renamed_sample_fails_the_check() {
        assert_samples("a_total 1\n", &[("a", &[])]);
    }
}
