//! deploy/: the Kubernetes and compose files parse and keep the settings the README promises
//! (read-only root, probes on /readyz and /healthz, stateless replicas); HAProxy accepts its
//! configuration.

mod common;

use std::process::Command;

/// A YAML file's documents as JSON (mxcp's own YAML reader, PyYAML's rules).
fn documents(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .map(|doc| {
            let node =
                mxcp_runtime::load::yaml::parse(doc, &mut |_, _, _| panic!("a duplicate key in {}", path.display()))
                    .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
                    .expect("a document");
            node.to_json()
        })
        .collect()
}

#[test]
fn manifests_parse_and_keep_their_promises() {
    let root = common::repo_root().join("deploy");
    let k8s = documents(&root.join("kubernetes.yaml"));
    let kinds: Vec<&str> = k8s.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Deployment", "Service"]);
    let spec = &k8s[0]["spec"];
    let c = &spec["template"]["spec"]["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(spec["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
    let compose = &documents(&root.join("docker-compose.yml"))[0];
    assert_eq!(compose["services"]["mcp"]["read_only"], true);
    assert!(compose["services"]["lb"].is_object());
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("\"materialize\"") && dockerfile.contains("\"--stateless\""), "{dockerfile}");
}

#[test]
fn haproxy_accepts_its_configuration() {
    let Ok(haproxy) = std::env::var("MXCP_TEST_HAPROXY") else {
        eprintln!("skipped: MXCP_TEST_HAPROXY not set; run the tests with ./dev test, which installs haproxy");
        return;
    };
    let out =
        Command::new(haproxy).args(["-c", "-f"]).arg(common::repo_root().join("deploy/haproxy.cfg")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
