//! Documents generated from fragments of real-world tracker markup and of the markup that trips
//! regex-based blockers: every element the rewriter judges, in every state the tokenizer can
//! be in around it, with the attribute spellings browsers accept.

/// SplitMix64: small, seedable, good enough to pick fragments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const URLS: &[&str] = &[
    "https://www.google-analytics.com/analytics.js",
    "//connect.facebook.net/en_US/fbevents.js",
    "https&colon;//www.googletagmanager.com/gtm.js?id=GTM-1",
    "HTTPS://WWW.FACEBOOK.COM/tr?id=1&amp;ev=PageView",
    "\\\\bat.bing.com\\bat.js",
    "/local/app.js",
    "https://cdn.example.org/lib.js",
    "https://www.youtube.com/embed/abc?rel=0",
    "https://www.google.com/recaptcha/api.js",
    "data:text/plain,hello",
    " https://static.hotjar.com/c/hotjar-1.js ",
    "https://www.google.com/maps/embed?pb=1",
    "https://user@analytics.tiktok.com:443/i18n/pixel/events.js",
    "&#104;ttps://snap.licdn.com/li.lms-analytics/insight.min.js",
    "https://www.googletagmanager.com/ns.html?id=GTM-1",
    "relative/path.js",
    "https://ssl.google-analytics.com./ga.js",
];

const INLINE: &[&str] = &[
    "(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-XXXX');",
    "!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){};t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window, document,'script','https://connect.facebook.net/en_US/fbevents.js');fbq('init', '123');fbq('track', 'PageView');",
    "window.dataLayer = window.dataLayer || [];function gtag(){dataLayer.push(arguments);}gtag('js', new Date());gtag('config', 'G-XXXX');",
    "(function(h,o,t,j,a,r){h.hj=h.hj||function(){};h._hjSettings={hjid:1,hjsv:6};a=o.getElementsByTagName('head')[0];r=o.createElement('script');r.async=1;r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;a.appendChild(r);})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');",
    "var _paq = window._paq = window._paq || [];_paq.push(['trackPageView']);",
    "var a = '</scr' + 'ipt>'; if (a < b && c > d) {}",
    "<!--<script>document.write('<script src=x></script>')</script>-->",
    "<!-- hidden --> console.log(1)",
    "<!--<script>--> gtag('config', 'G-1') </script> escaped? -->",
    "document.write('<img src=\"https://www.facebook.com/tr?id=1\">')",
    "clean()",
    "",
];

const SCRIPT_TYPES: &[&str] = &[
    "",
    "text/javascript",
    "module",
    "application/json",
    "application/ld+json",
    "TEXT/JAVASCRIPT; charset=utf-8",
    "text/plain",
    "importmap",
];

const TEXT_ELEMENTS: &[&str] = &[
    "style", "title", "textarea", "xmp", "noembed", "noframes", "iframe",
];

fn spaced_name(rng: &mut Rng, name: &str) -> String {
    if rng.chance(25) {
        name.to_ascii_uppercase()
    } else {
        name.to_string()
    }
}

fn attribute(rng: &mut Rng, name: &str, value: &str) -> String {
    let name = spaced_name(rng, name);
    let separator = rng.pick(&[" ", " ", "\n", "\t", " /", "  "]);
    let unquotable = !value.is_empty()
        && !value
            .bytes()
            .any(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'"' | b'\'' | b'`' | b'='));
    match rng.below(if unquotable { 4 } else { 3 }) {
        0 | 1 if !value.contains('"') => format!("{separator}{name}=\"{value}\""),
        2 if !value.contains('\'') => format!("{separator}{name}='{value}'"),
        3 => format!("{separator}{name}={value}"),
        _ => format!("{separator}{name}=\"{}\"", value.replace('"', "&quot;")),
    }
}

fn noise_attributes(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.below(3) {
        out.push_str(match rng.below(6) {
            0 => " async",
            1 => " title=\"a > b\"",
            2 => " data-x='<script src=https://connect.facebook.net/x.js>'",
            3 => " class=c",
            4 => " defer",
            _ => " nonce=\"abc\"",
        });
    }
    out
}

fn url_tag(rng: &mut Rng, name: &str, url_attr: &str) -> String {
    let mut tag = format!("<{}", spaced_name(rng, name));
    tag.push_str(&noise_attributes(rng));
    let url = rng.pick(URLS);
    tag.push_str(&attribute(rng, url_attr, url));
    if rng.chance(15) {
        let second = rng.pick(URLS);
        tag.push_str(&attribute(rng, url_attr, second));
    }
    tag.push_str(&noise_attributes(rng));
    tag.push_str(rng.pick(&[">", ">", " >", "/>", "\n>"]));
    tag
}

fn script(rng: &mut Rng) -> String {
    let mut tag = String::from("<script");
    let kind = rng.pick(SCRIPT_TYPES);
    if !kind.is_empty() {
        tag.push_str(&attribute(rng, "type", kind));
    }
    if kind == "text/plain" && rng.chance(70) {
        let label = rng.pick(&[
            "data-consent-category",
            "data-category",
            "data-cookieconsent",
        ]);
        let category = rng.pick(&[
            "analytics",
            "marketing",
            "statistics",
            "preferences",
            "social",
        ]);
        tag.push_str(&attribute(rng, label, category));
        if rng.chance(50) {
            let src_attr = rng.pick(&["data-consent-src", "data-src"]);
            let url = rng.pick(URLS);
            tag.push_str(&attribute(rng, src_attr, url));
        }
    }
    tag.push_str(&noise_attributes(rng));
    let body = if rng.chance(50) {
        let url = rng.pick(URLS);
        tag.push_str(&attribute(rng, "src", url));
        String::new()
    } else {
        rng.pick(INLINE).to_string()
    };
    let end = rng.pick(&[
        "</script>",
        "</SCRIPT>",
        "</script >",
        "</script\n>",
        "</script foo=\">\">",
    ]);
    format!("{tag}>{body}{end}")
}

fn judged_element(rng: &mut Rng) -> String {
    match rng.below(11) {
        0..=2 => script(rng),
        3 => format!("{}</iframe>", url_tag(rng, "iframe", "src")),
        4 => url_tag(rng, "img", "src"),
        5 => url_tag(rng, "image", "src"),
        6 => {
            let rel = rng.pick(&[
                "preconnect",
                "dns-prefetch",
                "preload",
                "stylesheet",
                "PREFETCH icon",
            ]);
            let url = rng_url(rng);
            format!("<link rel=\"{rel}\"{}>", attribute(rng, "href", url))
        }
        7 => url_tag(rng, "embed", "src"),
        8 => format!("{}</object>", url_tag(rng, "object", "data")),
        9 => format!("<video>{}</video>", url_tag(rng, "source", "src")),
        _ => format!(
            "<picture>{}<img srcset=\"/a.png 1x, {} 2x\"></picture>",
            url_tag(rng, "source", "srcset"),
            rng_url(rng).trim()
        ),
    }
}

fn rng_url(rng: &mut Rng) -> &'static str {
    rng.pick(URLS)
}

fn fragment(rng: &mut Rng) -> String {
    match rng.below(20) {
        0..=5 => judged_element(rng),
        6 => format!("<noscript>{}</noscript>", judged_element(rng)),
        7 => {
            let opening = rng.pick(&[
                "<!-- ",
                "<!-->",
                "<!--->",
                "<!-- a --!>",
                "<!-- -- - ",
                "<!---->",
                "<!-- <!-- ",
            ]);
            let closing = rng.pick(&[" -->", "", " --!>", " ->", "-->"]);
            format!("{opening}{}{closing}", judged_element(rng))
        }
        8 => {
            let name = rng.pick(TEXT_ELEMENTS);
            let end = rng.pick(&["", " ", "\n"]);
            format!(
                "<{name}>{}</{}{end}>",
                judged_element(rng),
                spaced_name(rng, name)
            )
        }
        9 => format!(
            "<svg><script href=\"{}\"></script><image xlink:href=\"{}\"/><foreignObject>{}</foreignObject><style>{}</style>{}</svg>",
            rng_url(rng).trim(),
            rng_url(rng).trim(),
            judged_element(rng),
            judged_element(rng),
            rng.pick(&[
                "<![CDATA[<script src=https://connect.facebook.net/x.js>]]>",
                "<desc><img src=\"https://www.facebook.com/tr\"></desc>",
                "<desc><script src=\"https://connect.facebook.net/desc.js\"></script></desc>",
                "<title><iframe src=\"https://www.youtube.com/embed/t\"></iframe></title>",
                "<g><script xlink:href=\"https://bat.bing.com/bat.js\"/></g>",
            ]),
        ),
        10 => format!(
            "<math><mi>{}</mi><annotation-xml encoding=\"{}\">{}</annotation-xml><mtext>{}</mtext></math>",
            judged_element(rng),
            rng.pick(&["text/html", "TEXT/HTML", "application/mathml+xml"]),
            judged_element(rng),
            judged_element(rng),
        ),
        11 => format!("<svg><p>{}</svg>", judged_element(rng)),
        12 => format!("<template>{}</template>", judged_element(rng)),
        13 => rng
            .pick(&[
                "<div class=\"a\"><p>text &amp; more</p><a href=\"/x\">link</a></div>",
                "<table><tr><td>cell</td></tr></table>",
                "<ul><li>one<li>two</ul>",
                "a < b and <3 and < p>",
                "<p title='x>y'>quoted</p>",
                "<br/><hr><input value=\"<script>\">",
            ])
            .to_string(),
        14 => rng
            .pick(&[
                "<?php echo 1 ?>",
                "</ foo>",
                "<!x>",
                "</>",
                "<!DOCTYPE html>",
                "<!-x>",
                "</3>",
            ])
            .to_string(),
        15 => format!(
            "<table>{}<tr><td>{}</td></tr></table>",
            judged_element(rng),
            judged_element(rng)
        ),
        16 => {
            let mut junk = String::new();
            for _ in 0..rng.below(24) {
                junk.push_str(rng.pick(&[
                    "<", ">", "/", "\"", "'", "=", "!", "-", "?", " ", "a", "\n", "&", ";", "#x",
                    "s",
                ]));
            }
            junk
        }
        17 => format!(
            "<base href=\"{}\">",
            rng.pick(&[
                "https://www.googletagmanager.com/",
                "/static/",
                "https://cdn.example.org/a/"
            ])
        ),
        18 => {
            let shape = rng.pick(&[
                "<svg><font color=red>{}</font></svg>",
                "<svg/><title>{}</title>",
                "<math/><textarea>{}</textarea>",
                "<svg><g/><title>{}</title></svg>",
            ]);
            shape.replace("{}", &judged_element(rng))
        }
        _ => format!("<div><p>{}</p></div>", judged_element(rng)),
    }
}

/// A document of 5 to 25 fragments, deterministic for a seed.
pub(crate) fn document(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::new();
    if rng.chance(70) {
        out.push_str("<!DOCTYPE html><html><head><meta charset=utf-8>");
    }
    for _ in 0..5 + rng.below(21) {
        out.push_str(&fragment(&mut rng));
    }
    if rng.chance(5) {
        out.push_str("<plaintext>");
        out.push_str(&judged_element(&mut rng));
    }
    out
}
