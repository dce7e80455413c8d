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
        r#"<script type="text/plain" data-consent-category="analytics" async data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>"#
    );
    assert_eq!(
        rewrite(GA, &[3]),
        rewrite(GA, &[]),
        "marketing is not analytics"
    );
    assert_eq!(rewrite(GA, &[2]), GA);
}

/// What a browser's preload scanner fetches, not only what its parser runs (found by a review
/// in Chromium): it honours a script's last `type` and may fetch a later duplicate URL, so a
/// blocked element keeps no live URL and no live `type` anywhere in its tag.
#[test]
fn blocked_elements_leave_the_preload_scanner_nothing_to_fetch() {
    let typed = r#"<script type="text/javascript" src="https://www.googletagmanager.com/gtm.js?id=GTM-X"></script>"#;
    let blocked = r#"<script type="text/plain" data-consent-category="analytics" data-consent-type="text/javascript" data-consent-src="https://www.googletagmanager.com/gtm.js?id=GTM-X"></script>"#;
    assert_eq!(rewrite(typed, &[]), blocked);
    // Written as a site blocks a script itself, it is switched on again, as it was, once its
    // category is allowed.
    assert_eq!(
        rewrite(blocked, &[2]),
        r#"<script type="text/javascript" data-consent-category="analytics" data-consent-type="text/javascript" src="https://www.googletagmanager.com/gtm.js?id=GTM-X"></script>"#
    );
    for (page, expected) in [
        // A first-party URL first, a tracker's after it.
        (
            r#"<script src="/app.js" src="https://connect.facebook.net/x.js"></script>"#,
            r#"<script type="text/plain" data-consent-category="marketing" data-consent-src="/app.js" data-consent-src="https://connect.facebook.net/x.js"></script>"#,
        ),
        (
            r#"<link rel=preload as=image href=/a.png href="https://www.facebook.com/tr?id=1">"#,
            r#"<link data-consent-category="marketing" rel=preload as=image data-consent-href=/a.png data-consent-href="https://www.facebook.com/tr?id=1">"#,
        ),
        (
            r#"<img src="/a.png" srcset="/a.png 1x" srcset="https://www.facebook.com/tr?id=1 2x">"#,
            r#"<img data-consent-category="marketing" data-consent-src="/a.png" data-consent-srcset="/a.png 1x" data-consent-srcset="https://www.facebook.com/tr?id=1 2x">"#,
        ),
        // A site's own markup with several `type`s: the last is the preload scanner's.
        (
            r#"<script type="text/plain" type="text/javascript" src="https://connect.facebook.net/x.js"></script>"#,
            r#"<script type="text/plain" data-consent-category="marketing" data-consent-type="text/plain" data-consent-type="text/javascript" data-consent-src="https://connect.facebook.net/x.js"></script>"#,
        ),
        (
            r#"<script type="text/x-template" type="module" src="https://connect.facebook.net/x.js"></script>"#,
            r#"<script type="text/plain" data-consent-category="marketing" data-consent-type="text/x-template" data-consent-type="module" data-consent-src="https://connect.facebook.net/x.js"></script>"#,
        ),
        // A text track loads its `src` (a review found it fetched in Chromium).
        (
            r#"<video src=/v.webm><track default src="https://www.facebook.com/tr?id=1"></video>"#,
            r#"<video src=/v.webm><track data-consent-category="marketing" default data-consent-src="https://www.facebook.com/tr?id=1"></video>"#,
        ),
        // An SVG script loads its `href`.
        (
            r#"<svg><script href="https://connect.facebook.net/x.js"></script></svg>"#,
            r#"<svg><script type="text/plain" data-consent-category="marketing" data-consent-href="https://connect.facebook.net/x.js"></script></svg>"#,
        ),
    ] {
        assert_eq!(rewrite(page, &[]), expected, "{page}");
    }
}

/// A document in `srcdoc` starts with the page's base, and its own first `<base href>` replaces
/// it, as in the browser (found by a review in Chromium: the nested `<base>` was ignored).
#[test]
fn a_srcdoc_documents_own_base_counts() {
    let page = r#"<base href="https://example.org/"><iframe srcdoc="<base href=https://www.facebook.com/><img src=tr>"></iframe>"#;
    let out = rewrite(page, &[]);
    assert!(out.contains("data-consent-src=tr"), "{out}");
    let page = r#"<base href="https://www.facebook.com/"><iframe srcdoc="<base href=https://example.org/><img src=tr>"></iframe>"#;
    assert_eq!(rewrite(page, &[]), page);
    // Without one of its own, the page's base, for tags of every kind (the quick pass over
    // image-like tags included); and its own is read against the page's.
    for srcdoc in [
        "<img src=tr>",
        "<p>y</p><img src=tr>",
        "<img src=/tr>",
        "<base href=/><img src=tr>",
    ] {
        let page = format!(
            r#"<base href="https://www.facebook.com/"><iframe srcdoc="{srcdoc}"></iframe>"#
        );
        let out = rewrite(&page, &[]);
        assert!(out.contains("data-consent-src="), "{srcdoc}: {out}");
    }
}

/// URLs that reach a tracker host only as a browser's URL parser reads them (found by a review
/// that compared the reading with a WHATWG parser).
#[test]
fn urls_are_read_as_the_browser_reads_them() {
    let own_matomo: ConsentConfig =
        serde_json::from_str(r#"{"hosts": [{"path": "/matomo/", "category": "analytics"}]}"#)
            .unwrap();
    let own_matomo = settings_with(own_matomo);
    for (settings, page) in [
        // Any number of slashes, either way, before a host.
        (
            settings(),
            r#"<script async src="///www.googletagmanager.com/gtag/js?id=G-1"></script>"#,
        ),
        (settings(), r#"<img src="\\\connect.facebook.net/x.gif">"#),
        (settings(), r#"<img src="/\/www.facebook.com/tr?id=1">"#),
        (
            settings(),
            r#"<base href="///www.googletagmanager.com/"><script src="gtag/js?id=G-1"></script>"#,
        ),
        // Dot segments of a relative path resolved within the base's directory.
        (
            settings(),
            r#"<base href="https://www.google.com/pagead/"><script src="./conversion_async.js"></script>"#,
        ),
        (
            own_matomo.clone(),
            r#"<base href="/matomo/"><script src="./matomo.js"></script>"#,
        ),
    ] {
        let out = rewrite_with(&settings, page, &[]);
        assert!(
            out.contains("data-consent-category"),
            "left active: {page}\n{out}"
        );
    }
    // And not blocked where the browser loads a first-party path.
    let first_party = r#"<base href="/app/"><script src="./matomo/x.js"></script>"#;
    assert_eq!(rewrite_with(&own_matomo, first_party, &[]), first_party);
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

mod chunking {
    use proptest::prelude::*;

    use super::*;
    use crate::html::generated;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read(path).unwrap()
    }

    /// Cuts `input` at the given fractions of its length.
    pub(super) fn cut<'a>(input: &'a [u8], cuts: &[f64]) -> Vec<&'a [u8]> {
        let mut points: Vec<usize> = cuts
            .iter()
            .map(|f| ((input.len() as f64) * f) as usize)
            .collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut from = 0;
        for p in points {
            pieces.push(&input[from..p]);
            from = p;
        }
        pieces.push(&input[from..]);
        pieces
    }

    fn variants() -> [CategorySet; 4] {
        [
            allowed(&[]),
            allowed(&[2]),
            allowed(&[3]),
            allowed(&[1, 2, 3]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn chunk_boundaries_never_change_the_output(
            seed in any::<u64>(),
            cuts in proptest::collection::vec(0.0f64..1.0, 0..40),
            remove in any::<bool>(),
        ) {
            let mut config = ConsentConfig::default();
            if remove {
                config.html.block_mode = BlockMode::Remove;
            }
            let settings = settings_with(config);
            let document = generated::document(seed);
            let input = document.as_bytes();
            for allowed in variants() {
                let whole = rewrite_chunks(&*settings, allowed, &[input]);
                let pieces = cut(input, &cuts);
                prop_assert_eq!(&rewrite_chunks(&*settings, allowed, &pieces), &whole);
            }
        }

        #[test]
        fn binary_junk_neither_panics_nor_depends_on_chunks(
            junk in proptest::collection::vec(any::<u8>(), 0..2000),
            cuts in proptest::collection::vec(0.0f64..1.0, 0..20),
        ) {
            let settings = settings();
            let whole = rewrite_chunks(&*settings, allowed(&[]), &[&junk]);
            prop_assert_eq!(&rewrite_chunks(&*settings, allowed(&[]), &cut(&junk, &cuts)), &whole);
            let again = rewrite_chunks(&*settings, allowed(&[]), &[&whole]);
            prop_assert_eq!(again, whole);
        }
    }

    #[test]
    fn fixtures_in_one_byte_chunks() {
        let settings = settings();
        for name in ["shop.html", "adversarial.html", "clean.html"] {
            let input = fixture(name);
            for allowed in variants() {
                let whole = rewrite_chunks(&*settings, allowed, &[&input]);
                let bytes: Vec<&[u8]> = input.chunks(1).collect();
                assert_eq!(rewrite_chunks(&*settings, allowed, &bytes), whole, "{name}");
                let sevens: Vec<&[u8]> = input.chunks(7).collect();
                assert_eq!(
                    rewrite_chunks(&*settings, allowed, &sevens),
                    whole,
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn shop_fixture_is_blocked_for_an_undecided_visitor_and_whole_for_a_consenting_one() {
        let settings = settings();
        let input = fixture("shop.html");
        let blocked =
            String::from_utf8(rewrite_chunks(&*settings, allowed(&[]), &[&input])).unwrap();
        for expected in [
            r#"<link data-consent-category="analytics" rel="preconnect" data-consent-href="https://www.googletagmanager.com">"#,
            r#"<script type="text/plain" data-consent-category="analytics">(function(w,d,s,l,i)"#,
            r#"<script type="text/plain" data-consent-category="analytics" async data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-XYZ987">"#,
            r#"<script type="text/plain" data-consent-category="marketing">
!function(f,b,e,v,n,t,s)"#,
            r#"<iframe data-consent-category="analytics" data-consent-src="https://www.googletagmanager.com/ns.html?id=GTM-ABC123""#,
            r#"<iframe data-consent-category="marketing" width="560" height="315" data-consent-src="https://www.youtube.com/embed/dQw4w9WgXcQ""#,
            r#"<script src="https://www.google.com/recaptcha/api.js" async defer></script>"#,
            r#"<script type="application/ld+json">"#,
        ] {
            assert!(blocked.contains(expected), "missing {expected}");
        }
        let all = allowed(&[1, 2, 3]);
        let whole = String::from_utf8(rewrite_chunks(&*settings, all, &[&input])).unwrap();
        let switched_on = whole
            .replace(
                r#"<script data-consent-category="analytics" src="/assets/stats.js">"#,
                "",
            )
            .replace(r#"<script data-cookieconsent="marketing">"#, "");
        let original = String::from_utf8(input.clone())
            .unwrap()
            .replace(r#"<script type="text/plain" data-consent-category="analytics" data-consent-src="/assets/stats.js">"#, "")
            .replace(r#"<script type="text/plain" data-cookieconsent="marketing">"#, "");
        assert_eq!(
            switched_on, original,
            "a visitor who allowed everything gets the page as written"
        );
    }
}

mod bounds {
    use super::*;

    fn small_limits() -> Arc<Settings> {
        let mut config = ConsentConfig::default();
        config.html.max_tag_bytes = 1024;
        config.html.max_inline_script_bytes = 2048;
        config.html.max_noscript_bytes = 1024;
        settings_with(config)
    }

    fn out(settings: &Settings, input: &str) -> String {
        let whole = rewrite_chunks(settings, allowed(&[]), &[input.as_bytes()]);
        let pieces: Vec<&[u8]> = input.as_bytes().chunks(100).collect();
        assert_eq!(rewrite_chunks(settings, allowed(&[]), &pieces), whole);
        let whole = String::from_utf8(whole).unwrap();
        let again = rewrite_chunks(settings, allowed(&[]), &[whole.as_bytes()]);
        assert_eq!(String::from_utf8(again).unwrap(), whole, "idempotent");
        whole
    }

    #[test]
    fn a_script_tag_past_the_bound_is_made_inert() {
        let settings = small_limits();
        let long = format!(
            r#"<script data-x="{}" src="/app.js"></script>"#,
            "a".repeat(2000)
        );
        assert_eq!(
            out(&settings, &long),
            format!(
                r#"<script type="text/plain" data-consent-category="unknown" data-x="{}" src="/app.js"></script>"#,
                "a".repeat(2000)
            )
        );
    }

    #[test]
    fn other_tags_past_the_bound_are_judged_on_what_fits() {
        let settings = small_limits();
        let early = format!(
            r#"<img src="https://www.facebook.com/tr" alt="{}"><p>x</p>"#,
            "a".repeat(2000)
        );
        assert!(
            out(&settings, &early)
                .starts_with(r#"<img data-consent-category="marketing" data-consent-src="#)
        );
        let late = format!(
            r#"<img alt="{}" src="https://www.facebook.com/tr"><p>x</p>"#,
            "a".repeat(2000)
        );
        assert_eq!(out(&settings, &late), late, "documented: passes unchanged");
    }

    #[test]
    fn an_inline_script_past_the_bound_is_made_inert() {
        let settings = small_limits();
        let long = format!(
            "<script>var a = '{}';</script><p>after</p>",
            "x".repeat(3000)
        );
        let expected = long.replacen(
            "<script>",
            r#"<script type="text/plain" data-consent-category="unknown">"#,
            1,
        );
        assert_eq!(out(&settings, &long), expected);
        // A signature found within the bound gives the script its category.
        let tracked = format!(
            "<script>fbq('init', '1'); var a = '{}';</script>",
            "x".repeat(3000)
        );
        assert!(
            out(&settings, &tracked)
                .starts_with(r#"<script type="text/plain" data-consent-category="marketing">"#)
        );
    }

    #[test]
    fn noscript_text_past_the_bound_passes_unchanged() {
        let settings = small_limits();
        let page = format!(
            r#"<noscript><img src="https://www.facebook.com/tr?a">{}<img src="https://www.facebook.com/tr?b"></noscript>"#,
            " ".repeat(2000)
        );
        let result = out(&settings, &page);
        assert!(result.contains(r#"data-consent-src="https://www.facebook.com/tr?a""#));
        assert!(result.contains(r#"<img src="https://www.facebook.com/tr?b">"#));
    }

    #[test]
    fn ten_megabyte_attributes_stream_through() {
        let settings = settings();
        let huge = "a".repeat(10 * 1024 * 1024);
        let cases = [
            (
                format!(
                    r#"<div title="{huge}">x</div><script src="https://connect.facebook.net/x.js"></script>"#
                ),
                format!(
                    r#"<div title="{huge}">x</div><script type="text/plain" data-consent-category="marketing" data-consent-src="https://connect.facebook.net/x.js"></script>"#
                ),
            ),
            (
                format!(
                    r#"<script data-x="{huge}" src="https://connect.facebook.net/x.js"></script>"#
                ),
                format!(
                    r#"<script type="text/plain" data-consent-category="unknown" data-x="{huge}" src="https://connect.facebook.net/x.js"></script>"#
                ),
            ),
            (
                format!(r#"<img src="https://www.facebook.com/tr" alt="{huge}">"#),
                format!(
                    r#"<img data-consent-category="marketing" data-consent-src="https://www.facebook.com/tr" alt="{huge}">"#
                ),
            ),
        ];
        for (page, expected) in cases {
            let chunks: Vec<&[u8]> = page.as_bytes().chunks(16 * 1024).collect();
            let result = rewrite_chunks(&*settings, allowed(&[]), &chunks);
            assert!(
                result == expected.as_bytes(),
                "{}",
                String::from_utf8_lossy(&result[..200])
            );
        }
    }

    #[test]
    fn limits_below_a_kilobyte_are_refused() {
        let mut config = ConsentConfig::default();
        config.html.max_tag_bytes = 100;
        let error = ConsentLayer::builder_from(config).build().unwrap_err();
        assert_eq!(
            error.to_string(),
            "html.max_tag_bytes is 100 bytes; use at least 1024"
        );
    }
}

/// Inputs from a fresh-eyes review of the scanner: each loaded a tracker, broke markup, or
/// depended on chunking before it was fixed. The output is parsed by html5ever, with scripting
/// on and off, and nothing of a refused category may be live in it.
mod review {
    use super::*;
    use crate::html::oracle::live_offenders;

    fn assert_nothing_live(settings: &Settings, input: &str, allow: &[usize]) {
        let output = rewrite_with(settings, input, allow);
        for scripting in [true, false] {
            let offenders = live_offenders(
                &settings.catalog.trackers,
                output.as_bytes(),
                allowed(allow),
                scripting,
            );
            assert!(
                offenders.is_empty(),
                "scripting {scripting}: {offenders:?}\ninput:  {input}\noutput: {output}"
            );
        }
    }

    const PIXEL: &str = "https://www.facebook.com/tr?id=1";
    const SCRIPT: &str = "https://connect.facebook.net/en_US/fbevents.js";
    const VIDEO: &str = "https://www.youtube.com/embed/x";

    #[test]
    fn foreign_content_out_of_step_loads_nothing() {
        let settings = settings();
        for input in [
            format!(r#"<span><svg></span><script src="{SCRIPT}"></script>"#),
            format!(r#"<b><svg></b><iframe src="{VIDEO}"></iframe>"#),
            format!(r#"<svg><foreignObject><div></foreignObject><iframe src="{VIDEO}"></iframe>"#),
            format!(r#"<math><mi><p></mi><iframe src="{VIDEO}"></iframe>"#),
            format!(r#"<svg></div><style><img src="{PIXEL}"></style>"#),
            format!(r#"<svg></body><style><img src="{PIXEL}"></style>"#),
            format!(r#"<svg><foreignObject><div><![CDATA[ ><iframe src="{VIDEO}">"#),
            format!(
                r#"<svg>{}<foreignObject><iframe src="{VIDEO}"></iframe>"#,
                "<g>".repeat(300)
            ),
            r#"<svg><script>gtag("config","G-1")</script></svg>"#.to_string(),
            r#"<svg><script>fbq('init', '1')</script></svg><p>after</p>"#.to_string(),
        ] {
            assert_nothing_live(&settings, &input, &[]);
        }
    }

    /// Found by the fuzzer: `<svg/>` opens no foreign content, however the tag is cut.
    #[test]
    fn self_closing_svg_opens_nothing() {
        let settings = settings();
        for input in [
            format!(r#"<svg ng started/><title><img src="{PIXEL}"></title>"#),
            format!(r#"<math/><textarea><iframe src="{VIDEO}"></iframe></textarea>"#),
            format!(r#"<svg><g/><title><img src="{PIXEL}"></title></svg>"#),
        ] {
            let output = rewrite_with(&settings, &input, &[]);
            assert_nothing_live(&settings, &input, &[]);
            if input.starts_with("<svg ng") || input.starts_with("<math/>") {
                assert_eq!(output, input, "text in RCDATA is not markup");
            }
        }
    }

    #[test]
    fn elements_with_many_attributes_are_made_inert() {
        let settings = settings();
        let many: String = (0..200).map(|i| format!(" a{i}")).collect();
        for input in [
            format!(r#"<iframe{many} src="{VIDEO}"></iframe>"#),
            format!(r#"<img{many} src="{PIXEL}">"#),
            format!(r#"<script{many} src="{SCRIPT}"></script>"#),
            format!(r#"<svg><font{many} color=red><iframe src="{VIDEO}"></iframe>"#),
        ] {
            assert_nothing_live(&settings, &input, &[]);
        }
    }

    #[test]
    fn base_urls_as_browsers_resolve_them() {
        let settings = settings();
        for input in [
            r#"<template><base href="https://example.org/"></template><base href="https://connect.facebook.net/"><script src="en_US/fbevents.js"></script>"#,
            r#"<base href="https://connect.facebook.net/"><script src="https:en_US/fbevents.js"></script>"#,
            r#"<noscript><base href="https://www.facebook.com/"></noscript><img src="tr?id=1">"#,
        ] {
            assert_nothing_live(&settings, input, &[]);
        }
    }

    #[test]
    fn dot_segments_do_not_hide_a_path() {
        let settings = settings();
        for input in [
            r#"<img src="https://www.facebook.com/a/../tr?id=1">"#,
            r#"<img src="https://www.facebook.com/a/%2e%2e/tr?id=1">"#,
            r#"<iframe src="https://www.youtube.com/./embed/x"></iframe>"#,
        ] {
            assert_nothing_live(&settings, input, &[]);
        }
    }

    #[test]
    fn other_ways_to_load_a_url() {
        let settings = settings();
        for input in [
            format!(
                r#"<iframe srcdoc="<script src={SCRIPT}></script><img src='{PIXEL}'>"></iframe>"#
            ),
            format!(
                r#"<iframe srcdoc="<iframe srcdoc=&quot;<img src={PIXEL}>&quot;></iframe>"></iframe>"#
            ),
            format!(r#"<link rel=preload as=image href=/a.png imagesrcset="{PIXEL} 1x">"#),
            format!(r#"<link rel="pre&#108;oad" href="{SCRIPT}">"#),
            format!(r#"<link rel=stylesheet href="{SCRIPT}">"#),
            format!(r#"<input type=image src="{PIXEL}">"#),
            format!(r#"<video poster="{PIXEL}"></video>"#),
            format!(r#"<script type="text/partytown" src="{SCRIPT}"></script>"#),
        ] {
            let output = rewrite_with(&settings, &input, &[]);
            assert_nothing_live(&settings, &input, &[]);
            // Nothing the live-check above knows about stays pointing at a tracker either: every
            // URL attribute that names one was renamed `data-consent-…`.
            let attrs = ["src=", "href=", "poster=", "imagesrcset="];
            if input.contains("srcdoc") {
                // Inside a srcdoc (decoded as deep as it goes): the script made inert, the
                // pixel renamed.
                let mut decoded = output.clone();
                for _ in 0..3 {
                    decoded = decoded.replace("&quot;", "\"").replace("&amp;", "&");
                }
                if input.contains("<script") {
                    assert!(
                        decoded.contains(r#"<script type="text/plain""#),
                        "{decoded}"
                    );
                }
                for live in [
                    format!(" src={PIXEL}"),
                    format!(" src='{PIXEL}"),
                    format!(" src=\"{PIXEL}"),
                ] {
                    assert!(!decoded.contains(&live), "{decoded}");
                }
                continue;
            }
            if input.starts_with("<script") {
                assert!(
                    output.starts_with(r#"<script type="text/plain""#),
                    "{output}"
                );
                continue;
            }
            let still = attrs.iter().any(|a| {
                [PIXEL, SCRIPT].iter().any(|url| {
                    output.contains(&format!(" {a}\"{url}"))
                        || output.contains(&format!(" {a}{url}"))
                })
            });
            assert!(!still, "{input}\n{output}");
        }
        // A srcdoc with nothing to block is left as written.
        let clean = r#"<iframe srcdoc="<p>hello &amp; welcome</p>"></iframe>"#;
        assert_eq!(rewrite_with(&settings, clean, &[]), clean);
    }

    #[test]
    fn noscript_in_noscript_is_read_as_markup() {
        let settings = settings();
        let input = format!(r#"<noscript><noscript><img src="{PIXEL}"></noscript>"#);
        assert_nothing_live(&settings, &input, &[]);
    }

    #[test]
    fn switching_on_keeps_the_tag_whole() {
        let settings = settings();
        let input = format!(
            r#"<script type="text/plain"data-consent-category="analytics">x.innerHTML='<img src="{PIXEL}">';</script>"#
        );
        let output = rewrite_with(&settings, &input, &[2]);
        assert!(
            output.starts_with(r#"<script data-consent-category="analytics">"#),
            "{output}"
        );
        assert_nothing_live(&settings, &input, &[2]);
    }

    #[test]
    fn remove_mode_with_noscript_frames_is_stable() {
        let mut config = ConsentConfig::default();
        config.html.block_mode = BlockMode::Remove;
        let settings = settings_with(config);
        let input = r#"<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X"></noscript><p>after</p><noscript>noscript><p>more</p>"#;
        assert_nothing_live(&settings, input, &[]);
        assert!(rewrite_with(&settings, input, &[]).contains("<p>after</p>"));
    }

    #[test]
    fn a_never_ending_tag_name_is_not_held() {
        let settings = settings();
        let mut input = b"<x".to_vec();
        input.extend(std::iter::repeat_n(b'a', 1 << 20));
        let mut rewriter = crate::html::Rewriter::new(&*settings, allowed(&[]));
        let mut out = 0;
        for chunk in input.chunks(16 * 1024) {
            rewriter.push(&*settings, &bytes::Bytes::copy_from_slice(chunk));
            while let Some(piece) = rewriter.next_piece() {
                out += piece.len();
            }
        }
        assert!(out + 64 >= input.len(), "output keeps up with input: {out}");
    }
}

#[test]
fn a_tag_cut_off_by_the_end_of_the_body_passes_as_it_is() {
    // Browsers drop a tag the document ends inside: nothing loads.
    for cut in [
        r#"<p>x</p><script src="https://connect.facebook.net/en_US/fbevents.js""#,
        r#"<p>x</p><img src="https://www.facebook.com/tr?id=1"#,
        "<p>x</p><iframe",
        "<p>x</p><",
        "<p>x</p><!-- <script src=x>",
    ] {
        assert_eq!(rewrite(cut, &[]), cut);
    }
}

/// The site's own tracker rules, and built-in services switched off.
mod site_rules {
    use super::*;

    fn configured(json: &str) -> Arc<Settings> {
        let config: ConsentConfig = serde_json::from_str(json).unwrap();
        settings_with(config)
    }

    #[test]
    fn own_hosts_paths_and_signatures_are_blocked() {
        let settings = configured(
            r#"{
                "hosts": [
                    {"host": "stats.example.com", "category": "analytics", "service": "Self-hosted Matomo"},
                    {"host": "www.example.com", "path": "/js/plausible", "category": "analytics"},
                    {"path": "/js/plausible", "category": "analytics"},
                    {"host": "www.facebook.com", "path": "/tr", "category": "necessary"}
                ],
                "signatures": [{"text": "ourTracker.init(", "category": "marketing"}]
            }"#,
        );
        let page = concat!(
            r#"<script src="https://stats.example.com/matomo.js"></script>"#,
            r#"<script src="https://www.example.com/js/plausible.js"></script>"#,
            r#"<script src="/js/plausible.js"></script>"#,
            r#"<script src="/js/app.js"></script>"#,
            "<script>ourTracker.init('x')</script>",
            r#"<img src="https://www.facebook.com/tr?id=1">"#,
        );
        let out = rewrite_with(&settings, page, &[]);
        assert_eq!(
            out.matches(r#"<script type="text/plain" data-consent-category="analytics""#)
                .count(),
            3,
            "{out}"
        );
        assert!(out.contains(r#"<script src="/js/app.js">"#), "{out}");
        assert!(
            out.contains(
                r#"<script type="text/plain" data-consent-category="marketing">ourTracker"#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"<img src="https://www.facebook.com/tr?id=1">"#),
            "a site rule beats the built-in one: {out}"
        );
        assert_eq!(rewrite_with(&settings, page, &[2, 3]), page);
    }

    #[test]
    fn disabled_services_are_not_known() {
        let settings = configured(r#"{"disable": ["Hotjar"]}"#);
        let page = r#"<script src="https://static.hotjar.com/c/hotjar-1.js"></script><script>(function(h){h._hjSettings={}})(window)</script>"#;
        assert_eq!(rewrite_with(&settings, page, &[]), page);
        assert!(settings.catalog.classify(b"_hjid").is_none());
        assert!(settings.catalog.classify(b"_ga").is_some());
    }

    #[test]
    fn bad_site_rules_are_configuration_errors() {
        for (json, expected) in [
            (
                r#"{"disable": ["Hotjr"]}"#,
                r#"no built-in service is called "Hotjr""#,
            ),
            (
                r#"{"services": ["Gogle Analytics"]}"#,
                r#"no built-in service is called "Gogle Analytics""#,
            ),
            (
                r#"{"hosts": [{"host": "not a host", "category": "analytics"}]}"#,
                "hosts[0]: expected a host name",
            ),
            (
                r#"{"hosts": [{"category": "analytics"}]}"#,
                "hosts[0]: expected a host name",
            ),
            (
                r#"{"hosts": [{"host": "x.com", "path": "js", "category": "analytics"}]}"#,
                "hosts[0]",
            ),
            (
                r#"{"hosts": [{"host": "x.com", "category": "social"}]}"#,
                "social",
            ),
            (
                r#"{"signatures": [{"text": "ab", "category": "analytics"}]}"#,
                "signatures[0]: a signature needs at least 4",
            ),
            (
                r#"{"signatures": [{"text": "abcdef", "category": "social"}]}"#,
                "social",
            ),
        ] {
            let config: ConsentConfig = serde_json::from_str(json).unwrap();
            let error = ConsentLayer::builder_from(config)
                .sink(NoopSink)
                .build()
                .unwrap_err();
            assert!(error.to_string().contains(expected), "{json}: {error}");
        }
    }
}

/// Google Consent Mode's default call, first in `<head>`.
mod consent_mode {
    use super::*;
    use crate::html::consent_mode::csp_nonce;

    fn on() -> Arc<Settings> {
        let mut config = ConsentConfig::default();
        config.consent_mode.enabled = true;
        settings_with(config)
    }

    const DENIED: &str = "<script data-tower-consent-mode>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('consent','default',{'ad_storage':'denied','ad_user_data':'denied','ad_personalization':'denied','analytics_storage':'denied','functionality_storage':'denied','personalization_storage':'denied','security_storage':'granted'});</script>";

    #[test]
    fn the_default_call_goes_first_in_head() {
        let settings = on();
        let page = r#"<!DOCTYPE html><html><HEAD lang=en><meta charset=utf-8><script src="/app.js"></script></head><body>x</body></html>"#;
        let out = rewrite_with(&settings, page, &[]);
        assert_eq!(
            out,
            page.replace("<HEAD lang=en>", &format!("<HEAD lang=en>{DENIED}"))
        );
        let analytics = rewrite_with(&settings, page, &[2]);
        assert!(
            analytics.contains("'analytics_storage':'granted'"),
            "{analytics}"
        );
        assert!(analytics.contains("'ad_storage':'denied'"), "{analytics}");
        // Off by default: nothing inserted.
        assert_eq!(rewrite(page, &[]), page);
    }

    #[test]
    fn without_head_it_goes_before_the_first_script() {
        let settings = on();
        let page = r#"<p>x</p><script>var a;</script><script>var b;</script>"#;
        let out = rewrite_with(&settings, page, &[]);
        assert_eq!(
            out,
            format!("<p>x</p>{DENIED}<script>var a;</script><script>var b;</script>")
        );
        // A page with neither gets nothing: no script reads it.
        assert_eq!(rewrite_with(&settings, "<p>x</p>", &[]), "<p>x</p>");
    }

    #[test]
    fn the_nonce_of_the_page_is_carried() {
        let settings = on();
        let rewriter = crate::html::Rewriter::for_page(
            &*settings,
            allowed(&[]),
            crate::html::PageInserts {
                script_nonce: Some("r4nd0m".into()),
                closing: None,
                opening: None,
            },
        );
        let out = crate::html::run_chunks(&*settings, rewriter, &[b"<head></head>"]);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with(r#"<head><script data-tower-consent-mode nonce="r4nd0m">"#),
            "{out}"
        );

        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'self' 'nonce-dflt'; script-src 'self' 'nonce-abc123+/='"
                .parse()
                .unwrap(),
        );
        assert_eq!(csp_nonce(&headers).as_deref(), Some("abc123+/="));
        let mut fallback = http::HeaderMap::new();
        fallback.append(
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'nonce-dflt'".parse().unwrap(),
        );
        assert_eq!(csp_nonce(&fallback).as_deref(), Some("dflt"));
        let mut bad = http::HeaderMap::new();
        bad.append(
            http::header::CONTENT_SECURITY_POLICY,
            "script-src 'nonce-a\"b'".parse().unwrap(),
        );
        assert_eq!(
            csp_nonce(&bad),
            None,
            "a nonce that could break out of the attribute"
        );
    }

    #[test]
    fn the_mapping_is_configurable_and_checked() {
        let config: ConsentConfig = serde_json::from_str(
            r#"{"consent_mode": {"enabled": true, "analytics_storage": "marketing"}}"#,
        )
        .unwrap();
        let settings = settings_with(config);
        let out = rewrite_with(&settings, "<head></head>", &[2]);
        assert!(out.contains("'analytics_storage':'denied'"), "{out}");
        let bad: ConsentConfig =
            serde_json::from_str(r#"{"consent_mode": {"enabled": true, "ad_storage": "ads"}}"#)
                .unwrap();
        let error = ConsentLayer::builder_from(bad).build().unwrap_err();
        assert!(
            error.to_string().contains("consent_mode.ad_storage"),
            "{error}"
        );
    }
}

/// The banner's place: before the first `</body>` outside a `<template>`, or at the end of a
/// document without one, however the body is cut into chunks.
mod closing_insert {
    use super::*;
    use crate::html::{PageInserts, Rewriter};

    const BANNER: &str = "<div data-tower-consent-banner>B</div>";

    fn with_banner(settings: &Settings, chunks: &[&[u8]]) -> Vec<u8> {
        with_inserts(settings, chunks, None)
    }

    fn with_inserts(settings: &Settings, chunks: &[&[u8]], opening: Option<&str>) -> Vec<u8> {
        let inserts = PageInserts {
            script_nonce: None,
            closing: Some(BANNER.as_bytes().to_vec()),
            opening: opening.map(|o| o.as_bytes().to_vec()),
        };
        let rewriter = Rewriter::for_page(settings, allowed(&[]), inserts);
        crate::html::run_chunks(settings, rewriter, chunks)
    }

    /// The output for `input` whole, checked to be the same for every cut into two chunks
    /// and for bytes one at a time.
    fn place(input: &str) -> String {
        let settings = &*settings();
        let bytes = input.as_bytes();
        let whole = with_banner(settings, &[bytes]);
        for cut in 0..=bytes.len() {
            assert_eq!(
                with_banner(settings, &[&bytes[..cut], &bytes[cut..]]),
                whole,
                "cut at {cut} of {input:?}"
            );
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(
            with_banner(settings, &singles),
            whole,
            "bytes one at a time"
        );
        // Three chunks: a tag can span a whole chunk, with a boundary on each side.
        for first in 0..=bytes.len() {
            for second in first..=bytes.len().min(first + 24) {
                assert_eq!(
                    with_banner(
                        settings,
                        &[&bytes[..first], &bytes[first..second], &bytes[second..]]
                    ),
                    whole,
                    "cuts at {first} and {second} of {input:?}"
                );
            }
        }
        String::from_utf8(whole).unwrap()
    }

    #[test]
    fn before_the_body_end_tag() {
        assert_eq!(
            place("<html><body><p>Hi</p></body></html>"),
            format!("<html><body><p>Hi</p>{BANNER}</body></html>")
        );
        assert_eq!(
            place("<p>a</p></BODY ><p>b</p></body>"),
            format!("<p>a</p>{BANNER}</BODY ><p>b</p></body>")
        );
        assert_eq!(
            place("<svg><circle/></body>"),
            format!("<svg><circle/>{BANNER}</body>")
        );
    }

    #[test]
    fn not_at_look_alikes() {
        // `</bodyx>`, `</bod>` and `</b>` are other end tags; `</body>` in a script, a
        // comment, a template or an attribute is not the body's end.
        let input = concat!(
            "<b>x</b></bod></bodyx><!-- </body> --><script>'</body>'</script>",
            "<template></body></template><a title=\"</body>\">a</a><textarea></body></textarea>",
            "</body>"
        );
        let out = place(input);
        assert_eq!(out.matches(BANNER).count(), 1);
        assert!(out.ends_with(&format!("{BANNER}</body>")), "{out}");
    }

    #[test]
    fn at_the_end_of_a_document_without_a_body_end_tag() {
        assert_eq!(place("<body><p>Hi"), format!("<body><p>Hi{BANNER}"));
        assert_eq!(place("<HTML><p>Hi"), format!("<HTML><p>Hi{BANNER}"));
        // A fragment of a page (what htmx or Turbo fetch and place) gets nothing.
        assert_eq!(place("<p>Hi"), "<p>Hi");
        assert_eq!(place(""), "");
        // Where the end is not markup, nothing is inserted.
        assert_eq!(
            place("<body><p>Hi<script>var a"),
            "<body><p>Hi<script>var a"
        );
        assert_eq!(place("<body><p>Hi<!-- open"), "<body><p>Hi<!-- open");
        assert_eq!(place("<body><template><p>"), "<body><template><p>");
    }

    #[test]
    fn long_end_tag_names_across_chunks() {
        // End tags longer than the lexer keeps of a name, cut anywhere: never held as a
        // possible `</body>`, and never out of order.
        let input = "<body>xxxxxxxxxxxxxxxxxxxx</abcdefghijklmnopqrs><p>y</p></my-long-custom-element></body>";
        let out = place(input);
        assert!(
            out.ends_with(&format!("</my-long-custom-element>{BANNER}</body>")),
            "{out}"
        );
    }

    #[test]
    fn a_template_end_tag_in_svg_closes_no_template() {
        let out = place("<template><svg><template></template></svg></body></template><p></body>");
        assert!(out.ends_with(&format!("<p>{BANNER}</body>")), "{out}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// On generated documents (every state the tokenizer can be in around the elements
        /// the rewriter judges), wrapped in `<body>…</body>` or left without the end tag:
        /// chunking never changes the output, each insert goes in at most once, and taking
        /// the inserts out gives exactly what the rewriter gives without them.
        #[test]
        fn inserts_are_additive_and_chunk_independent(
            seed in proptest::prelude::any::<u64>(),
            cuts in proptest::collection::vec(0.0f64..1.0, 0..30),
            end_tag in proptest::prelude::any::<bool>(),
        ) {
            const SKIP: &str = "<a data-skip>s</a>";
            let settings = &*settings();
            let body = crate::html::generated::document(seed);
            let document = if end_tag {
                format!("<body>{body}</body>")
            } else {
                format!("<body>{body}")
            };
            let input = document.as_bytes();
            let whole = with_inserts(settings, &[input], Some(SKIP));
            let pieces = super::chunking::cut(input, &cuts);
            proptest::prop_assert_eq!(&with_inserts(settings, &pieces, Some(SKIP)), &whole);
            let whole = String::from_utf8_lossy(&whole).into_owned();
            proptest::prop_assert!(whole.matches(BANNER).count() <= 1);
            proptest::prop_assert_eq!(whole.matches(SKIP).count(), 1);
            let plain = rewrite_chunks(settings, allowed(&[]), &[input]);
            let without = whole.replacen(SKIP, "", 1).replacen(BANNER, "", 1);
            proptest::prop_assert_eq!(without, String::from_utf8_lossy(&plain).into_owned());
        }
    }

    #[test]
    fn the_skip_link_goes_right_after_the_body_start_tag() {
        const SKIP: &str = "<a href=\"#tc-banner\">skip</a>";
        let settings = &*settings();
        let cases = [
            (
                "<html><head></head><BODY class=\"x\"><p>a</p></body>",
                format!("<html><head></head><BODY class=\"x\">{SKIP}<p>a</p>{BANNER}</body>"),
            ),
            // Not a `<body>` in a template, nor one in a script or a comment.
            (
                "<template><body></template><!-- <body> --><script>'<body>'</script><body>x</body>",
                format!(
                    "<template><body></template><!-- <body> --><script>'<body>'</script><body>{SKIP}x{BANNER}</body>"
                ),
            ),
            // Without a `<body>` tag, no skip link.
            ("<p>a</p></body>", format!("<p>a</p>{BANNER}</body>")),
        ];
        for (input, expected) in cases {
            let bytes = input.as_bytes();
            for cut in 0..=bytes.len() {
                let out = with_inserts(settings, &[&bytes[..cut], &bytes[cut..]], Some(SKIP));
                assert_eq!(String::from_utf8(out).unwrap(), expected, "cut at {cut}");
            }
        }
    }

    #[test]
    fn utf16_pages_get_nothing_inserted() {
        let page = b"\xff\xfe<\0b\0o\0d\0y\0>\0";
        assert_eq!(with_banner(&settings(), &[page]), page);
    }

    #[test]
    fn only_once() {
        let out = place("<body></body></body></html></body>");
        assert_eq!(out.matches(BANNER).count(), 1);
        assert!(out.starts_with(&format!("<body>{BANNER}</body>")), "{out}");
    }
}

/// Tags whose URLs are all relative are skimmed when no rule speaks of the page's own host:
/// never when a `<base>` or a site rule for its own host could make one a tracker.
mod relative_urls {
    use super::*;

    #[test]
    fn a_base_or_an_own_host_rule_still_decides() {
        let pixel = r#"<base href="https://www.facebook.com/"><img src="tr?id=1" alt="x">"#;
        let out = rewrite(pixel, &[]);
        assert!(out.contains("data-consent-src=\"tr?id=1\""), "{out}");

        let config: ConsentConfig = serde_json::from_str(
            r#"{"hosts": [{"path": "/js/script.js", "category": "analytics"}]}"#,
        )
        .unwrap();
        let settings = settings_with(config);
        let out = rewrite_with(
            &settings,
            r#"<link rel="preload" href="/js/script.js">"#,
            &[],
        );
        assert!(out.contains("data-consent-href"), "{out}");
    }

    #[test]
    fn what_could_name_another_host_is_judged() {
        // Each of these reaches facebook.com; none may slip through as a relative URL.
        for tag in [
            r#"<img src="//www.facebook.com/tr?id=1">"#,
            r#"<img src="\\www.facebook.com\tr?id=1">"#,
            r#"<img src="https&colon;//www.facebook.com/tr?id=1">"#,
            "<img src=\"/\t/www.facebook.com/tr?id=1\">",
            "<img src=\"/\n/www.facebook.com/tr?id=1\">",
            r#"<img srcset="//www.facebook.com/tr?id=1 1x">"#,
            r#"<video poster="https://www.facebook.com/tr?id=1"></video>"#,
        ] {
            let out = rewrite(tag, &[]);
            assert!(
                out.contains("data-consent-category=\"marketing\""),
                "{tag}: {out}"
            );
        }
        // Plainly relative: kept as it is.
        let own = r#"<img src="/images/a.png" alt="A" width="10"><source srcset="/b.webp 2x">"#;
        assert_eq!(rewrite(own, &[]), own);
    }
}
