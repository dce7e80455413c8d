//! The built-in banner, "Cookie settings" link and preferences page, through the layer: when
//! each appears, what its forms post, which language it speaks, what it says under Global
//! Privacy Control, how it is styled under a strict Content-Security-Policy, and the wording
//! recorded with each choice.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use http::header::{
    ACCEPT, ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_LANGUAGE, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, COOKIE, ETAG, HOST, LOCATION, ORIGIN, VARY,
};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_consent::{BannerTexts, ConsentLayer, ConsentLayerBuilder, NoopSink};

use common::{Recorder, Reply};

const PAGE: &str =
    "<!DOCTYPE html><html><head><title>Shop</title></head><body><h1>Shop</h1></body></html>";
const MARKER: &str = "data-tower-consent-banner";

/// The site: `PAGE` (or `x-body`) as `text/html` (or `x-type`), with the headers named
/// `x-reply-*`.
async fn site(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let body = header("x-body").unwrap_or_else(|| PAGE.to_owned());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let content_type = header("x-type").unwrap_or_else(|| "text/html; charset=utf-8".into());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, content_type.parse().unwrap());
    response
        .headers_mut()
        .insert(ETAG, "\"v1\"".parse().unwrap());
    for (name, value) in req.headers() {
        if let Some(reply) = name.as_str().strip_prefix("x-reply-") {
            let name = http::HeaderName::from_bytes(reply.as_bytes()).unwrap();
            response.headers_mut().insert(name, value.clone());
        }
    }
    Ok(response)
}

async fn send(layer: &ConsentLayer, req: Request<Full<Bytes>>) -> Reply {
    common::send_to(layer, site, req).await
}

fn builder() -> ConsentLayerBuilder {
    ConsentLayer::builder().sink(NoopSink)
}

fn layer() -> ConsentLayer {
    builder().build().unwrap()
}

/// A top-level page view, as a browser sends it.
fn page(path: &str) -> http::request::Builder {
    Request::get(path)
        .header(HOST, "example.com")
        .header("sec-fetch-dest", "document")
        .header("sec-fetch-mode", "navigate")
}

fn done(req: http::request::Builder) -> Request<Full<Bytes>> {
    req.body(Full::new(Bytes::new())).unwrap()
}

/// Posts a form to the endpoint as the banner's buttons do; returns the reply.
async fn post_form(layer: &ConsentLayer, form: &str, extra: &[(&str, &str)]) -> Reply {
    let mut req = Request::post("/consent")
        .header(HOST, "example.com")
        .header(ORIGIN, "https://example.com")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    send(
        layer,
        req.body(Full::new(Bytes::from(form.to_owned()))).unwrap(),
    )
    .await
}

/// The value of attribute `name` of the first tag in `html` that has `with` in it.
fn attribute(html: &str, with: &str, name: &str) -> String {
    let at = html
        .find(with)
        .unwrap_or_else(|| panic!("{with} not in {html}"));
    let start = html[..=at].rfind('<').unwrap();
    let tag = &html[start..start + html[start..].find('>').unwrap()];
    let key = format!(" {name}=\"");
    let from = tag
        .find(&key)
        .unwrap_or_else(|| panic!("{name} not in {tag}"))
        + key.len();
    tag[from..from + tag[from..].find('"').unwrap()].to_owned()
}

/// The page variant an `ETag` names, without the wording's hash and the rules' fingerprint
/// (`W/"v1;consent=1.b0-1a2b3c4d.5e6f7a8b"` gives `1.b0`).
fn etag_variant(reply: &Reply) -> String {
    let etag = reply.headers[ETAG].to_str().unwrap();
    let variant = etag
        .strip_prefix("W/\"v1;consent=")
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{etag}"));
    let (variant, rules) = variant.rsplit_once('.').unwrap_or_else(|| panic!("{etag}"));
    assert_eq!(rules.len(), 8, "{etag}");
    match variant.split_once('-') {
        Some((variant, hash)) => {
            assert_eq!(hash.len(), 8, "{etag}");
            variant.to_owned()
        }
        None => variant.to_owned(),
    }
}

/// `text` with every character outside ASCII as a character reference, as the banner
/// writes it.
fn references(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                format!("&#x{:x};", u32::from(c))
            }
        })
        .collect()
}

#[tokio::test]
async fn undecided_visitors_get_the_banner_before_the_body_end_tag() {
    let reply = send(&layer(), done(page("/"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body.matches(MARKER).count(),
        2,
        "the banner and its skip link"
    );
    let banner_at = reply.body.find("<div class=\"tc-banner\"").unwrap();
    assert!(reply.body[..banner_at].ends_with("<h1>Shop</h1>"));
    assert!(
        reply.body.ends_with("</div></div></body></html>"),
        "{}",
        reply.body
    );
    // Labelled region, heading, both choices as buttons of one kind, and a settings link.
    assert!(
        reply
            .body
            .contains(r#"role="region" aria-labelledby="tc-banner-title""#)
    );
    assert!(
        reply
            .body
            .contains(r#"<h2 class="tc-title" id="tc-banner-title">"#)
    );
    assert!(reply.body.contains(
        r#"<button class="tc-button" type="submit" name="action" value="accept" formaction="/consent" formmethod="post">Accept all</button>"#
    ));
    assert!(reply.body.contains(
        r#"<button class="tc-button" type="submit" name="action" value="reject" formaction="/consent" formmethod="post">Reject all</button>"#
    ));
    assert!(!reply.body.contains("checked"), "nothing pre-ticked");
    assert!(
        reply.body.contains("<style>"),
        "styled inline without a policy"
    );
    // The page varies by language now, and its validator says which variant it is.
    let vary: Vec<&str> = reply
        .headers
        .get_all(VARY)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(", "))
        .collect();
    for field in [
        "accept-language",
        "sec-fetch-dest",
        "accept",
        "hx-request",
        "turbo-frame",
    ] {
        assert!(vary.contains(&field), "{field} not in {vary:?}");
    }
    assert_eq!(etag_variant(&reply), "1.b0");

    let no_body = send(
        &layer(),
        done(page("/").header("x-body", "<html><h1>A page without a body end tag</h1>")),
    )
    .await;
    assert!(
        no_body
            .body
            .starts_with("<html><h1>A page without a body end tag</h1><div class=\"tc-banner\"")
    );
}

#[tokio::test]
async fn no_banner_where_it_does_not_belong() {
    let layer = layer();
    let absent = |reply: &Reply, why: &str| {
        assert!(!reply.body.contains(MARKER), "{why}: {}", reply.body);
    };
    let frame = Request::get("/")
        .header(HOST, "example.com")
        .header("sec-fetch-dest", "iframe");
    absent(&send(&layer, done(frame)).await, "an iframe");
    let fetch = Request::get("/")
        .header(HOST, "example.com")
        .header("sec-fetch-dest", "empty")
        .header(ACCEPT, "text/html");
    absent(
        &send(&layer, done(fetch)).await,
        "a fetch of an HTML fragment",
    );
    let htmx = page("/").header("hx-request", "true");
    absent(&send(&layer, done(htmx)).await, "an htmx request");
    let turbo = page("/").header("turbo-frame", "cart");
    absent(&send(&layer, done(turbo)).await, "a Turbo frame");
    let json = page("/")
        .header("x-type", "application/json")
        .header("x-body", "{}");
    let reply = send(&layer, done(json)).await;
    assert_eq!(reply.body, "{}", "not HTML");
    let head = page("/").method(Method::HEAD);
    absent(&send(&layer, done(head)).await, "HEAD");
    let endpoint = send(&layer, done(page("/consent"))).await;
    assert_eq!(endpoint.status, StatusCode::OK);
    absent(&endpoint, "the endpoint's own page");
    let off = builder().banner(false).build().unwrap();
    let reply = send(&off, done(page("/"))).await;
    assert_eq!(reply.body, PAGE, "banner switched off");
    // A browser without Sec-Fetch-Dest that asks for HTML navigates.
    let old_browser = Request::get("/")
        .header(HOST, "example.com")
        .header(ACCEPT, "text/html,*/*;q=0.8");
    assert!(send(&layer, done(old_browser)).await.body.contains(MARKER));
}

#[tokio::test]
async fn decided_visitors_get_the_settings_link_instead() {
    let layer = layer();
    let reject = post_form(&layer, "action=reject", &[]).await;
    let cookie = reject.consent_cookie();
    let reply = send(&layer, done(page("/shop?q=1").header(COOKIE, &cookie))).await;
    assert!(
        !reply.body.contains("class=\"tc-banner\""),
        "{}",
        reply.body
    );
    assert!(reply.body.contains(
        r#"<div class="tc-settings" role="navigation" aria-label="Cookie settings" lang="en" dir="ltr" data-tower-consent-banner="">"#
    ), "{}", reply.body);
    assert!(reply.body.ends_with(
        r#"<a class="tc-settings-link" href="/consent?return_to=/shop%3Fq%3D1">Cookie settings</a></div></body></html>"#
    ), "{}", reply.body);
    assert_eq!(etag_variant(&reply), "1.l0");

    let no_link = builder().settings_link(false).build().unwrap();
    let cookie = post_form(&no_link, "action=accept", &[])
        .await
        .consent_cookie();
    let reply = send(&no_link, done(page("/").header(COOKIE, &cookie))).await;
    assert_eq!(reply.body, PAGE);
}

#[tokio::test]
async fn a_changed_wording_is_a_new_variant() {
    let etag = |layer: ConsentLayer| async move {
        let reply = send(&layer, done(page("/"))).await;
        reply.headers[ETAG].to_str().unwrap().to_owned()
    };
    let plain = etag(layer()).await;
    assert_eq!(plain, etag(layer()).await);
    assert_ne!(
        plain,
        etag(builder().privacy_policy("/privacy").build().unwrap()).await,
        "a cached page with the old wording must not be revalidated"
    );
    let mut texts = BannerTexts::default();
    texts.title = Some("Cookies".into());
    assert_ne!(
        plain,
        etag(builder().banner_texts("en", texts).build().unwrap()).await
    );
}

#[tokio::test]
async fn a_new_policy_revision_brings_the_banner_back() {
    let first = builder().policy_revision(1).build().unwrap();
    let cookie = post_form(&first, "action=accept", &[])
        .await
        .consent_cookie();
    assert!(
        !send(&first, done(page("/").header(COOKIE, &cookie)))
            .await
            .body
            .contains("class=\"tc-banner\"")
    );
    let second = builder().policy_revision(2).build().unwrap();
    let reply = send(&second, done(page("/").header(COOKIE, &cookie))).await;
    assert!(reply.body.contains("class=\"tc-banner\""), "{}", reply.body);
}

#[tokio::test]
async fn the_banner_forms_post_what_the_endpoint_records() {
    let recorder = Recorder::default();
    let layer = ConsentLayer::builder()
        .sink(recorder.clone())
        .build()
        .unwrap();
    let reply = send(&layer, done(page("/shop?item=7&size=m"))).await;
    let body = &reply.body;
    assert_eq!(attribute(body, "class=\"tc-actions\"", "method"), "post");
    assert_eq!(
        attribute(body, "class=\"tc-actions\"", "action"),
        "/consent"
    );
    let return_to = attribute(body, "name=\"return_to\"", "value");
    assert_eq!(return_to, "/shop?item=7&amp;size=m");
    let wording = attribute(body, "name=\"wording\"", "value");
    let english = layer
        .wordings()
        .into_iter()
        .find(|w| w.language == "en")
        .unwrap();
    assert_eq!(wording, english.hash);
    assert_eq!(
        attribute(body, "class=\"tc-button tc-secondary\"", "href"),
        "/consent?return_to=/shop%3Fitem%3D7%26size%3Dm"
    );

    // What a browser sends for "Reject all": the hidden fields and the button's own.
    let form = format!("return_to=%2Fshop%3Fitem%3D7%26size%3Dm&wording={wording}&action=reject");
    let reply = post_form(&layer, &form, &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers[LOCATION], "/shop?item=7&size=m");
    let forged = post_form(&layer, "action=accept&wording=0000", &[]).await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER);
    let records = recorder.records();
    assert_eq!(records[0].wording.as_deref(), Some(english.hash.as_str()));
    assert_eq!(records[0].categories, Vec::<String>::new());
    assert_eq!(
        records[1].wording, None,
        "a wording this layer never showed"
    );
}

#[tokio::test]
async fn the_language_follows_accept_language() {
    let layer = layer();
    let banner_in = |accept: &'static str| {
        let layer = layer.clone();
        async move {
            let reply = send(&layer, done(page("/").header(ACCEPT_LANGUAGE, accept))).await;
            let variant = etag_variant(&reply);
            (
                attribute(&reply.body, "class=\"tc-banner\"", "lang"),
                reply.body,
                variant,
            )
        }
    };
    let (lang, body, etag) = banner_in("nl-BE,nl;q=0.9,en;q=0.5").await;
    assert_eq!(lang, "nl");
    assert!(body.contains(">Ja, ik geef toestemming</button>"));
    assert!(body.contains(">Nee, bedankt</button>"));
    assert_eq!(etag, "1.b1");
    assert_eq!(banner_in("de;q=0.2, fr;q=0.8").await.0, "fr");
    assert_eq!(banner_in("sv, pl;q=0.1").await.0, "pl");
    assert_eq!(banner_in("sv, fi").await.0, "en");
    assert_eq!(banner_in("pt-BR").await.0, "pt");
    let (lang, body, _) = banner_in("it;q=0, es;q=0.5").await;
    assert_eq!(lang, "es");
    assert!(body.contains(">Rechazar todas</button>"));

    let dutch_default = builder().default_language("nl").build().unwrap();
    let reply = send(
        &dutch_default,
        done(page("/").header(ACCEPT_LANGUAGE, "sv")),
    )
    .await;
    assert_eq!(attribute(&reply.body, "class=\"tc-banner\"", "lang"), "nl");
    let reply = send(&dutch_default, done(page("/"))).await;
    assert_eq!(attribute(&reply.body, "class=\"tc-banner\"", "lang"), "nl");
}

#[tokio::test]
async fn texts_are_overridable_and_new_languages_complete() {
    let mut dutch = BannerTexts::default();
    dutch.reject_all = Some("Liever niet".into());
    let layer = builder().banner_texts("nl", dutch).build().unwrap();
    let reply = send(&layer, done(page("/").header(ACCEPT_LANGUAGE, "nl"))).await;
    assert!(reply.body.contains(">Liever niet</button>"));
    assert!(reply.body.contains(">Ja, ik geef toestemming</button>"));

    let mut incomplete = BannerTexts::default();
    incomplete.title = Some("Evästeet".into());
    let error = builder()
        .banner_texts("fi", incomplete)
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "banner.texts.fi.text is missing (a language without built-in texts needs every text)"
    );
}

#[tokio::test]
async fn right_to_left_languages_are_laid_out_right_to_left() {
    let config: tower_consent::ConsentConfig = serde_json::from_value(serde_json::json!({
        "banner": {
            "languages": ["en", "ar"],
            "texts": { "ar": {
                "title": "خصوصيتك", "text": "نستخدم ملفات تعريف الارتباط.",
                "privacy_policy": "سياسة الخصوصية", "accept_all": "قبول الكل",
                "reject_all": "رفض الكل", "settings": "الإعدادات",
                "gpc_notice": "{categories}", "preferences_title": "إعدادات ملفات تعريف الارتباط",
                "preferences_intro": "اختر.", "save": "حفظ", "always_on": "مفعّل دائمًا",
                "services": "الخدمات", "back": "رجوع", "settings_link": "إعدادات ملفات تعريف الارتباط",
                "skip": "انتقل إلى اختيار ملفات تعريف الارتباط"
            }}
        }
    }))
    .unwrap();
    let layer = ConsentLayer::builder_from(config)
        .sink(NoopSink)
        .build()
        .unwrap();
    let reply = send(&layer, done(page("/").header(ACCEPT_LANGUAGE, "ar-EG"))).await;
    assert_eq!(attribute(&reply.body, "class=\"tc-banner\"", "dir"), "rtl");
    assert!(
        reply
            .body
            .contains(&format!(">{}</button>", references("رفض الكل")))
    );
    let prefs = send(&layer, done(page("/consent").header(ACCEPT_LANGUAGE, "ar"))).await;
    assert!(
        prefs.body.contains(r#"<html lang="ar" dir="rtl">"#),
        "{}",
        prefs.body
    );
    // The standard categories fall back to the default language's titles.
    assert!(prefs.body.contains(">Analytics</label>"));
}

#[tokio::test]
async fn gpc_is_said_to_be_honoured() {
    let layer = layer();
    let reply = send(&layer, done(page("/").header("sec-gpc", "1"))).await;
    assert!(reply.body.contains(
        r#"<p class="tc-gpc" role="note">Your browser sent a Global Privacy Control signal, and we honour it. These categories stay off unless you switch them on yourself: Marketing.</p>"#
    ), "{}", reply.body);
    assert_eq!(etag_variant(&reply), "1.b0g");
    let dutch = send(
        &layer,
        done(
            page("/")
                .header("sec-gpc", "1")
                .header(ACCEPT_LANGUAGE, "nl"),
        ),
    )
    .await;
    assert!(dutch.body.contains("Global Privacy Control-signaal"));
    let without = send(&layer, done(page("/"))).await;
    assert!(!without.body.contains("class=\"tc-gpc\""));

    // A visitor who allowed marketing without the signal, now sending it: the preferences
    // page says so and shows marketing off, as the layer treats it.
    let cookie = post_form(&layer, "action=accept", &[])
        .await
        .consent_cookie();
    let prefs = send(
        &layer,
        done(
            page("/consent")
                .header(COOKIE, &cookie)
                .header("sec-gpc", "1"),
        ),
    )
    .await;
    assert!(prefs.body.contains(r#"<p class="tc-gpc" role="status">"#));
    assert!(prefs.body.contains(r#"value="analytics" checked"#));
    assert!(
        prefs.body.contains(r#"value="marketing" aria-describedby"#),
        "{}",
        prefs.body
    );
}

#[tokio::test]
async fn strict_policies_still_get_a_styled_banner() {
    let layer = layer();
    let with_nonce = page("/").header(
        "x-reply-content-security-policy",
        "default-src 'self'; style-src 'self' 'nonce-c3R5bGU='",
    );
    let reply = send(&layer, done(with_nonce)).await;
    assert!(
        reply.body.contains(r#"<style nonce="c3R5bGU=">"#),
        "{}",
        reply.body
    );

    let self_only = page("/").header("x-reply-content-security-policy", "default-src 'self'");
    let reply = send(&layer, done(self_only)).await;
    assert!(
        reply
            .body
            .contains(r#"<link rel="stylesheet" href="/consent/banner.css"/>"#),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("<style"));
    let css = send(&layer, done(page("/consent/banner.css"))).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(
        css.headers[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(css.body.contains(".tc-button {"));
    // Nothing in the markup needs a policy exception besides the stylesheet.
    assert!(!reply.body.contains(" style=") && !reply.body.contains(" onclick="));
}

#[tokio::test]
async fn the_preferences_page_lists_categories_and_services() {
    let layer = builder()
        .service("Google Analytics")
        .service("Meta Pixel")
        .cookie("ab_*", "analytics")
        .privacy_policy("/privacy")
        .build()
        .unwrap();
    let reply = send(&layer, done(page("/consent?return_to=%2Fshop"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(reply.headers[CACHE_CONTROL], "no-store");
    assert_eq!(reply.headers[CONTENT_LANGUAGE], "en");
    let body = &reply.body;
    assert!(body.starts_with("<!DOCTYPE html><html lang=\"en\" dir=\"ltr\">"));
    // The policy allows this page's own stylesheet and nothing else.
    let policy = reply.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    let nonce = attribute(body, "<style", "nonce");
    assert!(
        policy.contains(&format!("style-src 'nonce-{nonce}'")),
        "{policy}"
    );
    assert!(policy.starts_with("default-src 'none'"));
    // Necessary: on, and cannot be switched off; the rest off for a visitor who did not choose.
    assert!(body.contains(r#"<input type="checkbox" id="tc-cat-necessary" checked disabled"#));
    assert!(body.contains(">Always on</span>"));
    for category in ["preferences", "analytics", "marketing"] {
        assert!(
            body.contains(&format!(
                r#"<input type="checkbox" id="tc-cat-{category}" name="category" value="{category}" aria-describedby"#
            )),
            "{category}"
        );
    }
    assert!(body.contains("These help us understand how visitors use the site"));
    assert!(
        body.contains(r#"<p class="tc-services">Services: Google Analytics (Google)</p>"#),
        "{body}"
    );
    assert!(body.contains(r#"<p class="tc-services">Services: Meta Pixel (Meta)</p>"#));
    assert!(body.contains(r#"<a href="/privacy">Privacy policy</a>"#));
    assert_eq!(attribute(body, "name=\"return_to\"", "value"), "/shop");
    assert_eq!(attribute(body, "class=\"tc-back\"", "href"), "/shop");
    for action in ["save", "reject", "accept"] {
        assert!(
            body.contains(&format!(r#"name="action" value="{action}""#)),
            "{action}"
        );
    }

    // Saving analytics only, as the page's form does, and coming back: it is ticked.
    let reply = post_form(
        &layer,
        "return_to=%2Fshop&category=analytics&action=save",
        &[],
    )
    .await;
    assert_eq!(reply.headers[LOCATION], "/shop");
    let cookie = reply.consent_cookie();
    let again = send(&layer, done(page("/consent").header(COOKIE, &cookie))).await;
    assert!(again.body.contains(r#"value="analytics" checked"#));
    assert!(again.body.contains(r#"value="marketing" aria-describedby"#));

    // An unsafe way back is not offered.
    let evil = send(&layer, done(page("/consent?return_to=%2F%2Fevil.example"))).await;
    assert_eq!(attribute(&evil.body, "class=\"tc-back\"", "href"), "/");
    let head = send(&layer, done(page("/consent").method(Method::HEAD))).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
}

#[test]
fn the_readme_documents_every_text() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let wording = &layer().wordings()[0];
    assert!(wording.texts.len() > 20);
    for (key, _) in &wording.texts {
        let key = match key.strip_prefix("categories.") {
            Some(rest) => format!("categories.<name>.{}", rest.rsplit('.').next().unwrap()),
            None => key.clone(),
        };
        assert!(
            readme.contains(&format!("`{key}`")),
            "README.md's table of texts lacks `{key}`"
        );
    }
}
