//! What a build is for (`mxcp build --target`): the runtime executable the payload is appended
//! to, and the wheel platforms its dependencies are vendored for.
//!
//! The runtime of the host is the running `mxcp` itself. Another target's runtime is the
//! `mxcp` built for it, named `mxcp-<target>`, found by `--runtime PATH`, else in
//! `$MXCP_RUNTIME_DIR`, else beside the running `mxcp`.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    X86_64Linux,
    Aarch64Linux,
}

/// The oldest glibc a built executable is meant to run on; wheels must not need a newer one.
pub const GLIBC_FLOOR: (u32, u32) = (2, 28);

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("unknown target '{0}' (expected x86_64-linux or aarch64-linux)")]
    Unknown(String),
    #[error(
        "no mxcp runtime for {target}: looked for {tried}; build one with `./dev release` (or give its path with --runtime PATH)"
    )]
    Missing { target: &'static str, tried: String },
    #[error("{path} is not an mxcp runtime for {target}: {why}")]
    Wrong { path: String, target: &'static str, why: String },
}

impl Target {
    pub const ALL: [Target; 2] = [Target::X86_64Linux, Target::Aarch64Linux];

    pub fn parse(s: &str) -> Result<Target, TargetError> {
        Target::ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| TargetError::Unknown(s.to_string()))
    }

    /// The machine this mxcp was built for.
    pub fn host() -> Target {
        if cfg!(target_arch = "aarch64") { Target::Aarch64Linux } else { Target::X86_64Linux }
    }

    pub fn name(self) -> &'static str {
        match self {
            Target::X86_64Linux => "x86_64-linux",
            Target::Aarch64Linux => "aarch64-linux",
        }
    }

    fn arch(self) -> &'static str {
        match self {
            Target::X86_64Linux => "x86_64",
            Target::Aarch64Linux => "aarch64",
        }
    }

    /// `e_machine` of its ELF files.
    fn elf_machine(self) -> u16 {
        match self {
            Target::X86_64Linux => 62,
            Target::Aarch64Linux => 183,
        }
    }

    /// pip `--platform` tags for its wheels: manylinux up to the glibc floor (pip does not
    /// widen `manylinux_2_28` to older tags by itself), never a bare `linux_*` wheel.
    pub fn wheel_platforms(self) -> Vec<String> {
        let arch = self.arch();
        let mut tags: Vec<String> =
            (17..=GLIBC_FLOOR.1).rev().map(|minor| format!("manylinux_2_{minor}_{arch}")).collect();
        tags.push(format!("manylinux2014_{arch}"));
        if self == Target::X86_64Linux {
            tags.push("manylinux2010_x86_64".into());
            tags.push("manylinux1_x86_64".into());
        }
        tags
    }

    /// The runtime the payload is appended to: `explicit`, else the running mxcp for the host,
    /// else `mxcp-<target>` in `$MXCP_RUNTIME_DIR` or beside the running mxcp. Checked to be
    /// an ELF executable for this target.
    pub fn runtime(self, explicit: Option<&Path>) -> Result<PathBuf, TargetError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None if self == Target::host() => mxcp_runtime::this_executable()
                .map_err(|e| TargetError::Missing { target: self.name(), tried: format!("this executable ({e})") })?,
            None => {
                let file = format!("mxcp-{}", self.name());
                let mut dirs: Vec<PathBuf> =
                    std::env::var_os("MXCP_RUNTIME_DIR").map(PathBuf::from).into_iter().collect();
                if let Some(dir) = mxcp_runtime::this_executable().ok().and_then(|e| e.parent().map(Path::to_path_buf))
                {
                    dirs.push(dir);
                }
                let candidates: Vec<PathBuf> = dirs.iter().map(|d| d.join(&file)).collect();
                match candidates.iter().find(|p| p.is_file()) {
                    Some(p) => p.clone(),
                    None => {
                        let tried = candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
                        return Err(TargetError::Missing { target: self.name(), tried });
                    }
                }
            }
        };
        self.check_elf(&path)?;
        Ok(path)
    }

    fn check_elf(self, path: &Path) -> Result<(), TargetError> {
        let wrong = |why: String| TargetError::Wrong { path: path.display().to_string(), target: self.name(), why };
        let mut head = Vec::with_capacity(20);
        let read = std::fs::File::open(path)
            .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 20), &mut head));
        read.map_err(|e| wrong(format!("cannot read it ({e})")))?;
        if head.len() < 20 || &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
            return Err(wrong("not a 64-bit little-endian ELF file".into()));
        }
        let machine = u16::from_le_bytes([head[18], head[19]]);
        if machine != self.elf_machine() {
            let other = Target::ALL.into_iter().find(|t| t.elf_machine() == machine);
            let is = other.map(|t| t.name().to_string()).unwrap_or_else(|| format!("machine {machine}"));
            return Err(wrong(format!("it is built for {is}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_tags_stop_at_the_glibc_floor() {
        let tags = Target::Aarch64Linux.wheel_platforms();
        assert_eq!(tags.first().unwrap(), "manylinux_2_28_aarch64");
        assert!(tags.contains(&"manylinux2014_aarch64".to_string()));
        assert!(!tags.iter().any(|t| t.contains("2_29") || t.contains("x86_64")));
        assert!(Target::X86_64Linux.wheel_platforms().contains(&"manylinux1_x86_64".to_string()));
    }

    #[test]
    fn names_round_trip() {
        for t in Target::ALL {
            assert_eq!(Target::parse(t.name()).unwrap(), t);
        }
        assert!(Target::parse("arm64").is_err());
    }
}
