//! Network namespaces for tests: each test host gets its own namespace, so BIRD never touches
//! the machine's real routing table or network. Removed on drop.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A unique short name (interface names are limited to 15 characters).
pub fn unique(prefix: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}{}x{n}", std::process::id() % 100_000)
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A network namespace with loopback up.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(prefix: &str) -> Netns {
        let name = unique(prefix);
        ip(&["netns", "add", &name]).unwrap_or_else(|e| {
            panic!("cannot create a network namespace ({e}); the tests need root (CI runs as root)")
        });
        ip(&["-n", &name, "link", "set", "lo", "up"]).unwrap();
        Netns { name }
    }

    /// Adds an address to loopback inside the namespace (e.g. `10.99.0.1/32`).
    pub fn add_loopback_address(&self, cidr: &str) {
        ip(&["-n", &self.name, "addr", "add", cidr, "dev", "lo"]).unwrap();
    }

    /// A command that runs inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `ip ARGS` inside the namespace.
    pub fn ip(&self, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Connects namespaces to a shared bridge: each gets a veth with the given address.
pub struct Lan {
    pub bridge: String,
    bridge_ns: Netns,
}

impl Lan {
    /// A bridge living in its own namespace (nothing is created in the root namespace).
    pub fn new() -> Lan {
        let bridge_ns = Netns::new("pb");
        let bridge = "br0".to_owned();
        bridge_ns
            .ip(&["link", "add", &bridge, "type", "bridge"])
            .unwrap();
        bridge_ns.ip(&["link", "set", &bridge, "up"]).unwrap();
        Lan { bridge, bridge_ns }
    }

    /// The namespace the bridge lives in.
    pub fn namespace(&self) -> &str {
        &self.bridge_ns.name
    }

    /// Plugs `ns` in with `cidr` (e.g. `10.99.0.11/24`) on interface `eth0`.
    pub fn attach(&self, ns: &Netns, cidr: &str) {
        let host_end = unique("pv");
        let peer_end = unique("pp");
        self.bridge_ns
            .ip(&[
                "link", "add", &host_end, "type", "veth", "peer", "name", &peer_end,
            ])
            .unwrap();
        self.bridge_ns
            .ip(&["link", "set", &peer_end, "netns", &ns.name])
            .unwrap();
        self.bridge_ns
            .ip(&["link", "set", &host_end, "master", &self.bridge])
            .unwrap();
        self.bridge_ns
            .ip(&["link", "set", &host_end, "up"])
            .unwrap();
        ns.ip(&["link", "set", &peer_end, "name", "eth0"]).unwrap();
        ns.ip(&["addr", "add", cidr, "dev", "eth0"]).unwrap();
        ns.ip(&["link", "set", "eth0", "up"]).unwrap();
    }
}

impl Default for Lan {
    fn default() -> Self {
        Lan::new()
    }
}
