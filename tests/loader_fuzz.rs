//! No input makes the loader panic: random bytes, random text, and mutations of valid
//! endpoint files go through YAML parsing, decoding and the static checks.

mod common;

use std::path::Path;

use mxcp_runtime::check::static_checks;
use mxcp_runtime::load::endpoint::EndpointKind;
use mxcp_runtime::load::project::decode_endpoint_text;
use proptest::prelude::*;

const VALID: &[&str] = &[
    include_str!("../examples/inventory/tools/list_items.yml"),
    include_str!("../examples/inventory/tools/get_item.yml"),
    include_str!("../examples/inventory/resources/item.yml"),
    include_str!("../examples/inventory/prompts/restock.yml"),
    include_str!("../examples/hello/tools/hello-world.yml"),
];

fn load(text: &str) {
    let root = Path::new("/nonexistent-project");
    let path = root.join("tools/x.yml");
    for kind in [EndpointKind::Tool, EndpointKind::Resource, EndpointKind::Prompt] {
        let mut out = Vec::new();
        if let Some(e) = decode_endpoint_text(text, &path, Path::new("tools/x.yml"), root, kind, &mut out) {
            static_checks::check_endpoint(Path::new("tools/x.yml"), &e, &mut out);
        }
        for d in &out {
            // every finding renders, whatever its position
            let _ = mxcp_runtime::diagnostics::render(d, Some(text));
        }
    }
}

/// Mutations that keep the text YAML-like: deletions, duplications, swaps and insertions of
/// YAML punctuation at arbitrary character positions.
fn mutate(text: &str, ops: &[(u8, usize, usize)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    const PUNCT: &[char] = &[
        ':', '-', ' ', '\n', '[', ']', '{', '}', '"', '\'', '&', '*', '!', '|', '>', '#', '%', '@', '`', '\t', '?', ',',
    ];
    for &(op, a, b) in ops {
        if chars.is_empty() {
            break;
        }
        let i = a % chars.len();
        let j = b % chars.len();
        match op % 5 {
            0 => {
                chars.remove(i);
            }
            1 => chars.insert(i, PUNCT[b % PUNCT.len()]),
            2 => chars.swap(i, j),
            3 => {
                let lo = i.min(j);
                let hi = (lo + 40).min(i.max(j));
                let piece: Vec<char> = chars[lo..hi].to_vec();
                chars.splice(j..j, piece);
            }
            _ => chars.truncate(i),
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        load(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_valid_files_never_panic(which in 0..VALID.len(), ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..8)) {
        load(&mutate(VALID[which], &ops));
    }

    #[test]
    fn random_yaml_shaped_text_never_panics(text in "(mxcp: 1\n)?(tool|resource|prompt):\n(  [a-z_]{1,12}: ([a-z0-9 '\"\\[\\]{}:,-]{0,20})\n){0,8}") {
        load(&text);
    }
}
