//! Logging in: a Basic user/password handshake answered with a bearer token that later calls
//! carry. Tokens are 256 random bits; each names one session.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::prelude::Engine;

/// Standard base64 with or without `=` padding: the Go ADBC driver sends it unpadded.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
use ember_common::{EmberConf, EmberError, Result};
use tonic::metadata::MetadataMap;
use tonic::Status;

/// Who may use the server.
#[derive(Clone)]
pub enum Auth {
    /// Anyone who reaches the port (`ember.server.auth=none`).
    None,
    /// One user name and password (`ember.server.user`, `ember.server.password`).
    Password { user: String, password: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => write!(f, "none"),
            Auth::Password { user, .. } => write!(f, "password (user {user})"),
        }
    }
}

impl Auth {
    pub fn from_conf(conf: &EmberConf) -> Result<Self> {
        match conf
            .get("ember.server.auth")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "none" => Ok(Auth::None),
            "password" => {
                let user = conf.get("ember.server.user").unwrap_or_default();
                let password = conf
                    .get("ember.server.password")
                    .filter(|p| !p.is_empty())
                    .or_else(|| std::env::var("EMBER_SERVER_PASSWORD").ok())
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| {
                        EmberError::Config(
                            "the server needs a password for its clients: set EMBER_SERVER_PASSWORD \
                             or --conf ember.server.password=..., or turn logins off with \
                             --conf ember.server.auth=none"
                                .into(),
                        )
                    })?;
                if user.is_empty() {
                    return Err(EmberError::Config("ember.server.user is empty".into()));
                }
                Ok(Auth::Password { user, password })
            }
            other => Err(EmberError::Config(format!(
                "ember.server.auth is password or none, got '{other}'"
            ))),
        }
    }

    /// Checks a handshake's `authorization: Basic ...` header; returns the user name.
    pub(crate) fn login(&self, metadata: &MetadataMap) -> std::result::Result<String, Status> {
        let basic = match metadata.get("authorization") {
            Some(value) => {
                let value = value
                    .to_str()
                    .map_err(|_| Status::unauthenticated("the authorization header is not text"))?;
                match value
                    .strip_prefix("Basic ")
                    .or_else(|| value.strip_prefix("basic "))
                {
                    Some(encoded) => Some(decode_basic(encoded)?),
                    None => None,
                }
            }
            None => None,
        };
        match (self, basic) {
            (Auth::None, Some((user, _))) => Ok(user),
            (Auth::None, None) => Ok("anonymous".into()),
            (Auth::Password { user, password }, Some((given_user, given_password))) => {
                if constant_time_eq(user.as_bytes(), given_user.as_bytes())
                    & constant_time_eq(password.as_bytes(), given_password.as_bytes())
                {
                    Ok(given_user)
                } else {
                    log::warn!("Flight SQL login refused for user '{given_user}'");
                    Err(Status::unauthenticated("wrong user name or password"))
                }
            }
            (Auth::Password { .. }, None) => Err(Status::unauthenticated(
                "log in with a user name and password (Basic authentication in the handshake)",
            )),
        }
    }
}

fn decode_basic(encoded: &str) -> std::result::Result<(String, String), Status> {
    let bytes = BASE64_ANY_PADDING
        .decode(encoded.trim())
        .map_err(|_| Status::unauthenticated("the Basic credentials are not base64"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Status::unauthenticated("the Basic credentials are not UTF-8"))?;
    let (user, password) = text
        .split_once(':')
        .ok_or_else(|| Status::unauthenticated("Basic credentials are user:password"))?;
    Ok((user.to_string(), password.to_string()))
}

/// Compares secrets without an early exit that would time how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(1)) as usize;
    }
    diff == 0
}

/// A fresh bearer token: 32 random bytes, hex.
pub(crate) fn new_token() -> std::result::Result<String, Status> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Status::internal(format!("no randomness for a token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The bearer token of a call, if it carries one.
pub(crate) fn bearer(metadata: &MetadataMap) -> std::result::Result<Option<String>, Status> {
    let Some(value) = metadata.get("authorization") else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Status::unauthenticated("the authorization header is not text"))?;
    match value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    {
        Some(token) => Ok(Some(token.trim().to_string())),
        None => Err(Status::unauthenticated(
            "calls carry the bearer token the handshake returned (authorization: Bearer ...)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::prelude::{BASE64_STANDARD, BASE64_STANDARD_NO_PAD};

    fn basic(user: &str, password: &str) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        let value = format!(
            "Basic {}",
            BASE64_STANDARD.encode(format!("{user}:{password}"))
        );
        metadata.insert("authorization", value.parse().unwrap());
        metadata
    }

    #[test]
    fn passwords_are_checked() {
        let auth = Auth::Password {
            user: "ember".into(),
            password: "s3cret".into(),
        };
        assert_eq!(auth.login(&basic("ember", "s3cret")).unwrap(), "ember");
        for (user, password) in [("ember", "s3cre"), ("ember", "s3cret!"), ("embe", "s3cret")] {
            let err = auth.login(&basic(user, password)).unwrap_err();
            assert_eq!(err.code(), tonic::Code::Unauthenticated);
        }
        let err = auth.login(&MetadataMap::new()).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        assert_eq!(Auth::None.login(&MetadataMap::new()).unwrap(), "anonymous");
    }

    #[test]
    fn unpadded_base64_is_accepted() {
        // "ember:pw" needs padding; Go's ADBC driver leaves it out.
        let auth = Auth::Password {
            user: "ember".into(),
            password: "pw".into(),
        };
        let mut metadata = MetadataMap::new();
        let value = format!("Basic {}", BASE64_STANDARD_NO_PAD.encode("ember:pw"));
        metadata.insert("authorization", value.parse().unwrap());
        assert_eq!(auth.login(&metadata).unwrap(), "ember");
    }

    #[test]
    fn tokens_are_random_and_long() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
