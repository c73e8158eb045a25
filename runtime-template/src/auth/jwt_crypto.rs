//! Signature checks for jsonwebtoken done by ring (already linked, for TLS): its RSA and ECDSA
//! verification is several times faster than the pure-Rust backend (measured: ~150 µs vs a
//! few tens of µs for an RS256 token), which is the cost of every first use of a token.
//! EdDSA (and anything else) stays with jsonwebtoken's pure-Rust provider. The only module that
//! talks to ring.

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use ring::signature::{self as rs, VerificationAlgorithm};

/// Installs the provider once, before the first token is verified.
pub(crate) fn install() {
    static PROVIDER: std::sync::OnceLock<CryptoProvider> = std::sync::OnceLock::new();
    let provider = PROVIDER.get_or_init(|| CryptoProvider {
        verifier_factory: new_verifier,
        ..jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.clone()
    });
    // already installed (by an earlier start in this process): the same provider
    let _ = provider.install_default();
}

enum Public {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Point(Vec<u8>),
}

struct RingVerifier {
    algorithm: Algorithm,
    ring: &'static dyn VerificationAlgorithm,
    key: Public,
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        let ok = match &self.key {
            Public::Rsa { n, e } => rs::RsaPublicKeyComponents { n, e }.verify(rsa_params(self.algorithm), msg, sig),
            Public::Point(p) => rs::UnparsedPublicKey::new(self.ring, p).verify(msg, sig),
        };
        ok.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn rsa_params(a: Algorithm) -> &'static rs::RsaParameters {
    match a {
        Algorithm::RS384 => &rs::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &rs::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &rs::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &rs::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &rs::RSA_PSS_2048_8192_SHA512,
        _ => &rs::RSA_PKCS1_2048_8192_SHA256,
    }
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    let ring: &'static dyn VerificationAlgorithm = match algorithm {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => rsa_params(*algorithm),
        Algorithm::ES256 => &rs::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &rs::ECDSA_P384_SHA384_FIXED,
        _ => return (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.verifier_factory)(algorithm, key),
    };
    let public = match (key.kind(), matches!(algorithm, Algorithm::ES256 | Algorithm::ES384)) {
        (DecodingKeyKind::RsaModulusExponent { n, e }, false) => Public::Rsa { n: n.clone(), e: e.clone() },
        // an EC key from a JWK is the uncompressed point 0x04 || x || y, what ring takes
        (DecodingKeyKind::SecretOrDer(point), true) => Public::Point(point.clone()),
        _ => return (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.verifier_factory)(algorithm, key),
    };
    Ok(Box::new(RingVerifier { algorithm: *algorithm, ring, key: public }))
}
