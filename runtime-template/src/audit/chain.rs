//! Tamper evidence: each record's `record_hash` is the SHA-256 of its canonical JSON (keys
//! sorted, no whitespace, without `record_hash` and `signature`), which includes `prev_hash`,
//! the hash of the record before it. With a key, `signature` is Ed25519 over the
//! `record_hash` text (deterministic, RFC 8032), base64. The only module that uses
//! ed25519-compact.

use base64::Engine as _;
use ed25519_compact::{KeyPair, PublicKey, Signature};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use super::AuditError;

/// The fields the hash leaves out: the hash itself and what signs it.
const UNHASHED: [&str; 2] = ["record_hash", "signature"];

/// A parsed record's hash, hex (what `log verify` recomputes).
pub(super) fn record_hash(fields: &Map<String, Json>) -> String {
    let mut text = Vec::with_capacity(512);
    canonical_object(fields, &UNHASHED, &mut text);
    hash_hex(&text)
}

/// SHA-256 of a record's canonical text, hex.
pub(super) fn hash_hex(canonical: &[u8]) -> String {
    hex(&Sha256::digest(canonical))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn canonical_object(m: &Map<String, Json>, skip: &[&str], out: &mut Vec<u8>) {
    let mut keys: Vec<&String> = m.keys().filter(|k| !skip.contains(&k.as_str())).collect();
    keys.sort();
    out.push(b'{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, k).expect("strings serialize");
        out.push(b':');
        canonical(&m[k], out);
    }
    out.push(b'}');
}

/// A value's canonical JSON: keys sorted at every level, no whitespace.
pub(super) fn canonical(v: &Json, out: &mut Vec<u8>) {
    match v {
        Json::Object(m) => canonical_object(m, &[], out),
        Json::Array(items) => {
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(x, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("scalars serialize"),
    }
}

/// The private key records are signed with (`audit.signing_key` of the user configuration).
pub struct Signer(KeyPair);

impl Signer {
    /// A PKCS#8 PEM Ed25519 private key (`openssl genpkey -algorithm ed25519`).
    pub fn from_pem(text: &str) -> Result<Signer, AuditError> {
        KeyPair::from_pem(text.trim()).map(Signer).map_err(|e| {
            AuditError::Key(format!(
                "audit.signing_key is not an Ed25519 private key in PEM (PKCS#8) form: {e} \
                 (make one with `openssl genpkey -algorithm ed25519`)"
            ))
        })
    }

    pub(super) fn sign(&self, hash: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0.sk.sign(hash.as_bytes(), None).as_ref())
    }

    pub fn verifier(&self) -> Verifier {
        Verifier(self.0.pk)
    }
}

/// The public key signatures are checked with.
pub struct Verifier(PublicKey);

impl Verifier {
    /// A PEM public key (`openssl pkey -pubout`), or a private key (its public half).
    pub fn from_pem(text: &str) -> Result<Verifier, AuditError> {
        if let Ok(k) = PublicKey::from_pem(text.trim()) {
            return Ok(Verifier(k));
        }
        Signer::from_pem(text).map(|s| s.verifier()).map_err(|_| {
            AuditError::Key(
                "audit.verify_key is not an Ed25519 key in PEM form (a public key, or the private key)".into(),
            )
        })
    }

    pub(super) fn verify(&self, hash: &str, signature: &str) -> bool {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.0.verify(hash.as_bytes(), &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl genpkey -algorithm ed25519`, made for these tests.
    const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIN0uWGNQkREPg6k3XNqlHL3tviAUVO18xbWoemyu00Jv\n-----END PRIVATE KEY-----\n";

    #[test]
    fn hashes_ignore_key_order_and_cover_every_other_field() {
        let a: Map<String, Json> = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, "x"], "x": null}}"#).unwrap();
        let b: Map<String, Json> = serde_json::from_str(r#"{"a": {"x": null, "y": [1, "x"]}, "b": 1}"#).unwrap();
        assert_eq!(record_hash(&a), record_hash(&b));
        let c: Map<String, Json> = serde_json::from_str(r#"{"a": {"x": null, "y": [1, "x"]}, "b": 2}"#).unwrap();
        assert_ne!(record_hash(&a), record_hash(&c));
        let mut d = a.clone();
        d.insert("record_hash".into(), "whatever".into());
        assert_eq!(record_hash(&a), record_hash(&d));
    }

    #[test]
    fn signatures_verify_with_the_public_half_only() {
        let signer = Signer::from_pem(TEST_KEY).unwrap();
        let hash = record_hash(&serde_json::from_str(r#"{"a": 1}"#).unwrap());
        let sig = &signer.sign(&hash);
        assert!(signer.verifier().verify(&hash, sig));
        assert!(!signer.verifier().verify(&record_hash(&Map::new()), sig));
        assert!(Signer::from_pem("not a key").is_err());
    }
}
