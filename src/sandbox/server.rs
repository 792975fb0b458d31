//! An HTTP server on 127.0.0.1 whose port can be closed and reopened, so the
//! "connection refused" fault is a real refused connection, not a simulation.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;

/// Bind 127.0.0.1:`port` (0 for an ephemeral port), allowing quick rebinding.
pub fn bind(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(1024)
}

/// Serve `router` on `listener`. While `closed` is true the port is closed
/// and every open connection is dropped; when it turns false the same port is
/// bound again. Ends when the `closed` sender is dropped.
pub async fn serve(listener: TcpListener, router: Router, mut closed: watch::Receiver<bool>) {
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    let mut listener = Some(listener);
    loop {
        if let Some(l) = listener.take() {
            // Dropping this sender tells every connection of this listener to close.
            let (open_tx, _) = watch::channel(());
            loop {
                tokio::select! {
                    accepted = l.accept() => {
                        if let Ok((stream, _)) = accepted {
                            let _ = stream.set_nodelay(true);
                            tokio::spawn(connection(stream, router.clone(), open_tx.subscribe()));
                        }
                    }
                    changed = closed.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if *closed.borrow_and_update() {
                            break;
                        }
                    }
                }
            }
            drop(l);
            drop(open_tx);
        }
        while *closed.borrow_and_update() {
            if closed.changed().await.is_err() {
                return;
            }
        }
        listener = rebind(addr.port()).await;
        if listener.is_none() {
            tracing::error!("sandbox: cannot reopen port {}", addr.port());
            return;
        }
    }
}

async fn rebind(port: u16) -> Option<TcpListener> {
    for _ in 0..100 {
        match bind(port) {
            Ok(l) => return Some(l),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    None
}

async fn connection(stream: tokio::net::TcpStream, router: Router, mut open: watch::Receiver<()>) {
    let service = TowerToHyperService::new(router);
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        // The listener closed: drop the connection mid-flight, as a crash would.
        _ = open.changed() => {}
    }
}
