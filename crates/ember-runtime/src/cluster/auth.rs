//! Authentication between driver and executors, as Spark's `spark.authenticate`: every RPC
//! (registration, heartbeats, task launches, shuffle fetches, removals) carries proof that
//! its sender knows the cluster's shared secret, and a process refuses a call without it.
//!
//! The proof is `<minute>:<HMAC-SHA256(secret, minute)>` in the `x-ember-auth` header: the
//! secret itself never crosses the network, and a captured header is only good for the
//! minute it was made in (and the next). Without `ember.ssl.enabled` the calls themselves
//! (and shuffle data) travel in clear.
//!
//! The secret: `ember.authenticate.secret` or `EMBER_AUTHENTICATE_SECRET` on the driver and
//! every executor; a `local-cluster` driver makes one up and hands it to the executors it
//! starts through their environment. `ember.authenticate=false` turns checking off.
//!
//! With `ember.ssl.enabled`, the same calls also run over TLS: every process serves with its
//! certificate (`ember.ssl.certFile`, `ember.ssl.keyFile`) and trusts the peers that the CA
//! of `ember.ssl.trustFile` signed.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ember_common::{EmberConf, EmberError, Result};
use ring::hmac;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The header that carries the proof.
const HEADER: &str = "x-ember-auth";
/// The environment variable that carries the secret to executors.
pub const SECRET_ENV: &str = "EMBER_AUTHENTICATE_SECRET";
/// The configuration keys.
pub const AUTHENTICATE_KEY: &str = "ember.authenticate";
pub const SECRET_KEY: &str = "ember.authenticate.secret";

/// Whether and how this process proves itself and checks its peers.
#[derive(Clone)]
pub struct ClusterAuth {
    key: Option<hmac::Key>,
    /// TLS for every call, when `ember.ssl.enabled`.
    tls: Option<Arc<TlsFiles>>,
}

/// PEM contents of `ember.ssl.certFile`, `ember.ssl.keyFile` and `ember.ssl.trustFile`.
pub struct TlsFiles {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
    pub trust: Vec<u8>,
}

/// The `ember.ssl.*` keys a local-cluster driver passes on to the executors it starts.
pub const SSL_KEYS: [&str; 4] = [
    "ember.ssl.enabled",
    "ember.ssl.certFile",
    "ember.ssl.keyFile",
    "ember.ssl.trustFile",
];

impl std::fmt::Debug for ClusterAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ClusterAuth({}{})",
            if self.key.is_some() {
                "shared secret"
            } else {
                "off"
            },
            if self.tls.is_some() { ", TLS" } else { "" }
        )
    }
}

impl ClusterAuth {
    /// No authentication.
    pub fn off() -> Self {
        ClusterAuth {
            key: None,
            tls: None,
        }
    }

    /// Authentication with `secret`.
    pub fn with_secret(secret: &str) -> Self {
        ClusterAuth {
            key: Some(hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())),
            tls: None,
        }
    }

    /// Adds TLS from `ember.ssl.*` when `ember.ssl.enabled`; a missing or unreadable file is
    /// an error naming the key.
    pub fn with_tls_from_conf(mut self, conf: &EmberConf) -> Result<Self> {
        if !conf.get_bool("ember.ssl.enabled") {
            return Ok(self);
        }
        let read = |key: &str| -> Result<Vec<u8>> {
            let path = conf.get(key).filter(|p| !p.is_empty()).ok_or_else(|| {
                EmberError::Config(format!(
                    "ember.ssl.enabled=true needs {key} (a PEM file); set ember.ssl.certFile, \
                     ember.ssl.keyFile and ember.ssl.trustFile"
                ))
            })?;
            std::fs::read(&path).map_err(|e| EmberError::io(format!("{key} {path}"), e))
        };
        self.tls = Some(Arc::new(TlsFiles {
            cert: read("ember.ssl.certFile")?,
            key: read("ember.ssl.keyFile")?,
            trust: read("ember.ssl.trustFile")?,
        }));
        Ok(self)
    }

    /// The TLS material, when calls run over TLS.
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_deref()
    }

    /// The secret configured for this process, if authentication is on: the setting, else
    /// the environment variable. `generate` makes one up when none is set (a `local-cluster`
    /// driver); otherwise a missing secret is an error that says what to set.
    pub fn secret_from_conf(conf: &EmberConf, generate: bool) -> Result<Option<String>> {
        // The key defaults to true (see config.rs).
        if !conf.get_bool(AUTHENTICATE_KEY) {
            return Ok(None);
        }
        let configured = conf
            .get(SECRET_KEY)
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var(SECRET_ENV).ok().filter(|s| !s.is_empty()));
        match configured {
            Some(secret) => Ok(Some(secret)),
            None if generate => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| {
                    EmberError::execution(format!("cannot make a cluster secret: {e}"))
                })?;
                Ok(Some(bytes.iter().map(|b| format!("{b:02x}")).collect()))
            }
            None => Err(EmberError::Config(format!(
                "cluster mode authenticates driver and executors ({AUTHENTICATE_KEY}=true): set \
                 {SECRET_KEY} (or the {SECRET_ENV} environment variable) to the same secret on \
                 the driver and on every executor, or {AUTHENTICATE_KEY}=false on a trusted \
                 network"
            ))),
        }
    }

    pub fn is_on(&self) -> bool {
        self.key.is_some()
    }

    fn proof(key: &hmac::Key, minute: u64) -> String {
        let tag = hmac::sign(key, minute.to_string().as_bytes());
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("{minute}:{hex}")
    }

    fn check(&self, request: &Request<()>) -> std::result::Result<(), Status> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        let refused = |why: &str| {
            Status::unauthenticated(format!(
                "{why}: this Ember process requires the cluster's shared secret \
                 ({SECRET_KEY} or {SECRET_ENV})"
            ))
        };
        let value = request
            .metadata()
            .get(HEADER)
            .ok_or_else(|| refused("the call carried no proof of the secret"))?
            .to_str()
            .map_err(|_| refused("the call's proof is malformed"))?;
        let (minute, tag) = value
            .split_once(':')
            .ok_or_else(|| refused("the call's proof is malformed"))?;
        let minute: u64 = minute
            .parse()
            .map_err(|_| refused("the call's proof is malformed"))?;
        let now = now_minute();
        if minute + 1 < now || minute > now + 1 {
            return Err(refused(
                "the call's proof is too old or from the future (clocks more than a minute apart?)",
            ));
        }
        let tag: Vec<u8> = (0..tag.len() / 2)
            .filter_map(|i| u8::from_str_radix(tag.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        hmac::verify(key, minute.to_string().as_bytes(), &tag)
            .map_err(|_| refused("the call's proof does not match (another secret)"))
    }
}

fn now_minute() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

/// Adds the proof to every call a client makes.
#[derive(Clone, Debug)]
pub struct Prove(pub ClusterAuth);

impl Interceptor for Prove {
    fn call(&mut self, mut request: Request<()>) -> std::result::Result<Request<()>, Status> {
        if let Some(key) = &self.0.key {
            let proof = ClusterAuth::proof(key, now_minute());
            let value = MetadataValue::try_from(proof)
                .map_err(|_| Status::internal("the proof is not a valid header"))?;
            request.metadata_mut().insert(HEADER, value);
        }
        Ok(request)
    }
}

/// Refuses every call without a valid proof.
#[derive(Clone, Debug)]
pub struct Verify(pub ClusterAuth);

impl Interceptor for Verify {
    fn call(&mut self, request: Request<()>) -> std::result::Result<Request<()>, Status> {
        self.0.check(&request)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proved(auth: &ClusterAuth) -> Request<()> {
        Prove(auth.clone()).call(Request::new(())).unwrap()
    }

    #[test]
    fn only_a_proof_made_with_the_same_secret_passes() {
        let cluster = ClusterAuth::with_secret("s3cret");
        assert!(cluster.check(&proved(&cluster)).is_ok());
        let wrong = cluster
            .check(&proved(&ClusterAuth::with_secret("other")))
            .unwrap_err();
        assert!(wrong.message().contains("does not match"), "{wrong}");
        let none = cluster.check(&Request::new(())).unwrap_err();
        assert!(none.message().contains("no proof"), "{none}");
        assert!(none.message().contains(SECRET_KEY), "{none}");
        // The header never holds the secret.
        let request = proved(&cluster);
        let header = request.metadata().get(HEADER).unwrap().to_str().unwrap();
        assert!(!header.contains("s3cret"));
        // An old proof is refused.
        let key = cluster.key.clone().unwrap();
        let mut stale = Request::new(());
        stale.metadata_mut().insert(
            HEADER,
            MetadataValue::try_from(ClusterAuth::proof(&key, now_minute() - 5)).unwrap(),
        );
        assert!(cluster.check(&stale).is_err());
        // Off: everything passes.
        assert!(ClusterAuth::off().check(&Request::new(())).is_ok());
    }

    #[test]
    fn a_missing_secret_says_what_to_set_unless_one_may_be_made_up() {
        let conf = EmberConf::new();
        if std::env::var(SECRET_ENV).is_err() {
            let error = ClusterAuth::secret_from_conf(&conf, false)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(SECRET_KEY) && error.contains(SECRET_ENV),
                "{error}"
            );
        }
        let made = ClusterAuth::secret_from_conf(&conf, true).unwrap().unwrap();
        assert_eq!(made.len(), 64);
        let mut off = EmberConf::new();
        off.set(AUTHENTICATE_KEY, "false").unwrap();
        assert_eq!(ClusterAuth::secret_from_conf(&off, false).unwrap(), None);
    }
}
