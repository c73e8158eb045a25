//! Three `mxcp serve --stateless` replicas behind a real load balancer (Debian's HAProxy,
//! installed by ./dev test), 16 clients calling for a few seconds on loopback. One replica is
//! restarted with SIGTERM mid-run: no call fails (it answers what it has, `/readyz` turns 503,
//! HAProxy sends elsewhere). Another is killed with SIGKILL: at most the calls in flight on it
//! fail.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{HttpServer, http_get, http_post};

const CLIENTS: usize = 16;
const CALL: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"fast","arguments":{}}}"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn replica(dir: &std::path::Path, port: u16) -> HttpServer {
    let mut cmd = common::mxcp(dir);
    cmd.args(["serve", "--transport", "streamable-http", "--stateless", "--port", &port.to_string()]);
    HttpServer::spawn(&mut cmd)
}

struct Balancer(Child);

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn haproxy(dir: &std::path::Path, front: u16, backends: &[u16]) -> Balancer {
    let servers: String = backends
        .iter()
        .enumerate()
        .map(|(i, p)| format!("    server r{i} 127.0.0.1:{p} check inter 200ms fall 1 rise 2\n"))
        .collect();
    // the `defaults` of deploy/haproxy.cfg (retries to another replica, the body buffered so
    // a POST can be replayed): what is documented is what is tested
    let deploy = std::fs::read_to_string(common::repo_root().join("deploy/haproxy.cfg")).unwrap();
    let defaults: String = deploy
        .lines()
        .skip_while(|l| *l != "defaults")
        .take_while(|l| !l.starts_with("frontend"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(defaults.contains("retry-on"), "deploy/haproxy.cfg has a defaults section: {defaults}");
    let cfg = format!(
        "global\n    maxconn 256\n{defaults}frontend mcp\n    bind 127.0.0.1:{front}\n    default_backend replicas\nbackend replicas\n    balance roundrobin\n    option httpchk GET /readyz\n{servers}"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let bin = std::env::var("MXCP_TEST_HAPROXY").unwrap();
    let child =
        Command::new(bin).arg("-db").arg("-f").arg(&path).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // ready when a call goes through
    let url = format!("http://127.0.0.1:{front}/mcp");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", front)).is_ok() && ok(&url) {
            return Balancer(child);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("haproxy did not come up");
}

fn ok(url: &str) -> bool {
    let (status, _, body) = http_post(url, CALL, &[("mcp-protocol-version", "2025-06-18")]);
    status == 200 && body.contains(r#""result":{"content""#) && body.contains(r#""text":"42""#)
}

#[test]
fn replicas_restart_and_die_behind_haproxy() {
    if common::unset(&["MXCP_TEST_HAPROXY"]).len() == 1 {
        eprintln!("skipped: MXCP_TEST_HAPROXY not set; run the tests with ./dev test, which installs haproxy");
        return;
    }
    let dir = common::project(&[(
        "tools/fast.yml",
        "mxcp: 1\ntool:\n  name: fast\n  return: {type: integer}\n  source: {code: \"SELECT 42 AS r\"}\n",
    )]);
    // each replica its own copy of the project (its own DuckDB file)
    let copies: Vec<tempfile::TempDir> = (0..3)
        .map(|_| {
            let d = tempfile::tempdir().unwrap();
            common::copy_dir(dir.path(), d.path());
            d
        })
        .collect();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let replicas: Vec<Arc<Mutex<Option<HttpServer>>>> =
        (0..3).map(|i| Arc::new(Mutex::new(Some(replica(copies[i].path(), ports[i]))))).collect();
    let front = free_port();
    let _lb = haproxy(dir.path(), front, &ports);
    let url = format!("http://127.0.0.1:{front}/mcp");

    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let (before_kill_failures, after_kill_failures, calls) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let t0 = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (url, stop, killed) = (url.clone(), stop.clone(), killed.clone());
            let (before, after, calls, errors) =
                (before_kill_failures.clone(), after_kill_failures.clone(), calls.clone(), errors.clone());
            let t0 = t0;
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let (status, head, body) = http_post(&url, CALL, &[("mcp-protocol-version", "2025-06-18")]);
                    // a call still running when replica 1 was killed may have been on it
                    let was_killed = killed.load(Ordering::SeqCst);
                    calls.fetch_add(1, Ordering::SeqCst);
                    if !(status == 200 && body.contains(r#""text":"42""#)) {
                        (if was_killed { &after } else { &before }).fetch_add(1, Ordering::SeqCst);
                        let at = t0.elapsed().as_millis();
                        let body: String = body.chars().take(120).collect();
                        errors.lock().unwrap().push(format!("at {at} ms: {head:?} {body}"));
                    }
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(1500));
    // a rolling restart of replica 0: SIGTERM, it drains and exits, then it comes back
    {
        let mut r0 = replicas[0].lock().unwrap();
        let server = r0.as_mut().unwrap();
        eprintln!("SIGTERM at {} ms", t0.elapsed().as_millis());
        server.terminate();
        assert!(server.wait_exit(Duration::from_secs(10)), "replica 0 exits after SIGTERM");
        *r0 = None;
        eprintln!("exited at {} ms", t0.elapsed().as_millis());
    }
    std::thread::sleep(Duration::from_millis(700));
    *replicas[0].lock().unwrap() = Some(replica(copies[0].path(), ports[0]));
    eprintln!("restarted at {} ms", t0.elapsed().as_millis());
    std::thread::sleep(Duration::from_millis(1500));
    let at_kill = calls.load(Ordering::SeqCst);
    // replica 1 dies without warning
    killed.store(true, Ordering::SeqCst);
    replicas[1].lock().unwrap().take();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let total = calls.load(Ordering::SeqCst);
    let errors = errors.lock().unwrap();
    eprintln!(
        "{total} calls; failed: {} before the kill, {} after",
        before_kill_failures.load(Ordering::SeqCst),
        after_kill_failures.load(Ordering::SeqCst)
    );
    assert!(at_kill > 100 && total > at_kill, "the clients kept calling: {at_kill} then {total}");
    assert_eq!(before_kill_failures.load(Ordering::SeqCst), 0, "no failed call across the rolling restart: {errors:?}");
    assert!(
        after_kill_failures.load(Ordering::SeqCst) <= CLIENTS,
        "at most the calls in flight on the killed replica failed: {errors:?}"
    );
    // the restarted replica serves again
    let r0 = format!("http://127.0.0.1:{}", ports[0]);
    assert_eq!(http_get(&format!("{r0}/readyz"), &[]).0, 200);
}
