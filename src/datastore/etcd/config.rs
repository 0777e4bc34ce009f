//! How perch reaches etcd: endpoints, TLS files, user and password, timeouts, and the one
//! place that turns etcd-client errors into perch's lowercase, password-free messages.
//!
//! Owns: [`EtcdConfig`], [`connect`] (trying every endpoint given), [`EtcdError`]. Must not: read resources or retry; the
//! callers decide whether an error is worth another attempt.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use etcd_client::{Certificate, Client, ConnectOptions, GetOptions, Identity, TlsOptions};

use crate::resources::ResourceId;
use crate::resources::keys::RESOURCES_ROOT;

/// How long to wait for a TCP (and TLS) connection to an endpoint.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one unary request (get, put, txn) may take. Watch streams are not limited.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 ping interval while a stream is open; etcd's default `--grpc-keepalive-min-time` is
/// 5 s, so pinging more often gets the connection closed with "too many pings".
pub(super) const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long an unanswered ping may wait before the connection (and any watch on it) fails.
/// Without keep-alive a frozen etcd would hang a watch forever.
pub(super) const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where etcd is and how to authenticate: calicoctl's `ETCD_*` settings.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EtcdConfig {
    /// `http://host:port` or `https://host:port` (a bare `host:port` uses TLS when TLS files
    /// are given).
    pub endpoints: Vec<String>,
    /// CA certificate (PEM) that signed etcd's server certificate.
    pub ca_cert_file: Option<PathBuf>,
    /// Client certificate (PEM), for etcd's `--client-cert-auth`.
    pub cert_file: Option<PathBuf>,
    /// Client key (PEM) matching `cert_file`.
    pub key_file: Option<PathBuf>,
    /// etcd user, when etcd has auth enabled.
    pub username: Option<String>,
    /// The user's password. Never printed: `Debug` shows `<redacted>`.
    pub password: Option<String>,
}

impl fmt::Debug for EtcdConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdConfig")
            .field("endpoints", &self.endpoints)
            .field("ca_cert_file", &self.ca_cert_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl EtcdConfig {
    /// A config for plain-HTTP endpoints with no authentication.
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> EtcdConfig {
        EtcdConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// The endpoints as shown in messages: `http://a:2379,http://b:2379`.
    pub fn endpoints_text(&self) -> String {
        self.endpoints.join(",")
    }

    fn uses_tls(&self) -> bool {
        self.ca_cert_file.is_some() || self.cert_file.is_some() || self.key_file.is_some()
    }

    /// The etcd-client options: timeouts, keep-alive, user and TLS. Reads the TLS files.
    pub fn connect_options(&self) -> Result<ConnectOptions, EtcdError> {
        let mut opts = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            .with_keep_alive(KEEP_ALIVE_INTERVAL, KEEP_ALIVE_TIMEOUT)
            .with_keep_alive_while_idle(false)
            // A member cut off from its cluster fails requests and cancels watches instead of
            // serving stale data forever, so perch moves to another endpoint.
            .with_require_leader(true);
        if let Some(user) = self.username.as_deref().filter(|u| !u.is_empty()) {
            let password = self.password.clone().unwrap_or_default();
            opts = opts.with_user(user, password).with_auto_token_refresh(true);
        }
        if self.uses_tls() {
            if let Some(plain) = self.endpoints.iter().find(|e| e.starts_with("http://")) {
                return Err(EtcdError::Config(format!(
                    "etcd endpoint {plain}: TLS files were given, so the endpoint must be https://"
                )));
            }
            let mut tls = TlsOptions::new();
            if let Some(ca) = &self.ca_cert_file {
                tls = tls.ca_certificate(Certificate::from_pem(read_pem(ca, "CA certificate")?));
            }
            match (&self.cert_file, &self.key_file) {
                (Some(cert), Some(key)) => {
                    tls = tls.identity(Identity::from_pem(
                        read_pem(cert, "client certificate")?,
                        read_pem(key, "client key")?,
                    ));
                }
                (None, None) => {}
                _ => {
                    return Err(EtcdError::Config(
                        "etcd client certificate and key must be given together \
                         (--etcd-cert-file and --etcd-key-file)"
                            .into(),
                    ));
                }
            }
            opts = opts.with_tls(tls);
        }
        Ok(opts)
    }
}

fn read_pem(path: &Path, what: &str) -> Result<Vec<u8>, EtcdError> {
    std::fs::read(path)
        .map_err(|e| EtcdError::Config(format!("etcd {what} {}: {e}", path.display())))
}

/// With several endpoints, how long one of them may take to connect and answer before the
/// next is tried (a frozen member accepts TCP connections but never answers).
pub(super) const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(4);

/// Connects and proves the connection with a real request (`Client::connect` alone is lazy
/// and succeeds with nothing listening). Authentication happens here too.
///
/// Tries the endpoints in the order given until one answers, as etcdctl and calicoctl do:
/// one member down (or frozen) never stops perch while another one serves.
pub async fn connect(cfg: &EtcdConfig) -> Result<Client, EtcdError> {
    connect_from(cfg, 0).await.map(|(client, _)| client)
}

/// Like [`connect`], trying the endpoints from index `start` on (wrapping around). Returns
/// the client and the index of the endpoint it is connected to, so a reconnect can start
/// with the next one.
pub(crate) async fn connect_from(
    cfg: &EtcdConfig,
    start: usize,
) -> Result<(Client, usize), EtcdError> {
    if cfg.endpoints.is_empty() {
        return Err(EtcdError::Config("no etcd endpoints given".into()));
    }
    let opts = cfg.connect_options()?;
    // During an election members answer "leader changed" / "no leader" for a moment: try
    // the round again rather than fail a command over it.
    let deadline = tokio::time::Instant::now() + ELECTION_WAIT;
    loop {
        let failures = match connect_round(cfg, &opts, start).await {
            Ok(connected) => return Ok(connected),
            Err(failures) => failures,
        };
        let electing = failures.iter().all(|e| e.to_string().contains("leader"));
        if !electing || tokio::time::Instant::now() >= deadline {
            return Err(connect_failed(cfg, failures));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// How long connecting waits for a cluster to finish electing a leader.
const ELECTION_WAIT: Duration = Duration::from_secs(5);

/// One try of every endpoint, from `start`; the failures in order when none answers.
async fn connect_round(
    cfg: &EtcdConfig,
    opts: &ConnectOptions,
    start: usize,
) -> Result<(Client, usize), Vec<EtcdError>> {
    let count = cfg.endpoints.len();
    if count == 1 {
        let limit = CONNECT_TIMEOUT + REQUEST_TIMEOUT;
        return connect_one(cfg, &cfg.endpoints[0], opts.clone(), limit)
            .await
            .map(|c| (c, 0))
            .map_err(|e| vec![e]);
    }
    let mut failures: Vec<EtcdError> = Vec::new();
    for k in 0..count {
        let i = (start + k) % count;
        let endpoint = &cfg.endpoints[i];
        match connect_one(cfg, endpoint, opts.clone(), ENDPOINT_TIMEOUT).await {
            Ok(client) => {
                if !failures.is_empty() {
                    tracing::info!(
                        endpoint = %endpoint,
                        "etcd: connected after {} endpoint(s) failed",
                        failures.len()
                    );
                }
                return Ok((client, i));
            }
            Err(e) => {
                tracing::debug!(endpoint = %endpoint, "etcd: {e}; trying the next endpoint");
                failures.push(e);
            }
        }
    }
    Err(failures)
}

/// The error when no endpoint answered: with one endpoint its own error, else every
/// endpoint's reason.
fn connect_failed(cfg: &EtcdConfig, mut failures: Vec<EtcdError>) -> EtcdError {
    if failures.len() == 1 {
        return failures.remove(0);
    }
    let message = failures
        .iter()
        .filter_map(|e| match e {
            EtcdError::Request {
                endpoints, message, ..
            } => Some(format!("{endpoints}: {message}")),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("; ");
    EtcdError::Request {
        endpoints: cfg.endpoints_text(),
        action: "connecting (every endpoint failed)".into(),
        message,
    }
}

async fn connect_one(
    cfg: &EtcdConfig,
    endpoint: &str,
    opts: ConnectOptions,
    limit: Duration,
) -> Result<Client, EtcdError> {
    let attempt = async {
        let mut client = Client::connect([endpoint], Some(opts))
            .await
            .map_err(|e| EtcdError::from_client(endpoint, "connecting", &e))?;
        client
            .get(
                RESOURCES_ROOT,
                Some(GetOptions::new().with_prefix().with_count_only()),
            )
            .await
            .map_err(|e| EtcdError::from_client(endpoint, "connecting", &e))?;
        Ok(client)
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(result) => result,
        Err(_) => Err(EtcdError::Request {
            endpoints: if cfg.endpoints.len() == 1 {
                cfg.endpoints_text()
            } else {
                endpoint.to_owned()
            },
            action: "connecting".into(),
            message: "timed out".into(),
        }),
    }
}

/// What went wrong talking to etcd, typed by what the caller does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdError {
    /// The settings cannot work (unreadable TLS file, TLS with `http://`): retrying won't help.
    #[error("{0}")]
    Config(String),
    /// A request failed (unreachable, timed out, authentication, permission): retry with
    /// backoff, or report.
    #[error("etcd {endpoints}: {action}: {message}")]
    Request {
        /// The etcd endpoints, as configured.
        endpoints: String,
        /// What perch was doing (e.g. listing a prefix).
        action: String,
        /// The client's error.
        message: String,
    },
    /// The revision asked for was compacted away: list again from the current revision.
    #[error("etcd {endpoints}: {action}: the revision asked for has been compacted")]
    Compacted {
        /// The etcd endpoints, as configured.
        endpoints: String,
        /// What perch was doing.
        action: String,
    },
    /// The resource is not in etcd.
    #[error("{} does not exist", quoted(.0))]
    NotFound(ResourceId),
    /// A create found the resource already there.
    #[error("{} already exists", quoted(.0))]
    AlreadyExists(ResourceId),
    /// A compare-and-swap lost: the resource changed since `expected` was read.
    #[error(
        "{} was modified concurrently: resourceVersion {expected} is stale (now {actual}); get it again and retry",
        quoted(id)
    )]
    Conflict {
        /// The resource.
        id: ResourceId,
        /// The resourceVersion the write was based on.
        expected: i64,
        /// The resourceVersion in etcd now.
        actual: i64,
    },
    /// Other writers kept changing the resource through every compare-and-swap attempt;
    /// nothing was written: try again later.
    #[error(
        "{}: gave up after {attempts} attempts: other writers kept changing it",
        quoted(id)
    )]
    Contended {
        /// The resource.
        id: ResourceId,
        /// How many compare-and-swaps were tried.
        attempts: u32,
    },
    /// The resource is not one Calico would accept; nothing was written.
    #[error("{0}")]
    Invalid(String),
}

/// `BGPPeer "rack1-tor"`.
pub fn quoted(id: &ResourceId) -> String {
    format!("{} {:?}", id.kind, id.name)
}

impl EtcdError {
    /// Wraps an etcd-client error, naming the endpoints and what perch was doing.
    pub fn request(cfg: &EtcdConfig, action: &str, e: &etcd_client::Error) -> EtcdError {
        EtcdError::from_client(&cfg.endpoints_text(), action, e)
    }

    /// Like [`EtcdError::request`], with the endpoints already formatted.
    pub fn from_client(endpoints: &str, action: &str, e: &etcd_client::Error) -> EtcdError {
        if let etcd_client::Error::GRpcStatus(s) = e
            && s.code() as i32 == GRPC_OUT_OF_RANGE
            && s.message().contains("compacted")
        {
            return EtcdError::Compacted {
                endpoints: endpoints.to_owned(),
                action: action.to_owned(),
            };
        }
        EtcdError::Request {
            endpoints: endpoints.to_owned(),
            action: action.to_owned(),
            message: describe(e),
        }
    }

    /// Whether another attempt later may succeed (a request or compaction problem).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            EtcdError::Request { .. } | EtcdError::Compacted { .. }
        )
    }
}

/// gRPC's `OUT_OF_RANGE`: etcd's answer for a revision that was compacted.
const GRPC_OUT_OF_RANGE: i32 = 11;

/// The message of an etcd-client error and its causes, each once
/// (`tcp connect error: Connection refused (os error 111)`).
fn describe(e: &etcd_client::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let first = match e {
        etcd_client::Error::GRpcStatus(s) if !s.message().is_empty() => s.message().to_owned(),
        etcd_client::Error::GRpcStatus(s) => format!("{:?}", s.code()),
        other => other.to_string(),
    };
    parts.push(first);
    let mut source = std::error::Error::source(e);
    if let etcd_client::Error::GRpcStatus(s) = e {
        source = std::error::Error::source(s);
    }
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
