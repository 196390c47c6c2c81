//! [`Link`]: a TCP link between two places that a test can cut and heal, as a street office's
//! line to the centre fails and comes back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Forwards every connection made to [`Link::addr`] to the upstream address, until cut.
#[derive(Debug)]
pub struct Link {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepting: JoinHandle<()>,
}

impl Link {
    /// A link to `upstream`, listening on a free loopback port.
    pub async fn to(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        let cut = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accepting = {
            let (cut, connections) = (cut.clone(), connections.clone());
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        // A cut line: the connection is dropped at once.
                        continue;
                    }
                    let forwarding = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    connections.lock().expect("no panic").push(forwarding);
                }
            })
        };
        Self {
            addr,
            cut,
            connections,
            accepting,
        }
    }

    /// Where to connect to reach upstream through the link.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts the link: every connection through it is dropped, and new ones are refused.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().expect("no panic").drain(..) {
            connection.abort();
        }
    }

    /// Heals the link: connections go through again.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}
