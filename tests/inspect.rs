//! The inspect tool prints what the layer sends: checked on the fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The example's binary, brought up to date first (`cargo test --test inspect` alone does not
/// build examples).
fn inspect_binary() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "--example", "inspect"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    });
    profile_dir
        .join("examples")
        .join(format!("inspect{}", std::env::consts::EXE_SUFFIX))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn inspect(args: &[&str]) -> Output {
    Command::new(inspect_binary())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn html_shows_the_page_each_visitor_receives() {
    let shop = fixture("shop.html");
    let shop = shop.to_str().unwrap();
    let undecided = inspect(&["html", "--consent", "none", shop]);
    assert!(undecided.status.success());
    let undecided = String::from_utf8(undecided.stdout).unwrap();
    assert!(undecided.contains(r#"<script type="text/plain" data-consent-category="analytics" async src="https://www.googletagmanager.com/gtag/js?id=G-XYZ987">"#));
    assert!(undecided.contains(r#"<script type="text/plain" data-consent-category="marketing">"#));

    let analytics =
        String::from_utf8(inspect(&["html", "--consent", "analytics", shop]).stdout).unwrap();
    assert!(
        analytics.contains(
            r#"<script async src="https://www.googletagmanager.com/gtag/js?id=G-XYZ987">"#
        )
    );
    assert!(analytics.contains(r#"<script type="text/plain" data-consent-category="marketing">"#));
    assert!(
        analytics.contains(r#"<script data-consent-category="analytics" src="/assets/stats.js">"#)
    );

    let clean = fixture("clean.html");
    let all = inspect(&[
        "html",
        "--consent",
        "all",
        "--base-url",
        "http://localhost:3000/docs",
        clean.to_str().unwrap(),
    ]);
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    assert_eq!(all.stdout, std::fs::read(&clean).unwrap());
}

#[test]
fn html_reads_standard_input_and_reports_bad_arguments() {
    let mut child = Command::new(inspect_binary())
        .args(["html"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"<img src="https://www.facebook.com/tr?id=1">"#)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        r#"<img data-consent-category="marketing" data-consent-src="https://www.facebook.com/tr?id=1">"#
    );

    let unknown = inspect(&["html", "--consent", "social", "/dev/null"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown category \"social\""));
    let usage = inspect(&["html", "--bogus"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("usage: inspect html"));
}
