//! `wss://` trusts the usual web roots and nothing else: a server presenting a certificate no
//! root vouches for (self-signed, as an attacker in the middle would) gets no stream key.

use std::net::TcpListener;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dss_lake_ingest::{Config, ConnectionSettings, Ingest, StreamConfig, StreamKey};
use dss_lake_schema::StreamName;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// How each handshake the server saw ended.
type Handshakes = Arc<Mutex<Vec<Result<(), String>>>>;

/// A TLS server for `localhost` with a self-signed certificate; records how each handshake
/// ended. The certificate is valid for the name and the dates, so only trust can fail.
fn start_untrusted_server() -> (u16, Handshakes) {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cert = std::fs::read(fixtures.join("self-signed-localhost.crt.der")).unwrap();
    let key = std::fs::read(fixtures.join("self-signed-localhost.key.der")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Handshakes::default();
    let seen = Arc::clone(&handshakes);
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let mut tls = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut outcome = Ok(());
            while tls.is_handshaking() {
                if let Err(e) = tls.complete_io(&mut tcp) {
                    outcome = Err(e.to_string());
                    break;
                }
            }
            seen.lock().unwrap().push(outcome);
        }
    });
    (port, handshakes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_no_web_root_vouches_for_is_refused_and_retried_later() {
    let (port, handshakes) = start_untrusted_server();
    let lake = tempfile::tempdir().unwrap();
    let running = Ingest::start(Config {
        lake: lake.path().to_owned(),
        metrics_addr: None,
        flush: dss_lake_lake::FlushPolicy::default(),
        commit_retry: dss_lake_lake::CommitRetry::default(),
        connection: ConnectionSettings {
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_millis(100),
            ..ConnectionSettings::default()
        },
        shutdown_timeout: Duration::from_secs(10),
        clock: Arc::new(dss_lake_lake::SystemClock),
        streams: vec![StreamConfig {
            name: StreamName::parse("fleet").unwrap(),
            url: format!("wss://localhost:{port}/stream"),
            key: StreamKey::new("0123456789abcdef0123456789abcdef").unwrap(),
        }],
    })
    .await
    .unwrap();

    tokio::time::timeout(Duration::from_secs(20), async {
        while handshakes.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the daemon tries, and tries again");
    let stream = &running.metrics().streams[0];
    assert!(!stream.connected.load(Relaxed));
    assert_eq!(stream.messages.load(Relaxed), 0);
    for outcome in handshakes.lock().unwrap().iter() {
        // The client aborts the handshake with a certificate alert: the request line, and with
        // it the key, is never sent.
        let error = outcome.as_ref().expect_err("no handshake may complete");
        assert!(
            error.contains("fatal alert: CertificateUnknown") || error.contains("UnknownCA"),
            "{error}"
        );
    }
    running.shutdown().await.unwrap();
}
