//! The cost of classifying a cookie name, a host (and path) or a whole URL, against a
//! `HashMap<String, _>` lookup of the same name in the same run: the catalog's matching must
//! cost no more than twice that.
//!
//! `cargo bench --bench catalog`; figures in BENCHMARKS.md.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput};
use tower_consent::{ConsentLayer, NoopSink};

/// A realistic mix of the names a site's responses set: trackers by exact name, by prefix and
/// by pattern, necessary cookies, and names no rule knows.
const NAMES: &[&str] = &[
    "_ga",
    "_ga_X1Y2Z3ABCD",
    "_gid",
    "_gcl_au",
    "_fbp",
    "_hjSessionUser_3164931",
    "_pk_id.1.a1b2",
    "mp_4d2f0c1e_mixpanel",
    "AMP_6e403e775d",
    "_uetvid",
    "PHPSESSID",
    "csrftoken",
    "__cf_bm",
    "cart",
    "theme",
    "session_token",
];

/// The hosts (and paths) of such URLs.
const HOSTS: &[(&str, &str)] = &[
    ("www.googletagmanager.com", "/gtag/js"),
    ("connect.facebook.net", "/en_US/fbevents.js"),
    ("www.facebook.com", "/tr"),
    ("static.hotjar.com", "/c/hotjar-1.js"),
    ("www.youtube.com", "/embed/dQw4w9WgXcQ"),
    ("cdn.example.org", "/lib/carousel.min.js"),
    ("fonts.example.net", "/inter.woff2"),
    ("js.stripe.com", "/v3/"),
];

const URLS: &[&str] = &[
    "https://www.googletagmanager.com/gtag/js?id=G-1",
    "https://connect.facebook.net/en_US/fbevents.js",
    "https://www.facebook.com/tr?id=1&ev=PageView",
    "https://static.hotjar.com/c/hotjar-1.js?sv=6",
    "https://www.youtube.com/embed/dQw4w9WgXcQ",
    "https://cdn.example.org/lib/carousel.min.js",
    "/assets/app.js",
    "https://js.stripe.com/v3/",
];

fn bench(c: &mut Criterion) {
    let layer = ConsentLayer::builder().sink(NoopSink).build().unwrap();
    // The baseline: the same names in a std HashMap (SipHash), as a plain table would be.
    let table: HashMap<String, &str> = NAMES.iter().map(|n| (n.to_string(), "x")).collect();
    let mut group = c.benchmark_group("catalog");
    group.throughput(Throughput::Elements(NAMES.len() as u64));
    group.bench_function("cookie_names/hash_map", |b| {
        b.iter(|| {
            for name in NAMES {
                black_box(table.get(black_box(*name)));
            }
        })
    });
    group.bench_function("cookie_names/tower_consent", |b| {
        b.iter(|| {
            for name in NAMES {
                black_box(layer.classify_cookie(black_box(name)));
            }
        })
    });
    let host_table: HashMap<String, &str> =
        HOSTS.iter().map(|(h, _)| (h.to_string(), "x")).collect();
    group.throughput(Throughput::Elements(HOSTS.len() as u64));
    group.bench_function("hosts/hash_map", |b| {
        b.iter(|| {
            for (host, _) in HOSTS {
                black_box(host_table.get(black_box(*host)));
            }
        })
    });
    group.bench_function("hosts/tower_consent", |b| {
        b.iter(|| {
            for (host, path) in HOSTS {
                black_box(layer.classify_host(black_box(host), black_box(path)));
            }
        })
    });
    let hosts: HashMap<String, &str> = URLS.iter().map(|u| (u.to_string(), "x")).collect();
    group.throughput(Throughput::Elements(URLS.len() as u64));
    group.bench_function("urls/hash_map", |b| {
        b.iter(|| {
            for url in URLS {
                black_box(hosts.get(black_box(*url)));
            }
        })
    });
    group.bench_function("urls/tower_consent", |b| {
        b.iter(|| {
            for url in URLS {
                black_box(layer.classify_url(black_box(url)));
            }
        })
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
