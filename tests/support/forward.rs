//! A TCP forwarder between the loopbacks of two network namespaces, so a process in a test
//! namespace can reach a service on the root namespace's loopback (and back) without any
//! address being configured outside the namespace.
//!
//! A socket stays in the network namespace of the thread that created it. So the listener is
//! created on a thread that joined the listening side's namespace, and the accept loop runs on
//! a thread that joined the connecting side's: every accepted connection (still in the
//! listening namespace) is pumped to a connection opened from the accept loop's thread.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Runs `f` on a thread that joined network namespace `ns` (`None`: this process's own), and
/// returns its result. setns changes only that thread; threads it spawns inherit it.
pub fn in_netns<T: Send + 'static>(ns: Option<&str>, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = ns.map(|n| format!("/run/netns/{n}"));
    std::thread::spawn(move || {
        join_netns(path.as_deref());
        f()
    })
    .join()
    .unwrap()
}

fn join_netns(path: Option<&str>) {
    if let Some(path) = path {
        let file =
            std::fs::File::open(path).unwrap_or_else(|e| panic!("network namespace {path}: {e}"));
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {path}: {e}"));
    }
}

/// A free TCP port on the loopback of namespace `ns`.
pub fn free_port_in(ns: Option<&str>) -> u16 {
    in_netns(ns, || {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port")
    })
}

/// Forwards `127.0.0.1:port` in one namespace to an address in another, until dropped.
pub struct Forward {
    /// The listening port, on the listening namespace's loopback.
    pub port: u16,
    /// Where connections go, seen from the connecting namespace.
    pub target: SocketAddr,
    listen_ns: Option<String>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Forward {
    /// Listens on 127.0.0.1 (a free port) in `listen_ns` and connects each accepted
    /// connection to `target` from `connect_ns` (`None`: this process's own namespace).
    pub fn start(listen_ns: Option<&str>, connect_ns: Option<&str>, target: SocketAddr) -> Forward {
        let listener = in_netns(listen_ns, || {
            TcpListener::bind("127.0.0.1:0").expect("bind the forwarder's loopback port")
        });
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let connect_path = connect_ns.map(|n| format!("/run/netns/{n}"));
        let accept = std::thread::spawn(move || {
            join_netns(connect_path.as_deref());
            for inbound in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(inbound) = inbound else { continue };
                // The target may be down for a while (etcd stopped by a test): the client
                // sees its connection closed, as it would with the service itself.
                let Ok(outbound) = TcpStream::connect(target) else {
                    continue;
                };
                pump(inbound, outbound);
            }
        });
        Forward {
            port,
            target,
            listen_ns: listen_ns.map(str::to_owned),
            stop,
            accept: Some(accept),
        }
    }
}

/// Copies both directions between `a` and `b` on two threads; each direction's end is passed
/// on as a half-close, so either side closing ends the pair.
fn pump(a: TcpStream, b: TcpStream) {
    let _ = a.set_nodelay(true);
    let _ = b.set_nodelay(true);
    let (a2, b2) = match (a.try_clone(), b.try_clone()) {
        (Ok(a2), Ok(b2)) => (a2, b2),
        _ => return,
    };
    std::thread::spawn(move || copy(a, b2));
    std::thread::spawn(move || copy(b, a2));
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop with one last connection, made from the listening namespace
        // (if that namespace is gone already, so is the listener's loopback: leave the thread).
        let port = self.port;
        let path = self.listen_ns.as_ref().map(|n| format!("/run/netns/{n}"));
        let woken = std::thread::spawn(move || {
            if let Some(path) = path {
                let file = std::fs::File::open(path).map_err(drop)?;
                nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(drop)?;
            }
            TcpStream::connect(("127.0.0.1", port))
                .map(drop)
                .map_err(drop)
        })
        .join();
        if let (Ok(Ok(())), Some(t)) = (woken, self.accept.take()) {
            let _ = t.join();
        }
    }
}
