//! The manifest at a payload's root (`mxcp-bundle.json`): what was built, from what, by which
//! mxcp. The bundler writes it; the built server reads it for `--version`, `inspect` and the
//! project's name.

use serde::{Deserialize, Serialize};

/// The manifest layout this mxcp writes and reads.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest's layout ([`MANIFEST_VERSION`]). Manifests written before the field existed
    /// have the layout of version 1.
    #[serde(default = "first_version")]
    pub version: u32,
    pub project: String,
    pub mxcp_version: String,
    /// The payload format ([`crate::bundle::payload::FORMAT_VERSION`]).
    pub format: u32,
    /// The embedded CPython's version (`3.11`).
    pub python: String,
    pub endpoints: EndpointCounts,
    /// The requirements installed into the payload.
    pub dependencies: Vec<String>,
    pub include_data: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EndpointCounts {
    pub tools: usize,
    pub resources: usize,
    pub prompts: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the payload has no manifest ({})", crate::bundle::payload::MANIFEST)]
    Missing,
    #[error(
        "the payload's manifest has version {0}, which this mxcp cannot read (it reads version {MANIFEST_VERSION})"
    )]
    Version(u32),
    #[error("the payload's manifest is not valid: {0}")]
    Invalid(#[from] serde_json::Error),
}

fn first_version() -> u32 {
    1
}

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a manifest serializes")
    }

    /// Reads a manifest, refusing a version this mxcp does not know before reading the rest.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        #[derive(Deserialize)]
        struct Versioned {
            #[serde(default = "first_version")]
            version: u32,
        }
        let v: Versioned = serde_json::from_slice(bytes)?;
        if v.version != MANIFEST_VERSION {
            return Err(ManifestError::Version(v.version));
        }
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            version: MANIFEST_VERSION,
            project: "p".into(),
            mxcp_version: "0.1.0".into(),
            format: 1,
            python: "3.11".into(),
            endpoints: EndpointCounts { tools: 2, resources: 1, prompts: 0 },
            dependencies: vec!["markupsafe".into()],
            include_data: false,
        }
    }

    #[test]
    fn round_trips() {
        assert_eq!(Manifest::parse(&sample().to_json()).unwrap(), sample());
    }

    #[test]
    fn an_unknown_version_is_refused() {
        let mut json: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
        json["version"] = 99.into();
        let err = Manifest::parse(&serde_json::to_vec(&json).unwrap()).unwrap_err();
        assert!(matches!(err, ManifestError::Version(99)), "{err}");
        assert!(err.to_string().contains("version 99"), "{err}");
    }

    #[test]
    fn a_manifest_without_version_is_the_first_layout() {
        let mut json: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
        json.as_object_mut().unwrap().remove("version");
        assert_eq!(Manifest::parse(&serde_json::to_vec(&json).unwrap()).unwrap(), sample());
    }
}
