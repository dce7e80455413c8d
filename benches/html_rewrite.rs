//! The HTML rewriter against `lol_html` doing the same job on the same pages, in one run.
//!
//! Pages are generated deterministically: a head with meta and link tags, about 20 scripts of
//! every kind (tracker loaders inline and external, first-party, JSON-LD, a site-authored blocked
//! one), tracker frames and pixels (some in `<noscript>`), a style block, comments, and plenty
//! of ordinary markup, repeated up to about 100 KB and 1 MB. Both rewriters are fed 16 KB chunks
//! and block everything for a visitor who has not consented.
//!
//! `cargo bench --bench html_rewrite`; figures and their reading are in BENCHMARKS.md.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write;
use std::hint::black_box;

use aho_corasick::AhoCorasick;
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use lol_html::html_content::{Element, TextChunk};
use lol_html::send::{HtmlRewriter as LolRewriter, SendHandlerTypes, Settings};
use lol_html::{ElementContentHandlers, Selector};
use tower_consent::{ConsentLayer, NoopSink};

const CHUNK: usize = 16 * 1024;

const WORDS: &[&str] = &[
    "consent", "garden", "river", "bright", "window", "market", "silver", "journey", "quiet",
    "harbour", "lantern", "meadow", "orbit", "pencil", "quartz", "ribbon", "saddle", "timber",
];

fn words(seed: &mut u64, n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[(*seed >> 33) as usize % WORDS.len()]);
    }
    out
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="A shop that sells things, with a blog about them.">
<meta property="og:title" content="Example Store">
<meta property="og:type" content="website">
<meta property="og:image" content="https://www.example.com/og.png">
<meta name="twitter:card" content="summary_large_image">
<title>Example Store &ndash; Home</title>
<link rel="preconnect" href="https://www.googletagmanager.com">
<link rel="dns-prefetch" href="//connect.facebook.net">
<link rel="stylesheet" href="/assets/site.css?v=42">
<link rel="preload" as="font" href="/fonts/inter.woff2" crossorigin>
<link rel="icon" href="/favicon.ico">
<link rel="canonical" href="https://www.example.com/">
<style>
:root { --brand: #0b57d0; --ink: #1f1f1f; }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--ink); margin: 0; }
header > nav a { margin-right: 1rem; text-decoration: none; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 1rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: 1rem; }
footer { background: #f5f5f5; padding: 2rem; }
</style>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-ABC123');</script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-XYZ987"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-XYZ987');
</script>
<script>
!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;
n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '1234567890');
fbq('track', 'PageView');
</script>
<noscript><img height="1" width="1" style="display:none" src="https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1"/></noscript>
<script>
(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
h._hjSettings={hjid:1234567,hjsv:6};a=o.getElementsByTagName('head')[0];
r=o.createElement('script');r.async=1;r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;
a.appendChild(r);})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');
</script>
<script type="text/javascript">
(function(c,l,a,r,i,t,y){c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};
t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;
y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);})(window, document, "clarity", "script", "abcdef");
</script>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Organization","name":"Example Store","url":"https://www.example.com","logo":"https://www.example.com/logo.png"}</script>
<script type="importmap">{"imports":{"app":"/assets/app.js"}}</script>
<script src="/assets/app.js" defer></script>
<script src="https://cdn.example.org/lib/carousel.min.js" defer></script>
<script>document.documentElement.className = document.documentElement.className.replace('no-js', 'js');</script>
</head>
<body class="home no-js">
<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-ABC123" height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>
<header><nav>"#;

const TAIL: &str = r#"<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="YouTube video player" frameborder="0" allowfullscreen></iframe>
<iframe src="https://www.google.com/maps/embed?pb=!1m18!1m12" width="600" height="450" style="border:0;" loading="lazy"></iframe>
<img src="https://bat.bing.com/action/0?ti=123&Ver=2" height="0" width="0" style="display:none">
<script type="text/plain" data-consent-category="analytics" data-consent-src="/assets/stats.js"></script>
<script>
_linkedin_partner_id = "123456";
window._linkedin_data_partner_ids = window._linkedin_data_partner_ids || [];
window._linkedin_data_partner_ids.push(_linkedin_partner_id);
</script>
<script src="https://snap.licdn.com/li.lms-analytics/insight.min.js" async></script>
<script>
  var _paq = window._paq = window._paq || [];
  _paq.push(['trackPageView']);
  (function() { var u="https://analytics.example.com/"; _paq.push(['setTrackerUrl', u+'matomo.php']); })();
</script>
<script src="https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=ABC" async></script>
<script>window.addEventListener('load', function () { document.body.classList.add('loaded'); });</script>
<footer><p>&copy; 2026 Example Store &middot; <a href="/privacy">Privacy</a> &middot; <a href="/consent">Cookie settings</a></p></footer>
</body>
</html>
"#;

/// A page of about `size` bytes.
fn page(size: usize) -> String {
    let mut seed = 7u64;
    let mut out = String::from(HEAD);
    for i in 0..24 {
        let _ = write!(out, "<a href=\"/category/{i}\">{}</a>", words(&mut seed, 1));
    }
    out.push_str("</nav></header>\n<main>\n");
    let mut section = 0;
    while out.len() + TAIL.len() < size {
        section += 1;
        let _ = write!(
            out,
            "<!-- section {section} -->\n<section class=\"card\" id=\"s{section}\"><h2>{}</h2>\n",
            words(&mut seed, 4)
        );
        for p in 0..4 {
            let _ = writeln!(
                out,
                "<p>{} <a href=\"/articles/{section}-{p}\" title=\"{}\">{}</a>, <em>{}</em> and <strong>{}</strong>.</p>",
                words(&mut seed, 18),
                words(&mut seed, 3),
                words(&mut seed, 2),
                words(&mut seed, 2),
                words(&mut seed, 3)
            );
        }
        let _ = writeln!(
            out,
            "<img src=\"/img/{section}.jpg\" srcset=\"/img/{section}@2x.jpg 2x\" alt=\"{}\" loading=\"lazy\" width=\"640\" height=\"360\">",
            words(&mut seed, 3)
        );
        out.push_str("<ul class=\"grid\">");
        for item in 0..6 {
            let _ = write!(
                out,
                "<li><a href=\"/p/{section}/{item}\"><span class=\"name\">{}</span> <span class=\"price\">&euro;{}.99</span></a></li>",
                words(&mut seed, 2),
                section + item
            );
        }
        out.push_str("</ul>\n");
        if section % 3 == 0 {
            out.push_str("<table><thead><tr><th>Size</th><th>Stock</th></tr></thead><tbody>");
            for row in 0..4 {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{row}</td></tr>",
                    words(&mut seed, 1)
                );
            }
            out.push_str("</tbody></table>\n");
        }
        let _ = writeln!(
            out,
            "<form action=\"/cart\" method=\"post\"><input type=\"hidden\" name=\"id\" value=\"{section}\"><button class=\"btn\">Add to cart</button></form></section>"
        );
    }
    out.push_str("</main>\n");
    out.push_str(TAIL);
    out
}

/// Hosts of the trackers on the page, with their category: what the `lol_html` version checks
/// against (the layer uses its own catalog).
const TRACKER_HOSTS: &[(&str, &str)] = &[
    ("googletagmanager.com", "analytics"),
    ("google-analytics.com", "analytics"),
    ("connect.facebook.net", "marketing"),
    ("www.facebook.com", "marketing"),
    ("static.hotjar.com", "analytics"),
    ("clarity.ms", "analytics"),
    ("bat.bing.com", "marketing"),
    ("snap.licdn.com", "marketing"),
    ("analytics.tiktok.com", "marketing"),
    ("www.youtube.com", "marketing"),
];

const SIGNATURES: &[&str] = &[
    "googletagmanager.com/gtm.js",
    "'gtm.start'",
    "gtag('config'",
    "connect.facebook.net",
    "fbq('init'",
    "static.hotjar.com",
    "clarity.ms/tag",
    "_linkedin_partner_id",
    "_paq.push",
];

struct LolRules {
    hosts: HashSet<&'static str>,
    signatures: AhoCorasick,
    selectors: Vec<(Selector, &'static str)>,
}

impl LolRules {
    fn new() -> Self {
        let selectors = [
            ("script[src]", "src"),
            ("script:not([src])", ""),
            ("iframe[src]", "src"),
            ("img[src]", "src"),
            ("img[srcset]", "srcset"),
            ("embed[src]", "src"),
            ("object[data]", "data"),
            ("source[src]", "src"),
            ("link[href]", "href"),
        ]
        .into_iter()
        .map(|(s, a)| (s.parse::<Selector>().unwrap(), a))
        .collect();
        LolRules {
            hosts: TRACKER_HOSTS.iter().map(|(h, _)| *h).collect(),
            signatures: AhoCorasick::new(SIGNATURES).unwrap(),
            selectors,
        }
    }

    /// The category of a URL's host, by label suffix.
    fn category(&self, url: &str) -> Option<&'static str> {
        let rest = url.trim();
        let rest = rest.split_once("//").map_or(rest, |(_, r)| r);
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.to_ascii_lowercase();
        let mut suffix = host.as_str();
        loop {
            if self.hosts.contains(suffix) {
                return TRACKER_HOSTS
                    .iter()
                    .find(|(h, _)| *h == suffix)
                    .map(|(_, c)| *c);
            }
            suffix = suffix.split_once('.')?.1;
        }
    }

    /// The same rewrite, as `lol_html` can express it. A start tag cannot be changed once the
    /// script's text has been seen, so an inline loader has its text rewritten instead.
    fn rewriter<'r>(&'r self, out: &'r mut Vec<u8>) -> LolRewriter<'r, impl FnMut(&[u8]) + 'r> {
        let mut settings = Settings::new_send();
        for (selector, attribute) in &self.selectors {
            let attribute = *attribute;
            let handlers = if attribute.is_empty() {
                ElementContentHandlers::default().text(move |text: &mut TextChunk| {
                    if self.signatures.is_match(text.as_str()) {
                        let replaced = format!("/* blocked */{}", text.as_str());
                        text.replace(&replaced, lol_html::html_content::ContentType::Html);
                    }
                    Ok(())
                })
            } else {
                ElementContentHandlers::default().element(
                    move |el: &mut Element<SendHandlerTypes>| {
                        let Some(value) = el.get_attribute(attribute) else {
                            return Ok(());
                        };
                        let category = if attribute == "srcset" {
                            value.split(',').find_map(|c| {
                                self.category(c.split_whitespace().next().unwrap_or(""))
                            })
                        } else {
                            self.category(&value)
                        };
                        let Some(category) = category else {
                            return Ok(());
                        };
                        if el.tag_name() == "script" {
                            el.set_attribute("type", "text/plain")?;
                        } else {
                            el.remove_attribute(attribute);
                            el.set_attribute(&format!("data-consent-{attribute}"), &value)?;
                        }
                        el.set_attribute("data-consent-category", category)?;
                        Ok(())
                    },
                )
            };
            settings = settings.append_element_content_handler((Cow::Borrowed(selector), handlers));
        }
        LolRewriter::new(settings, move |c: &[u8]| out.extend_from_slice(c))
    }
}

fn ours(layer: &ConsentLayer, chunks: &[Bytes]) -> usize {
    let mut rewriter = layer.html_rewriter(Vec::<&str>::new()).unwrap();
    let mut len = 0;
    for chunk in chunks {
        rewriter.push(chunk);
        while let Some(piece) = rewriter.next_output() {
            len += piece.len();
        }
    }
    rewriter.finish();
    while let Some(piece) = rewriter.next_output() {
        len += piece.len();
    }
    len
}

fn theirs(rules: &LolRules, chunks: &[Bytes], out: &mut Vec<u8>) -> usize {
    out.clear();
    let mut rewriter = rules.rewriter(out);
    for chunk in chunks {
        rewriter.write(chunk).unwrap();
    }
    rewriter.end().unwrap();
    out.len()
}

fn chunked(page: &str) -> Vec<Bytes> {
    let bytes = Bytes::from(page.to_string());
    (0..bytes.len())
        .step_by(CHUNK)
        .map(|from| bytes.slice(from..(from + CHUNK).min(bytes.len())))
        .collect()
}

fn bench(c: &mut Criterion) {
    let layer = ConsentLayer::builder().sink(NoopSink).build().unwrap();
    let rules = LolRules::new();
    let mut out = Vec::with_capacity(2 << 20);
    for (name, size) in [("100k", 100 * 1024), ("1m", 1024 * 1024)] {
        let page = page(size);
        let chunks = chunked(&page);
        let mut group = c.benchmark_group(format!("html_{name}"));
        group.throughput(Throughput::Bytes(page.len() as u64));
        group.bench_function(BenchmarkId::new("tower_consent", page.len()), |b| {
            b.iter(|| black_box(ours(&layer, black_box(&chunks))))
        });
        group.bench_function(BenchmarkId::new("lol_html", page.len()), |b| {
            b.iter(|| black_box(theirs(&rules, black_box(&chunks), &mut out)))
        });
        group.finish();
    }
    let tiny = chunked("<!DOCTYPE html><title>t</title><p>Hello, <b>world</b>.</p>");
    let mut group = c.benchmark_group("html_fixed_cost");
    group.bench_function("tower_consent", |b| {
        b.iter(|| black_box(ours(&layer, black_box(&tiny))))
    });
    group.bench_function("lol_html", |b| {
        b.iter(|| black_box(theirs(&rules, black_box(&tiny), &mut out)))
    });
    group.finish();
}

/// Both rewriters block the same trackers on the generated page: checked before measuring.
fn check_same_job() {
    let layer = ConsentLayer::builder().sink(NoopSink).build().unwrap();
    let rules = LolRules::new();
    let page = page(100 * 1024);
    let chunks = chunked(&page);
    let mut rewriter = layer.html_rewriter(Vec::<&str>::new()).unwrap();
    let ours = rewriter.rewrite_all(&Bytes::from(page.clone()));
    let mut theirs_out = Vec::new();
    theirs(&rules, &chunks, &mut theirs_out);
    let count =
        |haystack: &[u8], needle: &[u8]| memchr::memmem::find_iter(haystack, needle).count();
    let (a, b) = (
        count(&ours, b"data-consent-category"),
        count(&theirs_out, b"data-consent-category"),
    );
    eprintln!(
        "page {} bytes; elements marked blocked: tower-consent {a}, lol_html {b} (+{} inline loaders rewritten in text)",
        page.len(),
        count(&theirs_out, b"/* blocked */")
    );
}

/// `COUNT_REWRITER=tower_consent|lol_html COUNT_PAGES=n`: rewrite the 1 MB page n times and
/// exit, for `scripts/html_instructions.sh` to count instructions with callgrind.
/// `COUNT_FILE=path` rewrites that file instead (for example the demo's `/article`).
fn count(rewriter: &str, pages: usize) {
    let layer = ConsentLayer::builder().sink(NoopSink).build().unwrap();
    let rules = LolRules::new();
    let page = match std::env::var_os("COUNT_FILE") {
        Some(path) => std::fs::read_to_string(path).unwrap(),
        None => page(1024 * 1024),
    };
    let chunks = chunked(&page);
    let mut out = Vec::with_capacity(2 << 20);
    let mut total = 0;
    for _ in 0..pages {
        total += match rewriter {
            "tower_consent" => ours(&layer, &chunks),
            "lol_html" => theirs(&rules, &chunks, &mut out),
            other => panic!("COUNT_REWRITER={other}: expected tower_consent or lol_html"),
        };
    }
    black_box(total);
}

fn main() {
    if let Ok(rewriter) = std::env::var("COUNT_REWRITER") {
        let pages = std::env::var("COUNT_PAGES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        return count(&rewriter, pages);
    }
    check_same_job();
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
