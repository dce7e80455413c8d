//! A small site behind the consent layer: `cargo run --example demo`.
//!
//! Its pages set analytics and marketing cookies from handlers, as a site with trackers does;
//! the layer keeps them out of responses until the visitor allows them. A new visitor gets the
//! layer's built-in banner; after choosing, a small "Cookie settings" link on every page leads
//! to the built-in preferences page (also linked from the menu), where the choice can be
//! changed or withdrawn. Every page shows what the visitor allowed and which cookies the
//! browser sent. Its pages also carry the tracker markup real sites paste in (Google Tag Manager,
//! gtag.js, a Meta Pixel, a YouTube embed) and a script of the site's own that waits for
//! analytics consent: view the source to see what the layer did with them. Set `PORT` to
//! choose the port (default: any free one).

use std::fmt::Write;
use std::net::SocketAddr;

use axum::Router;
use axum::http::HeaderMap;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::response::{AppendHeaders, Html, IntoResponse};
use axum::routing::get;
use tower_consent::{Consent, ConsentConfig, ConsentLayer, JsonLinesSink};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_consent=info".into()),
        )
        .init();

    let log = std::env::temp_dir().join("tower-consent-demo.jsonl");
    // Built-in services to switch off (comma-separated names), to see what a missing rule
    // lets through; the browser test uses it to show it fails then.
    let disable: Vec<String> = std::env::var("TOWER_CONSENT_DISABLE")
        .map(|names| names.split(',').map(|n| n.trim().to_owned()).collect())
        .unwrap_or_default();
    let demo_layer = std::env::var("TOWER_CONSENT_DEMO_LAYER");
    let mut config = ConsentConfig::default();
    config.disable = disable;
    let layer = ConsentLayer::builder_from(config)
        // Plain HTTP on 127.0.0.1: a `Secure` cookie would not come back. Never in production.
        .secure_cookie(false)
        .cookie("sid", "necessary")
        .cookie("theme", "preferences")
        // Listed per category on the preferences page.
        .service("Google Tag Manager")
        .service("Google Analytics")
        .service("Meta Pixel")
        .service("YouTube")
        .privacy_policy("/privacy")
        .sink(JsonLinesSink::new(&log))
        // `norewrite` only for `scripts/load.sh`: the layer without its HTML rewriting, to
        // show what the rest of it costs.
        .rewrite_html(demo_layer.as_deref() != Ok("norewrite"))
        .build()?;

    let app = Router::new()
        .route("/", get(home))
        .route("/shop", get(shop))
        .route("/privacy", get(privacy))
        .route("/api/consent", get(consent_json))
        .route("/article", get(article));
    // Without the layer only for `scripts/load.sh`, which measures what the layer costs (the
    // other pages need the consent it provides).
    let app = if demo_layer.as_deref() == Ok("off") {
        app
    } else {
        app.layer(layer)
    };

    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 0,
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("tower-consent demo on http://{}/", listener.local_addr()?);
    println!("recorded choices are appended to {}", log.display());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The cookies a site with Google Analytics, a Meta Pixel and a theme switch would set.
const SITE_COOKIES: [(axum::http::HeaderName, &str); 5] = [
    (
        SET_COOKIE,
        "sid=demo-session; Path=/; HttpOnly; SameSite=Lax",
    ),
    (SET_COOKIE, "theme=dark; Path=/; Max-Age=31536000"),
    (
        SET_COOKIE,
        "_ga=GA1.1.1266398316.1764460000; Path=/; Max-Age=63072000",
    ),
    (
        SET_COOKIE,
        "_ga_DEMO123=GS1.1.1764460000.1.0.1764460000.0.0.0; Path=/; Max-Age=63072000",
    ),
    (
        SET_COOKIE,
        "_fbp=fb.1.1764460000000.1266398316; Path=/; Max-Age=7776000",
    ),
];

async fn home(consent: Consent, headers: HeaderMap) -> impl IntoResponse {
    let body = format!(
        "<p>This page's handler sets five cookies: <code>sid</code> (necessary), <code>theme</code> \
         (preferences), <code>_ga</code> and <code>_ga_DEMO123</code> (analytics) and <code>_fbp</code> \
         (marketing). The layer lets through only those you allowed; reload to see what your browser keeps.</p>\
         {}{}",
        status(&consent),
        browser_cookies(&headers),
    );
    (AppendHeaders(SITE_COOKIES), page("Home", &body))
}

/// A long read of about 30 KB (the median size of an HTML document on the web), with the same
/// trackers as every page, an embed and images: what `scripts/load.sh` serves.
async fn article() -> impl IntoResponse {
    static ARTICLE: std::sync::OnceLock<bytes::Bytes> = std::sync::OnceLock::new();
    let page = ARTICLE.get_or_init(|| {
        let mut body = String::from(
            "<p>An article the size of a typical web page, with its trackers, served to load \
             the layer.</p>",
        );
        let mut section = 0;
        while body.len() < 24_000 {
            section += 1;
            let _ = write!(
                body,
                "<h2>Section {section}</h2><p>Consent is asked before anything is stored on or \
                 read from a visitor's device, unless it is strictly necessary for the service \
                 they asked for. Rejecting must be as easy as accepting, and a choice can be \
                 withdrawn at any time; <a href=\"/privacy\">the privacy page</a> says how.</p>\
                 <p><img src=\"/images/figure-{section}.png\" alt=\"Figure {section}\" \
                 width=\"640\" height=\"360\" loading=\"lazy\"> The figure shows what the \
                 layer changes in a page: tracker scripts made inert until their category is \
                 allowed, frames and pixels switched off, and the site's own scripts left \
                 alone.</p><ul><li><a href=\"/shop\">Shop</a></li><li><a href=\"/\">Home</a>\
                 </li></ul>"
            );
            if section == 3 {
                body.push_str(YOUTUBE);
            }
        }
        bytes::Bytes::from(page("Article", &body).0)
    });
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.clone(),
    )
}

/// A YouTube embed as YouTube's "Share → Embed" gives it: a marketing tracker until allowed.
const YOUTUBE: &str = r#"<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="YouTube video player" frameborder="0" allow="accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share" referrerpolicy="strict-origin-when-cross-origin" allowfullscreen></iframe>"#;

async fn shop(consent: Consent, headers: HeaderMap) -> impl IntoResponse {
    let offers = if consent.allows("marketing") {
        "<p>Personalised offers are on: you allowed marketing.</p>"
    } else {
        "<p>Personalised offers are off: marketing is not allowed.</p>"
    };
    let body = format!(
        "{offers}<h2>Our product video</h2>{YOUTUBE}{}{}",
        status(&consent),
        browser_cookies(&headers),
    );
    (
        AppendHeaders([(SET_COOKIE, "_gcl_au=1.1.1266398316.1764460000; Path=/")]),
        page("Shop", &body),
    )
}

async fn privacy(consent: Consent) -> Html<String> {
    let body = format!(
        "<p>Your choice is kept in the <code>consent</code> cookie for six months. You can change or \
         withdraw it at any time in the <a href=\"/consent?return_to=/privacy\">cookie settings</a>; \
         withdrawing a category deletes its cookies at once.</p>{}",
        status(&consent),
    );
    page("Privacy and cookies", &body)
}

/// The consent as the extractor hands it to handlers, as JSON.
async fn consent_json(consent: Consent) -> axum::Json<Consent> {
    axum::Json(consent)
}

fn status(consent: &Consent) -> String {
    let allowed: Vec<&str> = consent.allowed().map(|c| c.as_str()).collect();
    let denied: Vec<&str> = consent.denied().map(|c| c.as_str()).collect();
    let mut html = String::from("<h2>Your consent</h2><ul>");
    if consent.is_decided() {
        let _ = write!(
            html,
            "<li>Decided (policy revision {}), consent id <code>{}</code></li>",
            consent.revision().unwrap_or_default(),
            consent.id().map(|id| id.to_hex()).unwrap_or_default()
        );
    } else {
        html.push_str("<li>Not decided yet: only necessary cookies are allowed.</li>");
    }
    let _ = write!(
        html,
        "<li>Allowed: {}</li><li>Not allowed: {}</li>",
        allowed.join(", "),
        if denied.is_empty() {
            "nothing".to_string()
        } else {
            denied.join(", ")
        }
    );
    if consent.gpc() {
        html.push_str("<li>Your browser sends Global Privacy Control: marketing stays off.</li>");
    }
    html.push_str("</ul>");
    html
}

fn browser_cookies(headers: &HeaderMap) -> String {
    let mut html = String::from("<h2>Cookies your browser sent</h2><ul>");
    let mut any = false;
    for header in headers.get_all(COOKIE) {
        for pair in String::from_utf8_lossy(header.as_bytes()).split(';') {
            let _ = write!(html, "<li><code>{}</code></li>", escape(pair.trim()));
            any = true;
        }
    }
    if !any {
        html.push_str("<li>none</li>");
    }
    html.push_str("</ul>");
    html
}

/// The tracker markup real sites paste into every page, as their vendors publish it: Google Tag
/// Manager (with its `<noscript>` frame), gtag.js, a Meta Pixel (with its `<noscript>` image).
/// The layer rewrites it per visitor; view the page's source before and after consenting.
const HEAD_TRACKERS: &str = r#"<!-- Google Tag Manager -->
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-DEMO123');</script>
<!-- End Google Tag Manager -->
<!-- Google tag (gtag.js) -->
<script type="text/javascript" async src="https://www.googletagmanager.com/gtag/js?id=G-DEMO123"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-DEMO123');
</script>
<!-- Meta Pixel Code -->
<script>
!function(f,b,e,v,n,t,s)
{if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};
if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';
n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '1234567890');
fbq('track', 'PageView');
</script>
<noscript><img height="1" width="1" style="display:none"
src="https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1"
/></noscript>
<!-- End Meta Pixel Code -->"#;

const BODY_TRACKERS: &str = r#"<!-- Google Tag Manager (noscript) -->
<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-DEMO123"
height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>
<!-- End Google Tag Manager (noscript) -->"#;

/// A script the site itself keeps off until analytics is allowed; the layer switches it on.
const SITE_ANALYTICS: &str = r#"<p id=site-analytics>The site's own analytics script is off.</p>
<script type="text/plain" data-consent-category="analytics">
document.getElementById('site-analytics').textContent =
  "The site's own analytics script is running: the layer switched it on because you allowed analytics.";
</script>"#;

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>{title} · tower-consent demo</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}}\
         nav a{{margin-right:1rem}}button{{font:inherit;padding:.4rem 1rem;margin:.2rem 0}}\
         code{{background:#f3f3f3;padding:0 .2rem}}iframe{{max-width:100%}}</style>\n{HEAD_TRACKERS}\n</head><body>\n\
         {BODY_TRACKERS}\n\
         <nav><a href=/>Home</a><a href=/shop>Shop</a><a href=/privacy>Privacy and cookies</a>\
         <a href=/api/consent>Consent as JSON</a><a href=/consent>Cookie settings</a></nav><h1>{title}</h1>{body}\
         <p>This page carries Google Tag Manager, gtag.js and a Meta Pixel. View its source: the layer \
         has switched off every tracker you have not allowed.</p>{SITE_ANALYTICS}</body></html>"
    ))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
