//! Verified tokens, kept so a client's next requests cost a hash and a lookup instead of a
//! signature check or a call to the issuer; and which caller opened which MCP session.
//! Tokens are keyed by their SHA-256, never stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::exec::identity::Identity;

/// A token is trusted from the cache at most this long (or until it expires, if sooner), so a
/// revocation the issuer reports through introspection is seen within this time.
const MAX_AGE: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], (Arc<Identity>, Instant)>>,
}

impl TokenCache {
    pub(crate) fn get(&self, token: &str) -> Option<Arc<Identity>> {
        let key = digest(token);
        let mut entries = self.entries.lock().expect("token cache lock");
        match entries.get(&key) {
            Some((id, until)) if Instant::now() < *until => Some(id.clone()),
            Some(_) => {
                entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Keeps a verified token until `exp` (seconds since epoch) or [`MAX_AGE`], whichever is first.
    pub(crate) fn put(&self, token: &str, identity: Arc<Identity>, exp: Option<i64>) {
        let mut ttl = MAX_AGE;
        if let Some(exp) = exp {
            let left = exp - super::opaque::now();
            if left <= 0 {
                return;
            }
            ttl = ttl.min(Duration::from_secs(left as u64));
        }
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("token cache lock");
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(digest(token), (identity, now + ttl));
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// MCP sessions and who opened them: a session id learnt by someone else is refused
/// (MCP security best practices: bind session data to the user, not only to the id).
#[derive(Default)]
pub(crate) struct SessionOwners {
    owners: Mutex<HashMap<String, String>>,
}

impl SessionOwners {
    pub(crate) fn opened(&self, session_id: &str, identity: &Identity) {
        let mut owners = self.owners.lock().expect("session lock");
        if owners.len() >= MAX_ENTRIES {
            // sessions end without telling us; forget the oldest half rather than grow forever
            let drop: Vec<String> = owners.keys().take(MAX_ENTRIES / 2).cloned().collect();
            for k in drop {
                owners.remove(&k);
            }
        }
        owners.insert(session_id.to_string(), owner(identity));
    }

    pub(crate) fn allowed(&self, session_id: &str, identity: &Identity) -> bool {
        match self.owners.lock().expect("session lock").get(session_id) {
            Some(o) => *o == owner(identity),
            None => true,
        }
    }
}

fn owner(identity: &Identity) -> String {
    let iss = identity.claims.get("iss").and_then(|v| v.as_str()).unwrap_or_default();
    format!("{iss}|{}", identity.user_id.as_deref().unwrap_or_default())
}
