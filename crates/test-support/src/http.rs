//! A plain HTTP GET over a real socket, through `ureq`, and a reader of the Prometheus text the
//! services expose. Blocking, as `ureq` is; [`get_async`] runs it on tokio's blocking pool so a
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
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("a text content type").to_owned());
    let body = response
        .body_mut()
        .read_to_string()
        .unwrap_or_else(|e| panic!("GET {url}: reading the body: {e}"));
    Response {
        status: response.status().as_u16(),
        content_type,
        body,
    }
}

/// [`get`] from async code: on tokio's blocking pool (needs a tokio runtime).
pub async fn get_async(addr: SocketAddr, path: &str) -> Response {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || get(addr, &path))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
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
            while !request.ends_with(b"\r\n\r\n") {
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

    #[test]
    fn samples_are_named_with_their_label_names() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total{stream=\"s\",type=\"t\"} 1\n\
                    b 2\n# EOF\n";
        let names = sample_names(text);
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(names["a_total"], ["stream", "type"]);
        assert!(names["b"].is_empty());
    }
}
