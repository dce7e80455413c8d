//! See what the layer does, from the command line.
//!
//! ```text
//! cargo run --example inspect -- html [--consent none|all|CAT,CAT] [--base-url URL] [--banner] [FILE]
//! cargo run --example inspect -- cookie [--config FILE] NAME...        (or names on stdin)
//! cargo run --example inspect -- set-cookie [--config FILE] [--consent none|all|CAT,CAT]
//! cargo run --example inspect -- catalog
//! ```
//!
//! `cookie` prints `NAME<TAB>CATEGORY<TAB>SERVICE` per name (`unknown` and `-` when no rule
//! knows it). `set-cookie` reads one `Set-Cookie` value per line and prints `keep<TAB>VALUE` or
//! `strip<TAB>VALUE`, as the layer decides for a page view of a visitor with that consent.
//! `catalog` prints the built-in catalog as the Markdown table `CATALOG.md` holds.
//!
//! `html` prints the page (FILE, or standard input) as a visitor with that consent receives it
//! through a layer with the default configuration. The page really goes through the layer: the
//! consent is recorded at its endpoint, and the page is served by an inner service as
//! `text/html` and read back from the response body. `none` is a visitor who has not decided;
//! `all` one who accepted everything; `analytics,marketing` one who saved exactly those.
//! `--base-url` is the page's address (default `https://www.example.com/`). The banner (or, for
//! a visitor who decided, the "Cookie settings" link) is left out unless `--banner` is given,
//! so that the output shows what the rewriter did to the page itself.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::process::ExitCode;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE, HOST, ORIGIN, SET_COOKIE};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt, service_fn};
use tower_consent::{ConsentConfig, ConsentLayer, NoopSink};

const USAGE: &str =
    "usage: inspect html [--consent none|all|CAT,CAT] [--base-url URL] [--banner] [FILE]
       inspect cookie [--config FILE] NAME...
       inspect set-cookie [--config FILE] [--consent none|all|CAT,CAT]
       inspect catalog";

enum Consent {
    Undecided,
    All,
    Only(Vec<String>),
}

struct HtmlArgs {
    consent: Consent,
    base_url: Uri,
    banner: bool,
    file: Option<String>,
}

fn parse_html_args(args: &[String]) -> Result<HtmlArgs, String> {
    let mut parsed = HtmlArgs {
        consent: Consent::Undecided,
        base_url: Uri::from_static("https://www.example.com/"),
        banner: false,
        file: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--consent" => {
                let value = args.next().ok_or("--consent needs a value")?;
                parsed.consent = match value.as_str() {
                    "none" => Consent::Undecided,
                    "all" => Consent::All,
                    list => Consent::Only(
                        list.split(',')
                            .map(str::trim)
                            .filter(|c| !c.is_empty())
                            .map(String::from)
                            .collect(),
                    ),
                };
            }
            "--banner" => parsed.banner = true,
            "--base-url" => {
                let value = args.next().ok_or("--base-url needs a value")?;
                let uri: Uri = value
                    .parse()
                    .map_err(|e| format!("--base-url {value:?}: {e}"))?;
                if uri.host().is_none() {
                    return Err(format!("--base-url {value:?}: expected an absolute URL"));
                }
                parsed.base_url = uri;
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            file if parsed.file.is_none() => parsed.file = Some(file.to_string()),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    Ok(parsed)
}

fn host_of(uri: &Uri) -> String {
    let host = uri.host().unwrap_or("www.example.com");
    match uri.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The consent cookie a visitor with this consent carries, as the layer's endpoint sets it.
async fn consent_cookie(
    layer: &ConsentLayer,
    consent: &Consent,
    base: &Uri,
) -> Result<Option<String>, String> {
    let body = match consent {
        Consent::Undecided => return Ok(None),
        Consent::All => serde_json::json!({ "action": "accept" }),
        Consent::Only(categories) => {
            serde_json::json!({ "action": "save", "categories": categories })
        }
    };
    // The layer's cookie is `Secure` by default: its endpoint takes choices from HTTPS pages.
    let origin = format!("https://{}", host_of(base));
    let request = Request::post("/consent")
        .header(HOST, host_of(base))
        .header(ORIGIN, origin)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let endpoint = layer.layer(service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    }));
    let Ok(response) = endpoint.oneshot(request).await;
    if response.status() != StatusCode::OK {
        let status = response.status();
        let body = response.into_body().collect().await;
        let text = body.map(|b| b.to_bytes()).unwrap_or_default();
        return Err(format!(
            "the layer refused that consent ({status}): {}",
            String::from_utf8_lossy(&text)
        ));
    }
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("the layer set no consent cookie")?;
    Ok(Some(cookie.to_string()))
}

async fn html(args: HtmlArgs) -> Result<Vec<u8>, String> {
    let page = match &args.file {
        Some(path) => std::fs::read(path).map_err(|e| format!("{path}: {e}"))?,
        None => {
            let mut page = Vec::new();
            std::io::stdin()
                .read_to_end(&mut page)
                .map_err(|e| format!("standard input: {e}"))?;
            page
        }
    };
    let layer = ConsentLayer::builder()
        .sink(NoopSink)
        .banner(args.banner)
        .settings_link(args.banner)
        .build()
        .map_err(|e| e.to_string())?;
    let cookie = consent_cookie(&layer, &args.consent, &args.base_url).await?;
    let page = Bytes::from(page);
    let site = layer.layer(service_fn(move |_: Request<Full<Bytes>>| {
        let page = page.clone();
        async move {
            let mut response = Response::new(Full::new(page));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, "text/html; charset=utf-8".parse().unwrap());
            Ok::<_, Infallible>(response)
        }
    }));
    let path = args
        .base_url
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut request = Request::get(path)
        .header(HOST, host_of(&args.base_url))
        .header("sec-fetch-dest", "document");
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let request = request
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let Ok(response) = site.oneshot(request).await;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(body.to_bytes().to_vec())
}

/// `--config FILE` and `--consent …` of the rule commands, and what is left.
struct RuleArgs {
    layer: ConsentLayer,
    consent: Consent,
    rest: Vec<String>,
}

fn parse_rule_args(args: &[String]) -> Result<RuleArgs, String> {
    let mut config = None;
    let mut consent = Consent::Undecided;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = Some(args.next().ok_or("--config needs a file")?.clone()),
            "--consent" => {
                consent = match args.next().ok_or("--consent needs a value")?.as_str() {
                    "none" => Consent::Undecided,
                    "all" => Consent::All,
                    list => Consent::Only(list.split(',').map(|c| c.trim().to_string()).collect()),
                }
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            other => rest.push(other.to_string()),
        }
    }
    let config = match config {
        Some(path) => ConsentConfig::from_file(&path).map_err(|e| e.to_string())?,
        None => ConsentConfig::default(),
    };
    let layer = ConsentLayer::builder_from(config)
        .sink(NoopSink)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(RuleArgs {
        layer,
        consent,
        rest,
    })
}

/// The names given as arguments, or one per line on standard input.
fn names(rest: Vec<String>) -> Result<Vec<String>, String> {
    if !rest.is_empty() {
        return Ok(rest);
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("standard input: {e}"))?;
    Ok(input
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

fn cookie(args: RuleArgs) -> Result<Vec<u8>, String> {
    if args.rest.is_empty() && !matches!(args.consent, Consent::Undecided) {
        return Err("cookie takes no --consent".into());
    }
    let mut out = String::new();
    for name in names(args.rest)? {
        let (category, service) = match args.layer.classify_cookie(&name) {
            Some(class) => (class.category, class.service.unwrap_or("-")),
            None => ("unknown", "-"),
        };
        out.push_str(&format!("{name}\t{category}\t{service}\n"));
    }
    Ok(out.into_bytes())
}

/// Each `Set-Cookie` value goes through the layer on a page of its own (a page view, so the
/// layer judges it as it would on the site), and is kept if the response still carries it.
async fn set_cookie(args: RuleArgs) -> Result<Vec<u8>, String> {
    if !args.rest.is_empty() {
        return Err("set-cookie reads its values from standard input".into());
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("standard input: {e}"))?;
    let base = Uri::from_static("https://www.example.com/");
    let cookie = consent_cookie(&args.layer, &args.consent, &base).await?;
    let mut out = String::new();
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        let value = http::HeaderValue::from_str(line)
            .map_err(|_| format!("not a header value: {line:?}"))?;
        let sent = value.clone();
        let site = args.layer.layer(service_fn(move |_: Request<Full<Bytes>>| {
            let sent = sent.clone();
            async move {
                let mut response = Response::new(Full::new(Bytes::new()));
                response.headers_mut().append(SET_COOKIE, sent);
                Ok::<_, Infallible>(response)
            }
        }));
        let mut request = Request::get("/")
            .header(HOST, "www.example.com")
            .header("sec-fetch-dest", "document");
        if let Some(cookie) = &cookie {
            request = request.header(COOKIE, cookie);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let Ok(response) = site.oneshot(request).await;
        let kept = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|v| *v == value);
        out.push_str(if kept { "keep\t" } else { "strip\t" });
        out.push_str(line);
        out.push('\n');
    }
    Ok(out.into_bytes())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("html") => match parse_html_args(&args[1..]) {
            Ok(parsed) => html(parsed).await,
            Err(e) => Err(format!("{e}\n{USAGE}")),
        },
        Some("cookie") => match parse_rule_args(&args[1..]) {
            Ok(parsed) => cookie(parsed),
            Err(e) => Err(e),
        },
        Some("set-cookie") => match parse_rule_args(&args[1..]) {
            Ok(parsed) => set_cookie(parsed).await,
            Err(e) => Err(e),
        },
        Some("catalog") if args.len() == 1 => Ok(tower_consent::catalog_markdown().into_bytes()),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(&output)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("inspect: {message}");
            ExitCode::from(2)
        }
    }
}
