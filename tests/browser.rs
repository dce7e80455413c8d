//! The demo in a real browser: headless Chromium, driven through the DevTools protocol so that
//! every request a page attempts is seen. Nothing leaves the machine (every host but
//! 127.0.0.1 fails to resolve), but requests to tracker hosts are still attempted, and that is
//! what is checked: a visitor who did not allow a category makes no request to its trackers
//! and keeps none of its cookies; the banner and preferences page work by mouse and by
//! keyboard alone; axe-core finds no serious or critical accessibility violation in them.
//!
//! Needs Debian's `chromium` (or `CHROMIUM=/path`) and, for the accessibility scan, axe-core
//! (`AXE_CORE_JS=/path/to/axe.min.js`, or `npm install axe-core` in `target/axe`). Without
//! Chromium the test says it is skipped and passes, unless `TOWER_CONSENT_BROWSER_TEST=required`
//! (as `.ci/run` sets it), where it fails. `BROWSER_TEST_DISABLE="Meta Pixel"` starts the demo
//! with that built-in service switched off, to see the test fail.

#[path = "browser/cdp.rs"]
mod cdp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use cdp::Browser;
use tower_consent::ConsentLayer;

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn find_axe() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AXE_CORE_JS") {
        return Some(PathBuf::from(path));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        "target/axe/node_modules/axe-core/axe.min.js",
        "node_modules/axe-core/axe.min.js",
    ]
    .iter()
    .map(|p| root.join(p))
    .find(|p| p.is_file())
}

fn required() -> bool {
    std::env::var("TOWER_CONSENT_BROWSER_TEST").is_ok_and(|v| v == "required")
}

/// The demo, built by `cargo test` with the other examples, on a free loopback port.
struct Demo {
    child: Child,
    url: String,
}

impl Demo {
    fn start() -> Demo {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap();
        let demo = profile_dir
            .join("examples")
            .join(format!("demo{}", std::env::consts::EXE_SUFFIX));
        if !demo.is_file() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "--quiet", "--example", "demo"]);
            if profile_dir.ends_with("release") {
                build.arg("--release");
            }
            let built = build.current_dir(env!("CARGO_MANIFEST_DIR")).status();
            assert!(built.unwrap().success(), "the demo builds");
        }
        let mut command = Command::new(demo);
        command
            .env("PORT", "0")
            .env("RUST_LOG", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Ok(disable) = std::env::var("BROWSER_TEST_DISABLE") {
            command.env("TOWER_CONSENT_DISABLE", disable);
        }
        let mut child = command.spawn().expect("the demo starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first
            .strip_prefix("tower-consent demo on ")
            .unwrap_or_else(|| panic!("unexpected demo output: {first}"))
            .to_owned();
        std::thread::spawn(move || for _ in lines {});
        Demo { child, url }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Judges requests and cookies by the catalog (every built-in service on, and the demo's own
/// cookie rules).
struct Judge {
    layer: ConsentLayer,
}

impl Judge {
    fn new() -> Judge {
        let layer = ConsentLayer::builder()
            .cookie("sid", "necessary")
            .cookie("theme", "preferences")
            .build()
            .unwrap();
        Judge { layer }
    }

    /// The requests to trackers, with their categories.
    fn trackers(&self, requests: &[String]) -> Vec<(String, String)> {
        requests
            .iter()
            .filter(|url| !url.starts_with("http://127.0.0.1"))
            .filter_map(|url| {
                let found = self.layer.classify_url(url)?;
                (found.category != "necessary").then(|| (found.category.to_owned(), url.clone()))
            })
            .collect()
    }

    /// Fails unless nothing tracked: no request to a tracker, no tracking cookie.
    fn assert_clean(&self, step: &str, requests: &[String], cookies: &[String]) {
        assert_eq!(self.trackers(requests), [], "trackers requested: {step}");
        assert_eq!(
            self.tracking_cookies(cookies),
            [],
            "tracking cookies: {step}"
        );
    }

    fn tracker_categories(&self, requests: &[String]) -> Vec<String> {
        let mut categories: Vec<String> = self
            .trackers(requests)
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        categories.sort();
        categories.dedup();
        categories
    }

    /// Cookies of optional categories, with their categories.
    fn tracking_cookies(&self, names: &[String]) -> Vec<(String, String)> {
        names
            .iter()
            .filter_map(|name| {
                let found = self.layer.classify_cookie(name)?;
                (found.category != "necessary").then(|| (found.category.to_owned(), name.clone()))
            })
            .collect()
    }
}

/// What the browser did since event `mark`: the requests it attempted, and the cookies it
/// holds for `base`; logged, so the test's output shows every request.
async fn observe(
    browser: &mut Browser,
    step: &str,
    mark: usize,
    base: &str,
) -> (Vec<String>, Vec<String>) {
    let requests = browser.requests_since(mark);
    let cookies = browser.cookie_names(base).await;
    println!("== {step}");
    for url in &requests {
        println!("   request {url}");
    }
    println!("   cookies {cookies:?}");
    (requests, cookies)
}

async fn has(browser: &mut Browser, selector: &str) -> bool {
    browser
        .eval(&format!("!!document.querySelector({selector:?})"))
        .await
        .as_bool()
        .unwrap()
}

/// Presses Tab (at most 80 times) until `selector` has the focus, then `key`; returns how many
/// Tabs it took.
async fn tab_to_and_press(browser: &mut Browser, selector: &str, key: &str) -> usize {
    for tabs in 0..80 {
        let focused = browser
            .eval(&format!(
                "document.activeElement === document.querySelector({selector:?})"
            ))
            .await;
        if focused.as_bool() == Some(true) {
            browser.press(key, false).await;
            return tabs;
        }
        browser.press("Tab", false).await;
    }
    panic!("the keyboard never reached {selector}");
}

/// Switches analytics in the preferences page and saves, by mouse or by keyboard alone; the
/// settings page is opened through the injected link unless `on_settings` says it is open.
/// Returns the event mark from before the save.
async fn switch_analytics(browser: &mut Browser, keyboard: bool, on_settings: bool) -> usize {
    if !on_settings {
        let mark = browser.events.len();
        activate(browser, keyboard, ".tc-settings-link", "Enter").await;
        browser.wait_for_load(mark).await;
    }
    activate(browser, keyboard, "#tc-cat-analytics", "Space").await;
    let mark = browser.events.len();
    activate(browser, keyboard, "button[value=save]", "Enter").await;
    browser.wait_for_load(mark).await;
    mark
}

/// Activates a control by a mouse click, or by keyboard alone: Tab to it, then `key`.
async fn activate(browser: &mut Browser, keyboard: bool, selector: &str, key: &str) {
    if keyboard {
        tab_to_and_press(browser, selector, key).await;
    } else {
        browser.click(selector).await;
    }
}

/// Runs axe-core over `context` (a selector, or the whole document) and returns the
/// violations that are serious or critical, as `id: help (impact)`.
async fn axe(browser: &mut Browser, source: &str, context: Option<&str>) -> Vec<String> {
    browser.eval(source).await;
    let context = context.map_or("document".to_owned(), |c| format!("{{include: [{c:?}]}}"));
    let found = browser
        .eval(&format!(
            "axe.run({context}, {{resultTypes: ['violations']}}).then(r => r.violations.map(v => \
             ({{id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}})))"
        ))
        .await;
    let all: Vec<serde_json::Value> = found.as_array().cloned().unwrap_or_default();
    println!(
        "   axe-core over {}: {} violations",
        context.replace('"', ""),
        all.len()
    );
    for violation in &all {
        println!("   axe: {violation}");
    }
    all.iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| format!("{}: {} ({})", v["id"], v["help"], v["impact"]))
        .collect()
}

#[tokio::test]
async fn no_tracker_loads_without_consent_in_a_real_browser() {
    let Some(chromium) = find_chromium() else {
        assert!(
            !required(),
            "TOWER_CONSENT_BROWSER_TEST=required, but no chromium was found"
        );
        println!(
            "skipped: no chromium on this machine (apt-get install chromium, or set CHROMIUM)"
        );
        return;
    };
    let axe_source = match find_axe() {
        Some(path) => Some(std::fs::read_to_string(path).unwrap()),
        None => {
            assert!(
                !required(),
                "TOWER_CONSENT_BROWSER_TEST=required, but axe-core was not found"
            );
            println!(
                "accessibility scan skipped: no axe-core (npm install axe-core, or set AXE_CORE_JS)"
            );
            None
        }
    };
    let demo = Demo::start();
    let judge = Judge::new();
    let profile =
        std::env::temp_dir().join(format!("tower-consent-browser-{}", std::process::id()));
    let mut browser = Browser::launch(&chromium, profile).await;
    let base = demo.url.clone();
    let shop = format!("{base}shop");

    // 1. A new visitor: the banner, and nothing that tracks.
    let mark = browser.events.len();
    browser.open(&base).await;
    let step = "new visitor opens the home page";
    let (requests, cookies) = observe(&mut browser, step, mark, &base).await;
    assert!(
        requests.iter().any(|u| u.starts_with(&base)),
        "the page itself was seen"
    );
    judge.assert_clean(step, &requests, &cookies);
    assert!(has(&mut browser, ".tc-banner").await, "the banner shows");
    if let Some(source) = &axe_source {
        let serious = axe(&mut browser, source, Some(".tc-banner")).await;
        assert_eq!(serious, Vec::<String>::new(), "axe on the banner");
    }

    // 2. Reject all, by a real click: the banner goes, nothing tracks, on every page.
    let mark = browser.events.len();
    browser.click(".tc-banner button[value=reject]").await;
    browser.wait_for_load(mark).await;
    let mark_shop = browser.events.len();
    browser.open(&shop).await;
    let step = "rejects all, then opens the shop";
    let (requests, cookies) = observe(&mut browser, step, mark, &base).await;
    judge.assert_clean(step, &requests, &cookies);
    assert!(!has(&mut browser, ".tc-banner").await, "the banner is gone");
    assert!(
        has(&mut browser, ".tc-settings-link").await,
        "the settings link shows"
    );
    assert!(browser.requests_since(mark_shop).iter().any(|u| u == &shop));

    // 3. Settings: analytics only. Analytics trackers load, marketing ones do not.
    let mark = browser.events.len();
    browser.click(".tc-settings-link").await;
    browser.wait_for_load(mark).await;
    assert!(
        has(&mut browser, "#tc-cat-analytics").await,
        "the preferences page"
    );
    if let Some(source) = &axe_source {
        let serious = axe(&mut browser, source, None).await;
        assert_eq!(serious, Vec::<String>::new(), "axe on the preferences page");
    }
    let mark = switch_analytics(&mut browser, false, true).await;
    // Back on the shop; then the home page, whose handler sets the analytics cookies.
    browser.open(&base).await;
    let step = "allows analytics only, then opens the home page";
    let (requests, cookies) = observe(&mut browser, step, mark, &base).await;
    assert_eq!(
        judge.tracker_categories(&requests),
        ["analytics"],
        "only analytics trackers load: {:?}",
        judge.trackers(&requests)
    );
    let categories: Vec<String> = judge
        .tracking_cookies(&cookies)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert!(categories.iter().all(|c| c == "analytics"), "{cookies:?}");
    assert!(categories.contains(&"analytics".to_owned()), "{cookies:?}");

    // 4. Withdraw analytics: its cookies leave the browser, its trackers stop loading.
    let mark = switch_analytics(&mut browser, false, false).await;
    let step = "withdraws analytics";
    let (requests, cookies) = observe(&mut browser, step, mark, &base).await;
    judge.assert_clean(step, &requests, &cookies);

    // 5. The same flow with the keyboard alone, as a new visitor.
    browser.clear_cookies().await;
    let mark = browser.events.len();
    browser.open(&base).await;
    assert!(has(&mut browser, ".tc-banner").await);
    assert_eq!(judge.trackers(&browser.requests_since(mark)), []);
    // The first Tab reaches the skip link, which leads to the banner at the end of the page.
    let tabs = tab_to_and_press(&mut browser, ".tc-skip", "Enter").await;
    assert_eq!(tabs, 1, "the skip link is the keyboard's first stop");
    let mark = browser.events.len();
    let tabs = tab_to_and_press(&mut browser, ".tc-banner button[value=reject]", "Enter").await;
    assert!(
        tabs <= 3,
        "from the skip link, Reject all is {tabs} Tabs away"
    );
    browser.wait_for_load(mark).await;
    assert!(
        !has(&mut browser, ".tc-banner").await,
        "rejected by keyboard"
    );
    let mark = switch_analytics(&mut browser, true, false).await;
    let step = "keyboard: rejects, then allows analytics in the settings";
    let (requests, _) = observe(&mut browser, step, mark, &base).await;
    assert_eq!(judge.tracker_categories(&requests), ["analytics"]);
    let mark = switch_analytics(&mut browser, true, false).await;
    let step = "keyboard: withdraws analytics";
    let (requests, cookies) = observe(&mut browser, step, mark, &base).await;
    judge.assert_clean(step, &requests, &cookies);
    drop(demo);
}
