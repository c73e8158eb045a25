//! The issuer's signing keys, fetched from its `jwks_uri` and kept. A token signed by a key
//! the set does not have triggers one refetch (keys rotate), but at most one per
//! [`REFETCH_INTERVAL`], so a stream of forged `kid`s cannot make the server hammer the issuer.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::jwt::KeySet;
use crate::fetch::Fetcher;

const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Keys are refreshed this often even when every token verifies.
const MAX_AGE: Duration = Duration::from_secs(3600);

pub(crate) struct KeyCache {
    uri: String,
    fetcher: Fetcher,
    current: RwLock<(Arc<KeySet>, Instant)>,
    /// When a refetch was last allowed (None: never since start).
    last_refetch: Mutex<Option<Instant>>,
}

impl KeyCache {
    pub(crate) async fn load(uri: &str, fetcher: Fetcher) -> Result<KeyCache, String> {
        let set = fetch(uri, &fetcher).await?;
        Ok(KeyCache {
            uri: uri.to_string(),
            fetcher,
            current: RwLock::new((Arc::new(set), Instant::now())),
            last_refetch: Mutex::new(None),
        })
    }

    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    /// The keys; refreshed first when they are older than [`MAX_AGE`].
    pub(crate) async fn keys(&self) -> Arc<KeySet> {
        let (set, at) = self.current.read().expect("key lock").clone();
        if at.elapsed() < MAX_AGE {
            return set;
        }
        self.replace().await.unwrap_or(set)
    }

    /// Fetches the set again after a token named a key it does not have; `None` when a
    /// refetch happened too recently or failed (the caller refuses the token).
    pub(crate) async fn refetch_for_unknown_key(&self) -> Option<Arc<KeySet>> {
        {
            let mut last = self.last_refetch.lock().expect("refetch lock");
            if last.is_some_and(|t| t.elapsed() < REFETCH_INTERVAL) {
                return None;
            }
            *last = Some(Instant::now());
        }
        self.replace().await
    }

    async fn replace(&self) -> Option<Arc<KeySet>> {
        match fetch(&self.uri, &self.fetcher).await {
            Ok(set) => {
                let set = Arc::new(set);
                *self.current.write().expect("key lock") = (set.clone(), Instant::now());
                Some(set)
            }
            Err(e) => {
                tracing::warn!("mxcp: cannot refresh the signing keys: {e}");
                None
            }
        }
    }
}

async fn fetch(uri: &str, fetcher: &Fetcher) -> Result<KeySet, String> {
    let reply = fetcher.get(uri).await.map_err(|e| e.to_string())?;
    if reply.status != 200 {
        return Err(format!("{uri}: HTTP {}", reply.status));
    }
    KeySet::from_jwks(&reply.body).map_err(|e| format!("{uri}: {e}"))
}
