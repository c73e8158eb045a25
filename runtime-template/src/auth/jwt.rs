//! JWT access tokens: signature, issuer, audience and validity times. The only module that
//! talks to jsonwebtoken. Keys come from the issuer's JWKS; a key only verifies the
//! algorithms of its own family (never `none`, never HMAC: a JWKS is public keys).

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value as Json};

/// The public keys of an issuer, each with the algorithms it may verify.
pub(crate) struct KeySet {
    keys: Vec<Key>,
}

struct Key {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

/// Why a token was refused; the text is safe to show (it never quotes the token).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refusal {
    /// Not a JWT at all (wrong shape, undecodable header).
    Malformed(String),
    /// Signed by a key the set does not have (the set may be stale).
    UnknownKey,
    Invalid(String),
}

pub(crate) struct Expected<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    pub leeway: u64,
}

/// Three segments, the first a base64url JSON object: a JWT (good or bad), not an opaque token.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    header_json(token).is_some()
}

fn header_json(token: &str) -> Option<Map<String, Json>> {
    use base64::Engine;
    let mut parts = token.split('.');
    let (Some(head), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(head.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl KeySet {
    /// The usable keys of a JWKS document; symmetric and unknown keys are skipped.
    pub(crate) fn from_jwks(doc: &Json) -> Result<KeySet, String> {
        let set: JwkSet =
            serde_json::from_value(strip_unknown_keys(doc)).map_err(|e| format!("not a JSON Web Key Set ({e})"))?;
        let keys: Vec<Key> = set.keys.iter().filter_map(key_of).collect();
        if keys.is_empty() {
            return Err("the key set has no usable public signing key (RSA, EC or Ed25519)".into());
        }
        Ok(KeySet { keys })
    }

    /// Verifies `token` and returns its claims.
    pub(crate) fn verify(&self, token: &str, expected: &Expected) -> Result<Map<String, Json>, Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            // `alg: none` and algorithms jsonwebtoken does not know fail here
            match header_json(token).and_then(|h| h.get("alg").cloned()) {
                Some(Json::String(_)) => Refusal::Invalid("the token's algorithm is not accepted".into()),
                _ => Refusal::Malformed("the token is not a well-formed JWT".into()),
            }
        })?;
        let candidates: Vec<&Key> = match &header.kid {
            Some(kid) => self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).collect(),
            None => self.keys.iter().collect(),
        };
        if candidates.is_empty() {
            return Err(Refusal::UnknownKey);
        }
        let usable: Vec<&Key> = candidates.into_iter().filter(|k| k.algorithms.contains(&header.alg)).collect();
        if usable.is_empty() {
            return Err(Refusal::Invalid(format!(
                "the token's algorithm {:?} is not accepted for its key",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = expected.leeway;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[expected.issuer]);
        validation.set_audience(&[expected.audience]);
        let mut last = Refusal::Invalid("the token's signature is not valid".into());
        for k in usable {
            match jsonwebtoken::decode::<Map<String, Json>>(token, &k.key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => last = refusal_of(&e),
            }
            if !matches!(last, Refusal::Invalid(ref m) if m.contains("signature")) {
                break;
            }
        }
        Err(last)
    }
}

fn refusal_of(e: &jsonwebtoken::errors::Error) -> Refusal {
    use jsonwebtoken::errors::ErrorKind as K;
    let text = match e.kind() {
        K::InvalidSignature => "the token's signature is not valid",
        K::ExpiredSignature => "the token has expired",
        K::ImmatureSignature => "the token is not valid yet",
        K::InvalidIssuer => "the token was issued by another issuer",
        K::InvalidAudience => "the token is not meant for this server (audience)",
        K::MissingRequiredClaim(c) => return Refusal::Invalid(format!("the token has no '{c}' claim")),
        K::InvalidAlgorithm | K::InvalidAlgorithmName => "the token's algorithm is not accepted",
        K::Base64(_) | K::Json(_) | K::Utf8(_) | K::InvalidToken => {
            return Refusal::Malformed("the token is not a well-formed JWT".into());
        }
        _ => "the token is not valid",
    };
    Refusal::Invalid(text.into())
}

fn key_of(jwk: &Jwk) -> Option<Key> {
    if jwk.common.public_key_use.as_ref().is_some_and(|u| !matches!(u, jsonwebtoken::jwk::PublicKeyUse::Signature)) {
        return None;
    }
    let family: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
        // a shared secret in a public key set is a misconfiguration: never verify with it
        AlgorithmParameters::OctetKey(_) => return None,
        _ => return None,
    };
    // a key that names its algorithm verifies that one only
    let algorithms = match jwk.common.key_algorithm.and_then(signing_algorithm) {
        Some(a) if family.contains(&a) => vec![a],
        Some(_) => return None,
        None => family,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key { kid: jwk.common.key_id.clone(), algorithms, key })
}

fn signing_algorithm(a: KeyAlgorithm) -> Option<Algorithm> {
    Some(match a {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Keys jsonwebtoken cannot parse (an unknown `kty`, an encryption key with an `alg` it does
/// not know) are dropped rather than failing the whole set.
fn strip_unknown_keys(doc: &Json) -> Json {
    let keys: Vec<Json> = doc["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|k| serde_json::from_value::<Jwk>((*k).clone()).is_ok())
        .cloned()
        .collect();
    serde_json::json!({ "keys": keys })
}
