//! Rewriter behaviour on small documents, whole and cut into chunks.

use std::sync::Arc;

use crate::config::Settings;
use crate::consent::CategorySet;
use crate::{BlockMode, ConsentConfig, ConsentLayer, NoopSink};

use super::rewrite_chunks;

fn settings_with(config: ConsentConfig) -> Arc<Settings> {
    ConsentLayer::builder_from(config)
        .sink(NoopSink)
        .build()
        .unwrap()
        .shared_settings()
}

fn settings() -> Arc<Settings> {
    settings_with(ConsentConfig::default())
}

/// Category indices: 0 necessary, 1 preferences, 2 analytics, 3 marketing.
fn allowed(indices: &[usize]) -> CategorySet {
    indices
        .iter()
        .fold(CategorySet::NECESSARY, |set, i| set.with(*i))
}

fn rewrite_with(settings: &Settings, input: &str, allow: &[usize]) -> String {
    let whole = rewrite_chunks(settings, allowed(allow), &[input.as_bytes()]);
    let whole = String::from_utf8(whole).unwrap();
    // Every cut into two, and bytes one at a time, give the same output.
    let bytes = input.as_bytes();
    for cut in 0..=bytes.len() {
        let split = rewrite_chunks(settings, allowed(allow), &[&bytes[..cut], &bytes[cut..]]);
        assert_eq!(
            String::from_utf8_lossy(&split),
            whole,
            "cut at {cut} of {input:?}"
        );
    }
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    let single = rewrite_chunks(settings, allowed(allow), &singles);
    assert_eq!(
        String::from_utf8_lossy(&single),
        whole,
        "bytes one at a time"
    );
    // Rewriting again changes nothing.
    let again = rewrite_chunks(settings, allowed(allow), &[whole.as_bytes()]);
    assert_eq!(String::from_utf8_lossy(&again), whole, "rewritten twice");
    whole
}

fn rewrite(input: &str, allow: &[usize]) -> String {
    rewrite_with(&settings(), input, allow)
}

const GA: &str = r#"<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>"#;

#[test]
fn tracker_script_is_neutralised_until_allowed() {
    assert_eq!(
        rewrite(GA, &[]),
        r#"<script type="text/plain" data-consent-category="analytics" async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>"#
    );
    assert_eq!(
        rewrite(GA, &[3]),
        rewrite(GA, &[]),
        "marketing is not analytics"
    );
    assert_eq!(rewrite(GA, &[2]), GA);
}

#[test]
fn ordinary_markup_passes_unchanged() {
    let page = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>A <script> title</title>
<link rel="stylesheet" href="/s.css"><script src="/app.js"></script><script>var a = 1 < 2;</script>
<style>p > a { color: red }</style></head><body><p class='x' data-x="a>b">Hi <b>there</b>
<img src="/logo.png" alt=""><iframe src="https://example.org/embed"></iframe>
<!-- <script src="https://www.google-analytics.com/analytics.js"></script> --></body></html>"#;
    assert_eq!(rewrite(page, &[]), page);
}

#[test]
fn inline_loaders_are_blocked_by_signature() {
    let gtm = "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':\nnew Date().getTime(),event:'gtm.js'});})(window,document,'script','dataLayer','GTM-X');</script>";
    let out = rewrite(gtm, &[]);
    assert!(
        out.starts_with(r#"<script type="text/plain" data-consent-category="analytics">(function"#),
        "{out}"
    );
    assert_eq!(rewrite(gtm, &[2]), gtm);
    let pixel = "<script>\n!function(f,b,e,v,n,t,s){}(window,document,'script','https://connect.facebook.net/en_US/fbevents.js');\nfbq('init', '123');</script><p>after</p>";
    let out = rewrite(pixel, &[2]);
    assert!(
        out.starts_with(r#"<script type="text/plain" data-consent-category="marketing">"#),
        "{out}"
    );
    assert!(out.ends_with("</script><p>after</p>"));
    // A clean inline script, JSON, and our own Consent Mode default are untouched.
    for untouched in [
        "<script>console.log('hi')</script>",
        r#"<script type="application/ld+json">{"x":"googletagmanager.com/gtm.js"}</script>"#,
        "<script>gtag('consent', 'default', {ad_storage: 'denied'});</script>",
    ] {
        assert_eq!(rewrite(untouched, &[]), untouched);
    }
}

#[test]
fn a_denied_signature_is_found_beside_an_allowed_one() {
    let both = "<script>gtag('config', 'G-1'); fbq('init', '1');</script>";
    let out = rewrite(both, &[2]);
    assert!(
        out.contains(r#"data-consent-category="marketing""#),
        "{out}"
    );
}

#[test]
fn frames_pixels_and_links_lose_their_urls() {
    let page = concat!(
        r#"<iframe width="560" src="https://www.youtube.com/embed/abc" allowfullscreen></iframe>"#,
        r#"<img height="1" src="https://www.facebook.com/tr?id=1&ev=PageView" SRC="https://www.facebook.com/tr?x">"#,
        r#"<link rel="preconnect dns-prefetch" href="https://www.google-analytics.com">"#,
        r#"<img srcset="/a.png 1x, https://bat.bing.com/action/0?ti=1 2x">"#,
    );
    assert_eq!(
        rewrite(page, &[]),
        concat!(
            r#"<iframe data-consent-category="marketing" width="560" data-consent-src="https://www.youtube.com/embed/abc" allowfullscreen></iframe>"#,
            r#"<img data-consent-category="marketing" height="1" data-consent-src="https://www.facebook.com/tr?id=1&ev=PageView" data-consent-SRC="https://www.facebook.com/tr?x">"#,
            r#"<link data-consent-category="analytics" rel="preconnect dns-prefetch" data-consent-href="https://www.google-analytics.com">"#,
            r#"<img data-consent-category="marketing" data-consent-srcset="/a.png 1x, https://bat.bing.com/action/0?ti=1 2x">"#,
        )
    );
    assert_eq!(rewrite(page, &[2, 3]), page);
}

#[test]
fn noscript_content_is_read_as_markup() {
    let page = concat!(
        r#"<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X" height="0"></iframe></noscript>"#,
        r#"<noscript><img height="1" src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"/></noscript>"#,
    );
    assert_eq!(
        rewrite(page, &[]),
        concat!(
            r#"<noscript><iframe data-consent-category="analytics" data-consent-src="https://www.googletagmanager.com/ns.html?id=GTM-X" height="0"></iframe></noscript>"#,
            r#"<noscript><img data-consent-category="marketing" height="1" data-consent-src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"/></noscript>"#,
        )
    );
}

#[test]
fn site_authored_blocked_scripts_are_switched_on() {
    let page = concat!(
        r#"<script type="text/plain" data-consent-category="analytics" data-consent-src="/stats.js"></script>"#,
        r#"<script type="text/plain" data-cookieconsent="statistics">track()</script>"#,
        r#"<script type="text/plain" data-category="marketing" data-consent-type="module" data-src="/ads.js"></script>"#,
    );
    assert_eq!(rewrite(page, &[]), page);
    assert_eq!(
        rewrite(page, &[2, 3]),
        concat!(
            r#"<script data-consent-category="analytics" src="/stats.js"></script>"#,
            r#"<script data-cookieconsent="statistics">track()</script>"#,
            r#"<script type="module" data-category="marketing" data-consent-type="module" src="/ads.js"></script>"#,
        )
    );
    // A site's label does not let a tracker of a refused category through.
    let mislabelled = concat!(
        r#"<script type="text/plain" data-consent-category="analytics" data-src="https://connect.facebook.net/x.js"></script>"#,
        r#"<script type="text/plain" data-consent-category="analytics">fbq('init', '1')</script>"#,
    );
    assert_eq!(rewrite(mislabelled, &[2]), mislabelled);
}

#[test]
fn remove_mode_takes_elements_out() {
    let mut config = ConsentConfig::default();
    config.html.block_mode = BlockMode::Remove;
    let settings = settings_with(config);
    let page = concat!(
        "<p>a</p>",
        r#"<script src="https://connect.facebook.net/en_US/fbevents.js"></script>"#,
        "<script>fbq('init', '1'); /* more */</script>",
        r#"<iframe src="https://www.youtube.com/embed/x">fallback</iframe>"#,
        r#"<img src="https://www.facebook.com/tr?id=1">"#,
        "<p>b</p>",
    );
    assert_eq!(rewrite_with(&settings, page, &[]), "<p>a</p><p>b</p>");
}

#[test]
fn utf16_bodies_pass_through() {
    let settings = settings();
    let script = r#"<script src="https://connect.facebook.net/x.js"></script>"#;
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(script.encode_utf16().flat_map(u16::to_le_bytes));
    for split in [0, 1, 2, 5] {
        let out = rewrite_chunks(
            &*settings,
            allowed(&[]),
            &[&utf16[..split], &utf16[split..]],
        );
        assert_eq!(out, utf16, "split at {split}");
    }
    let mut utf8 = "\u{feff}".as_bytes().to_vec();
    utf8.extend_from_slice(script.as_bytes());
    let out = rewrite_chunks(&*settings, allowed(&[]), &[&utf8]);
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains(r#"type="text/plain""#)
    );
}
