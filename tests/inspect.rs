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
    assert!(undecided.contains(r#"<script type="text/plain" data-consent-category="analytics" async data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-XYZ987">"#));
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

fn inspect_with_input(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(inspect_binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn cookie_prints_name_category_and_service() {
    let out = inspect(&[
        "cookie",
        "_ga",
        "_pk_id.1.abcd",
        "_gateway_session",
        "basket",
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "_ga\tanalytics\tGoogle Analytics\n\
         _pk_id.1.abcd\tanalytics\tMatomo\n\
         _gateway_session\tnecessary\tWeb framework sessions\n\
         basket\tunknown\t-\n"
    );
    // One name per line on standard input, and the site's own rules from a configuration file.
    let dir = std::env::temp_dir().join(format!("tower-consent-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("consent.json");
    std::fs::write(
        &config,
        r#"{"cookies": [{"name": "basket", "category": "necessary"}, {"name": "_ga", "category": "preferences", "service": "Our own"}]}"#,
    )
    .unwrap();
    let out = inspect_with_input(
        &["cookie", "--config", config.to_str().unwrap()],
        "basket\n_ga\n\n",
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "basket\tnecessary\t-\n_ga\tpreferences\tOur own\n"
    );
}

#[test]
fn set_cookie_prints_what_the_layer_keeps() {
    let input = "_fbp=fb.1.2; Path=/\n_ga=GA1.1; Path=/\n_fbp=; Max-Age=0\ntheme=dark\n";
    let none = inspect_with_input(&["set-cookie", "--consent", "none"], input);
    assert!(
        none.status.success(),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    assert_eq!(
        String::from_utf8(none.stdout).unwrap(),
        "strip\t_fbp=fb.1.2; Path=/\nstrip\t_ga=GA1.1; Path=/\nkeep\t_fbp=; Max-Age=0\nkeep\ttheme=dark\n"
    );
    let analytics = inspect_with_input(&["set-cookie", "--consent", "analytics"], input);
    assert_eq!(
        String::from_utf8(analytics.stdout).unwrap(),
        "strip\t_fbp=fb.1.2; Path=/\nkeep\t_ga=GA1.1; Path=/\nkeep\t_fbp=; Max-Age=0\nkeep\ttheme=dark\n"
    );
    let all = inspect_with_input(&["set-cookie", "--consent", "all"], input);
    assert!(
        String::from_utf8(all.stdout)
            .unwrap()
            .lines()
            .all(|l| l.starts_with("keep\t"))
    );
}

#[test]
fn catalog_prints_catalog_md() {
    let out = inspect(&["catalog"]);
    assert!(out.status.success());
    let on_disk = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("CATALOG.md")).unwrap();
    assert!(
        out.stdout == on_disk,
        "CATALOG.md differs from `inspect catalog`"
    );
}

#[test]
fn configuration_errors_name_the_file_the_field_and_what_was_expected() {
    let dir = std::env::temp_dir().join(format!("tower-consent-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "bad-type.json",
            r#"{"cookie": {"max_age_secs": "long"}}"#,
            "cookie.max_age_secs: invalid type: string \"long\", expected u64",
        ),
        (
            "unknown.json",
            r#"{"cookie": {"nmae": "x"}}"#,
            "cookie.nmae: unknown field `nmae`, expected one of `name`",
        ),
        (
            "syntax.json",
            r#"{"categories": ["a",]}"#,
            "categories: trailing comma",
        ),
        (
            "bad-type.toml",
            "[cookie]\nmax_age_secs = \"long\"\n",
            "cookie.max_age_secs: TOML parse error at line 2, column 16",
        ),
        (
            "bad-type2.toml",
            "[cookie]\nmax_age_secs = \"long\"\n",
            "invalid type: string \"long\", expected u64",
        ),
        (
            "unknown.toml",
            "policy_revison = 2\n",
            "unknown field `policy_revison`, expected one of",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let error = tower_consent::ConsentConfig::from_file(&path)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with(&path.display().to_string()), "{error}");
        assert!(error.contains(expected), "{name}: {error}");
    }
    let missing = tower_consent::ConsentConfig::from_file(dir.join("missing.json")).unwrap_err();
    assert!(missing.to_string().contains("missing.json: "), "{missing}");
    let out = inspect(&[
        "cookie",
        "--config",
        dir.join("unknown.json").to_str().unwrap(),
        "_ga",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `nmae`"));
}

/// Every configuration key, as the README's options table and `examples/consent.toml` must
/// name it.
const KEYS: &[&str] = &[
    "categories",
    "gpc_categories",
    "policy_revision",
    "report_only",
    "consent_log",
    "unknown_cookies",
    "disable",
    "services",
    "cookie.name",
    "cookie.domain",
    "cookie.secure",
    "cookie.max_age_secs",
    "endpoint.path",
    "endpoint.max_body_bytes",
    "endpoint.allowed_origins",
    "html.rewrite",
    "html.block_mode",
    "html.max_tag_bytes",
    "html.max_inline_script_bytes",
    "html.max_noscript_bytes",
    "consent_mode.enabled",
    "consent_mode.ad_storage",
    "consent_mode.ad_user_data",
    "consent_mode.ad_personalization",
    "consent_mode.analytics_storage",
    "consent_mode.functionality_storage",
    "consent_mode.personalization_storage",
    "consent_mode.security_storage",
    "cookies",
    "hosts",
    "signatures",
    "banner.enabled",
    "banner.privacy_policy",
    "banner.default_language",
    "banner.languages",
    "banner.settings_link",
    "banner.texts",
];

#[test]
fn the_example_configuration_is_complete_and_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/consent.toml");
    let config = tower_consent::ConsentConfig::from_file(&path).unwrap();
    let layer = tower_consent::ConsentLayer::builder_from(config)
        .build()
        .unwrap();
    assert_eq!(layer.classify_cookie("cart").unwrap().category, "necessary");
    let services: Vec<(&str, &str, bool)> = layer
        .services()
        .iter()
        .map(|s| (s.name.as_str(), s.category.as_str(), s.built_in))
        .collect();
    assert_eq!(
        services,
        [
            ("Google Analytics", "analytics", true),
            ("Meta Pixel", "marketing", true),
            ("Our A/B tests", "analytics", false),
            ("Self-hosted Matomo", "analytics", false),
            ("Plausible (first-party proxy)", "analytics", false),
            ("Our tracker", "marketing", false),
        ]
    );
    assert_eq!(
        layer
            .classify_url("https://stats.example.com/matomo.js")
            .unwrap()
            .service,
        Some("Self-hosted Matomo")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for key in KEYS {
        let leaf = key.rsplit('.').next().unwrap();
        let in_example = text.lines().any(|line| {
            let line = line.trim_start_matches("# ").trim();
            line.starts_with(&format!("{leaf} ="))
                || line == format!("[[{leaf}]]")
                || line.starts_with(&format!("[{key}."))
        });
        assert!(in_example, "examples/consent.toml lacks `{key}`");
        assert!(
            readme.contains(&format!("`{key}`")),
            "README.md's options table lacks `{key}`"
        );
    }
}

#[test]
fn html_shows_the_banner_or_link_when_asked() {
    let clean = fixture("clean.html");
    let clean = clean.to_str().unwrap();
    let plain = inspect(&["html", "--consent", "none", clean]);
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("data-tower-consent-banner"));
    let banner = inspect(&["html", "--consent", "none", "--banner", clean]);
    let banner = String::from_utf8_lossy(&banner.stdout).into_owned();
    assert!(banner.contains(r#"<div class="tc-banner""#), "{banner}");
    assert!(banner.contains(r#"<a class="tc-skip""#), "{banner}");
    let link = inspect(&["html", "--consent", "all", "--banner", clean]);
    let link = String::from_utf8_lossy(&link.stdout).into_owned();
    assert!(link.contains(r#"<a class="tc-settings-link""#), "{link}");
    assert!(!link.contains(r#"<div class="tc-banner""#));
}
