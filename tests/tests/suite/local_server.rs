//! The local server's edge holds up against slow clients as API Gateway does: headers and
//! bodies that never finish, and idle connections, are closed after their timeouts, so that
//! holding connections open cannot exhaust the process's file descriptors. (The edge is the
//! same whatever the store: this runs on the embedded one.)
use std::{sync::Arc, time::Duration};

use shared::clock::SystemClock;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn server(timeout: Duration) -> oidc_local::Running {
    oidc_local::start(
        oidc_local::Options {
            port: 0,
            issuer: None,
            backend: oidc_local::Backend::Embedded {
                data_dir: None,
                alg: shared::signer::Alg::RS256,
            },
            seed: None,
            demo: false,
            config_vars: vec![],
            lambda_keys: false,
            timeouts: oidc_local::Timeouts {
                header: timeout,
                body: timeout,
            },
        },
        Arc::new(SystemClock),
    )
    .await
    .expect("server starts")
}

/// Everything the server sends until it closes the connection (bounded: a server that
/// never closes fails the test instead of hanging it).
async fn until_closed(conn: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut seen)).await;
    assert!(
        read.is_ok(),
        "the server did not close the connection: {seen:?}"
    );
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_after_their_timeouts() {
    let s = server(Duration::from_secs(1)).await;

    // Headers that never end.
    let mut conn = TcpStream::connect(s.addr).await.expect("connect");
    conn.write_all(b"GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("write");
    let seen = until_closed(&mut conn).await;
    assert!(!seen.contains("200 OK"), "{seen}");

    // A body that never arrives in full: answered 408, then closed.
    let mut conn = TcpStream::connect(s.addr).await.expect("connect");
    conn.write_all(
        b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant",
    )
    .await
    .expect("write");
    let seen = until_closed(&mut conn).await;
    assert!(seen.starts_with("HTTP/1.1 408"), "{seen}");

    // A kept-alive connection that goes quiet after a request.
    let mut conn = TcpStream::connect(s.addr).await.expect("connect");
    conn.write_all(b"GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    let seen = until_closed(&mut conn).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "served first: {seen}");

    // Prompt clients are unaffected.
    let ok = e2e::http_client()
        .get(format!("http://{}/jwks.json", s.addr))
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status(), 200);
}
