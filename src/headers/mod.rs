//! Response headers: `Set-Cookie` filtering, expiry of lingering tracker cookies, and `Vary`.
//!
//! Everything here decides from the cookie's name alone (read as a browser reads it), by the
//! layer's [`Catalog`] rules; a `Set-Cookie` with neither name nor value is passed through.
//!
//! [`Catalog`]: crate::catalog::Catalog

pub(crate) mod validators;

use http::header::{Entry, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue};

use crate::Consent;
use crate::config::{Settings, UnknownPolicy};
use crate::consent::CategorySet;
use crate::cookies;

/// The category a cookie name falls in under the layer's rules and unknown-cookie policy, or
/// `None` for an unknown cookie that the policy allows.
pub(crate) fn cookie_category<'s>(settings: &'s Settings, name: &[u8]) -> Option<Category<'s>> {
    if let Some(found) = settings.catalog.classify(name) {
        return Some(Category {
            index: found.category,
            service: found.service,
        });
    }
    match settings.unknown {
        UnknownPolicy::AsCategory(index) => Some(Category {
            index,
            service: None,
        }),
        UnknownPolicy::Allow => None,
    }
}

/// A cookie's category index, and the service that sets it where a rule names one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Category<'a> {
    pub(crate) index: usize,
    pub(crate) service: Option<&'a str>,
}

/// Names remembered for warnings; past this, further unknown names are not logged.
const MAX_WARNED_NAMES: usize = 1024;

fn warn_unknown_once(settings: &Settings, name: &[u8]) {
    let name = &*String::from_utf8_lossy(name);
    let mut warned = settings
        .warned_unknown
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if warned.len() >= MAX_WARNED_NAMES || warned.contains(name) {
        return;
    }
    warned.insert(name.into());
    if warned.len() == MAX_WARNED_NAMES {
        tracing::warn!(
            "tower-consent: {MAX_WARNED_NAMES} unknown cookie names seen; no further ones will be logged"
        );
    }
    tracing::warn!(
        cookie = name,
        "tower-consent: no rule knows cookie {name:?}; it is allowed. Declare it with the layer's `cookie` setting"
    );
}

/// What filtering did to a response's headers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Filtered {
    /// A `Set-Cookie` of an optional category was present, kept or not: the headers depend on
    /// the visitor's consent.
    pub(crate) depends_on_consent: bool,
    /// How many `Set-Cookie` headers were (or, in report-only mode, would have been) removed
    /// or replaced by the layer's own deletion.
    pub(crate) removed: usize,
}

/// What becomes of one `Set-Cookie`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    /// A cookie of a category the visitor has not allowed.
    Remove,
    /// The same, in a header that reads as deleting the cookie: replaced by a deletion the layer
    /// writes itself (see [`expiry_of`]).
    Expire,
}

/// Removes every `Set-Cookie` of a category the visitor has not allowed, and replaces those that
/// delete their cookie by the layer's own deletion.
pub(crate) fn filter_set_cookies(
    headers: &mut HeaderMap,
    settings: &Settings,
    consent: &Consent,
) -> Filtered {
    let mut filtered = Filtered::default();
    if !cookies::has_set_cookie(headers) {
        return filtered;
    }
    // Positions of the values to remove or replace, for the first 64; later ones are classified
    // again.
    let (mut removed, mut expired) = (0u64, 0u64);
    for (position, value) in headers.get_all(SET_COOKIE).iter().enumerate() {
        let Some(name) = cookies::set_cookie_name(value.as_bytes()) else {
            continue;
        };
        let Some(category) = cookie_category(settings, name) else {
            warn_unknown_once(settings, name);
            continue;
        };
        if category.index == 0 {
            continue;
        }
        filtered.depends_on_consent = true;
        let fate = fate(consent, category, value);
        if fate == Fate::Keep {
            continue;
        }
        filtered.removed += 1;
        if position < 64 {
            match fate {
                Fate::Expire => expired |= 1 << position,
                _ => removed |= 1 << position,
            }
        }
        if settings.report_only {
            report(settings, name, category, fate);
        }
    }
    if filtered.removed > 0 && !settings.report_only {
        edit_set_cookies(headers, |position, value| {
            let fate = if position < 64 {
                match ((removed >> position) & 1, (expired >> position) & 1) {
                    (1, _) => Fate::Remove,
                    (_, 1) => Fate::Expire,
                    _ => Fate::Keep,
                }
            } else {
                set_cookie_category(settings, value).map_or(Fate::Keep, |c| fate(consent, c, value))
            };
            match fate {
                Fate::Keep => false,
                Fate::Remove => true,
                Fate::Expire => match expiry_of(value.as_bytes()) {
                    Some(expiry) => {
                        *value = expiry;
                        false
                    }
                    None => true,
                },
            }
        });
    }
    filtered
}

/// The fate of a `Set-Cookie` of this category: kept when the category is `necessary` or
/// allowed. The consent is read here, at the first cookie whose fate depends on it.
fn fate(consent: &Consent, category: Category<'_>, value: &HeaderValue) -> Fate {
    if category.index == 0 || consent.allowed_set().contains(category.index) {
        Fate::Keep
    } else if is_deletion(value) {
        Fate::Expire
    } else {
        Fate::Remove
    }
}

/// The layer's own deletion of the cookie a denied `Set-Cookie` deletes: `name=; Max-Age=0`,
/// with the `Domain`, `Path`, `Secure` and `Partitioned` that say which cookie it is, and the
/// `SameSite` that lets it arrive where the site's would have. The
/// site's header is not passed on, since a browser may read its lifetime otherwise than the
/// layer does (the last `Max-Age` counts even when it is not a number, dates are read more
/// strictly, the response's `Date` shifts `Expires`), and store the cookie after all. `None`
/// for a nameless cookie, which is removed instead.
fn expiry_of(value: &[u8]) -> Option<HeaderValue> {
    let pair_end = memchr::memchr(b';', value).unwrap_or(value.len());
    let (name, _) = value[..pair_end].split_at(memchr::memchr(b'=', &value[..pair_end])?);
    let name = name.trim_ascii();
    if name.is_empty() {
        return None;
    }
    let (mut domain, mut path, mut same_site) = (None, None, None);
    let (mut secure, mut partitioned) = (false, false);
    for attribute in value[pair_end..].split(|b| *b == b';').skip(1) {
        let (key, val) = split_attribute(attribute);
        if key.eq_ignore_ascii_case(b"domain") {
            domain = Some(val);
        } else if key.eq_ignore_ascii_case(b"path") {
            path = Some(val);
        } else if key.eq_ignore_ascii_case(b"samesite") {
            same_site = Some(val);
        } else if key.eq_ignore_ascii_case(b"secure") {
            secure = true;
        } else if key.eq_ignore_ascii_case(b"partitioned") {
            partitioned = true;
        }
    }
    let mut expiry = name.to_vec();
    expiry.extend_from_slice(b"=; Max-Age=0");
    // `SameSite` too: a browser ignores a cookie without `SameSite=None` that arrives in a
    // cross-site context, a deletion included.
    for (key, val) in [
        (&b"; Domain="[..], domain),
        (b"; Path=", path),
        (b"; SameSite=", same_site),
    ] {
        if let Some(val) = val.filter(|v| !v.is_empty()) {
            expiry.extend_from_slice(key);
            expiry.extend_from_slice(val);
        }
    }
    for (flag, on) in [(&b"; Secure"[..], secure), (b"; Partitioned", partitioned)] {
        if on {
            expiry.extend_from_slice(flag);
        }
    }
    HeaderValue::from_bytes(&expiry).ok()
}

/// Whether a `Set-Cookie` deletes its cookie: a `Max-Age` of zero or less (the last valid one
/// counts), or, without `Max-Age`, an `Expires` in the past. A site cleaning up a tracker it may
/// no longer use must not be stopped, so deletions of denied cookies pass.
///
/// Read as a browser reads them (RFC 6265bis, 5.7): an attribute whose value is not valid is
/// ignored, so an `Expires` counts only if it is a date by the cookie-date algorithm (a
/// tracker's `Expires=1970` sets a session cookie, it deletes nothing), and of several valid
/// ones the last counts. This runs for every denied cookie, so it reads the attributes itself,
/// in one pass from `;` to `;` that looks closer only at attributes starting with `m` or `e`.
pub(crate) fn is_deletion(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    let Some(semicolon) = memchr::memchr(b';', bytes) else {
        return false;
    };
    let mut max_age = None;
    let mut expires = None;
    let mut rest = &bytes[semicolon + 1..];
    loop {
        // Attributes are short: plain loops, where `memchr`'s setup would cost more.
        let end = rest.iter().position(|b| *b == b';').unwrap_or(rest.len());
        let attribute = rest[..end].trim_ascii_start();
        if matches!(attribute.first().map(|b| b | 0x20), Some(b'm' | b'e')) {
            note_lifetime(attribute, &mut max_age, &mut expires);
        }
        match rest.get(end + 1..) {
            Some(next) => rest = next,
            None => break,
        }
    }
    deletes(max_age, expires)
}

/// Notes a `Max-Age` or `Expires` attribute (`name=value`, no white space before the name),
/// keeping the earlier value when this one is not valid.
fn note_lifetime(attribute: &[u8], max_age: &mut Option<i64>, expires: &mut Option<i64>) {
    let (name, value) = split_attribute(attribute);
    if name.eq_ignore_ascii_case(b"max-age") {
        // RFC 6265bis 5.7.2: a Max-Age that is not an integer is ignored.
        *max_age = parse_max_age(value).or(*max_age);
    } else if name.eq_ignore_ascii_case(b"expires") {
        *expires = crate::time::parse_cookie_date(value).or(*expires);
    }
}

/// A cookie attribute's name and value (`name=value`, or a bare `name` with an empty value),
/// trimmed of white space. A plain loop: attributes are a few bytes long, shorter than
/// `memchr`'s setup.
fn split_attribute(attribute: &[u8]) -> (&[u8], &[u8]) {
    let (name, value) = match attribute.iter().position(|b| *b == b'=') {
        Some(eq) => (&attribute[..eq], &attribute[eq + 1..]),
        None => (attribute, &[][..]),
    };
    (name.trim_ascii(), value.trim_ascii())
}

/// Whether the lifetime read ends the cookie now: `Max-Age` decides when there is one.
fn deletes(max_age: Option<i64>, expires: Option<i64>) -> bool {
    match (max_age, expires) {
        (Some(age), _) => age <= 0,
        (None, Some(at)) => at <= i64::try_from(crate::time::now_secs()).unwrap_or(i64::MAX),
        (None, None) => false,
    }
}

fn parse_max_age(digits: &[u8]) -> Option<i64> {
    let (negative, digits) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // A huge Max-Age is simply "a long time"; only its sign matters here.
    let zero = digits.iter().all(|d| *d == b'0');
    Some(if zero {
        0
    } else if negative {
        -1
    } else {
        1
    })
}

/// Removes the `Set-Cookie` values for which `remove(position, value)` holds (it may rewrite a
/// value it keeps), keeping the order of the others. `HeaderMap` cannot remove one value of
/// many, so the kept values are moved out (the first few onto the stack), the entry is reset
/// to the first of them, and the rest are appended to the same entry, which spares hashing the
/// header name again.
fn edit_set_cookies(
    headers: &mut HeaderMap,
    mut remove: impl FnMut(usize, &mut HeaderValue) -> bool,
) {
    const ON_STACK: usize = 8;
    let Entry::Occupied(mut entry) = headers.entry(SET_COOKIE) else {
        return;
    };
    let mut first: [HeaderValue; ON_STACK] = std::array::from_fn(|_| HeaderValue::from_static(""));
    let mut rest = Vec::new();
    let mut kept = 0;
    for (position, value) in entry.iter_mut().enumerate() {
        if remove(position, value) {
            continue;
        }
        match first.get_mut(kept) {
            Some(slot) => std::mem::swap(slot, value),
            None => rest.push(std::mem::replace(value, HeaderValue::from_static(""))),
        }
        kept += 1;
    }
    if kept == 0 {
        entry.remove();
        return;
    }
    let mut first = first.into_iter().take(kept.min(ON_STACK));
    if let Some(value) = first.next() {
        entry.insert(value);
    }
    for value in first.chain(rest) {
        entry.append(value);
    }
}

fn set_cookie_category<'s>(settings: &'s Settings, value: &HeaderValue) -> Option<Category<'s>> {
    let name = cookies::set_cookie_name(value.as_bytes())?;
    cookie_category(settings, name)
}

fn report(settings: &Settings, name: &[u8], category: Category<'_>, fate: Fate) {
    let name = &*String::from_utf8_lossy(name);
    let category_name = settings
        .categories()
        .name(category.index)
        .map_or("?", |c| c.as_str());
    let action = match fate {
        Fate::Expire => "rewrite the deletion in",
        _ => "remove",
    };
    tracing::info!(
        cookie = name,
        category = category_name,
        service = category.service.unwrap_or("-"),
        "tower-consent (report-only): would {action} Set-Cookie {name:?}"
    );
}

/// Names of the cookies a request carries that belong to categories outside `allowed`, each
/// once: tracker cookies left from before a withdrawal, or from before the layer was added.
pub(crate) fn lingering_cookies(
    request: &HeaderMap,
    settings: &Settings,
    allowed: CategorySet,
) -> Vec<Box<str>> {
    let mut names: Vec<Box<str>> = Vec::new();
    for (name, _) in cookies::request_pairs(request) {
        let denied = cookie_category(settings, name).is_some_and(|c| !allowed.contains(c.index));
        // Rules only know token names, so a denied name is ASCII.
        if let (true, Ok(name)) = (denied, std::str::from_utf8(name)) {
            if !names.iter().any(|n| &**n == name) {
                names.push(name.into());
            }
        }
    }
    names
}

/// Appends `Set-Cookie` headers that make the browser delete each named cookie: host-only, and
/// on the configured parent domain too. A cookie set with another `Path` than `/` cannot be
/// reached this way, since the request does not say which path it was set with.
pub(crate) fn expire_cookies(headers: &mut HeaderMap, settings: &Settings, names: &[Box<str>]) {
    for name in names {
        if settings.report_only {
            tracing::info!(
                cookie = &**name,
                "tower-consent (report-only): would expire lingering cookie {name:?}"
            );
            continue;
        }
        let secure =
            settings.cookie.secure || name.starts_with("__Secure-") || name.starts_with("__Host-");
        // `__Host-` cookies cannot have a domain, so only the host-only deletion applies.
        let domain = settings
            .cookie
            .domain
            .as_deref()
            .filter(|_| !name.starts_with("__Host-"));
        // A partitioned cookie (CHIPS) is a cookie of its own, reached only by a partitioned
        // deletion, and the request does not say which kind it carries: both go out. A
        // partitioned cookie is always `Secure`, so over plain HTTP there is none.
        let partitions: &[bool] = if secure { &[false, true] } else { &[false] };
        for &partitioned in partitions {
            for domain in [None].into_iter().chain(domain.map(Some)) {
                let value = deletion(name, domain, secure, partitioned);
                // A name with bytes no header may carry was never settable; skip it.
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.append(SET_COOKIE, value);
                }
            }
        }
    }
}

/// A deletion of `name`. Over HTTPS it says `SameSite=None`, so that it also takes effect on a
/// page view in a cross-site frame, where a browser ignores a cookie without it (and where
/// partitioned cookies mostly live).
fn deletion(name: &str, domain: Option<&str>, secure: bool, partitioned: bool) -> String {
    let mut cookie = cookie::Cookie::build((name, ""))
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .secure(secure)
        .partitioned(partitioned);
    if secure {
        cookie = cookie.same_site(cookie::SameSite::None);
    }
    if let Some(domain) = domain {
        cookie = cookie.domain(domain);
    }
    cookie.to_string()
}

/// The request headers a response of the layer's can differ by, as `Vary` lists them: the
/// consent cookie, Global Privacy Control, and, for a page that gets the banner or link, what
/// decides whether and in which language it does (the language asked for, and what loads the
/// page: `Sec-Fetch-Dest`, else `Accept`; htmx and Turbo fragments get neither).
const VARY_FIELDS: [&str; 7] = [
    "cookie",
    "sec-gpc",
    "accept-language",
    "sec-fetch-dest",
    "accept",
    "hx-request",
    "turbo-frame",
];
const VARY_COOKIE: u8 = 1;
const VARY_GPC: u8 = 2;
const VARY_PAGE: u8 = 0b111_1100;

/// Makes the response's `Vary` name `Cookie`, `Sec-GPC` when `gpc` is set, and what a page's
/// banner or link depends on when `page` is (see [`VARY_FIELDS`]), adding what is not there yet
/// (in any of several `Vary` headers, in any case) in one value. `Vary: *` makes it moot.
pub(crate) fn add_vary(headers: &mut HeaderMap, gpc: bool, page: bool) {
    let mut needed = VARY_COOKIE;
    if gpc {
        needed |= VARY_GPC;
    }
    if page {
        needed |= VARY_PAGE;
    }
    // One lookup of `Vary`, whether it is there or not.
    let entry = headers.entry(VARY);
    if let Entry::Occupied(present) = &entry {
        for field in present
            .iter()
            .flat_map(|value| value.as_bytes().split(|b| *b == b','))
            .map(<[u8]>::trim_ascii)
        {
            if field == b"*" {
                return;
            }
            if let Some(at) = VARY_FIELDS
                .iter()
                .position(|name| field.eq_ignore_ascii_case(name.as_bytes()))
            {
                needed &= !(1 << at);
            }
        }
    }
    // Constants for the values of every response that sets a cookie: `from_static` checks its
    // bytes at run time when not in a `const`.
    const COOKIE_GPC: HeaderValue = HeaderValue::from_static("cookie, sec-gpc");
    const COOKIE: HeaderValue = HeaderValue::from_static("cookie");
    const GPC: HeaderValue = HeaderValue::from_static("sec-gpc");
    let value = match needed {
        0 => return,
        VARY_COOKIE => COOKIE,
        VARY_GPC => GPC,
        n if n == VARY_COOKIE | VARY_GPC => COOKIE_GPC,
        _ => {
            let names: Vec<&str> = (0..VARY_FIELDS.len())
                .filter(|at| needed & (1 << at) != 0)
                .map(|at| VARY_FIELDS[at])
                .collect();
            match HeaderValue::from_str(&names.join(", ")) {
                Ok(value) => value,
                Err(_) => return,
            }
        }
    };
    match entry {
        Entry::Occupied(mut entry) => entry.append(value),
        Entry::Vacant(entry) => {
            entry.insert(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::COOKIE;

    fn vary_after(existing: &[&'static str], gpc: bool) -> Vec<String> {
        vary_after_with(existing, gpc, false)
    }

    fn vary_after_with(existing: &[&'static str], gpc: bool, language: bool) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for value in existing {
            headers.append(VARY, HeaderValue::from_static(value));
        }
        add_vary(&mut headers, gpc, language);
        headers
            .get_all(VARY)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn vary_is_merged_case_insensitively() {
        assert_eq!(
            vary_after(&["Accept-Encoding, COOKIE"], false),
            ["Accept-Encoding, COOKIE"]
        );
        assert_eq!(
            vary_after(&["Accept-Encoding, COOKIE"], true),
            ["Accept-Encoding, COOKIE", "sec-gpc"]
        );
        assert_eq!(
            vary_after(&["accept-encoding"], false),
            ["accept-encoding", "cookie"]
        );
        assert_eq!(
            vary_after(&["origin", "Sec-GPC"], true),
            ["origin", "Sec-GPC", "cookie"]
        );
        assert_eq!(vary_after(&[], true), ["cookie, sec-gpc"]);
        assert_eq!(vary_after(&["*"], true), ["*"]);
        assert_eq!(vary_after(&["cookie,sec-gpc"], true), ["cookie,sec-gpc"]);
        // Pages with the banner or link vary by language and by what loads them.
        assert_eq!(
            vary_after_with(&["cookie"], false, true),
            [
                "cookie",
                "accept-language, sec-fetch-dest, accept, hx-request, turbo-frame"
            ]
        );
        assert_eq!(
            vary_after_with(&["Accept-Language, HX-Request", "accept"], true, true),
            [
                "Accept-Language, HX-Request",
                "accept",
                "cookie, sec-gpc, sec-fetch-dest, turbo-frame"
            ]
        );
    }

    #[test]
    fn deletions_are_recognised() {
        for deletion in [
            "_ga=; Max-Age=0; Path=/",
            "_ga=x; max-age=-1",
            "_ga=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "_ga=; Path=/; Secure; Max-Age=0",
            "_ga=x; Max-Age=60; max-age=0",
            "_ga=x; Expires=Wed, 09 Jun 2021 10:18:14 GMT",
            "_ga=x; expires=Thursday, 01-Jan-70 00:00:00 GMT",
            "_ga=x; Max-Age = 0",
            "_ga=x;Max-Age=-5",
            "_ga=x; Path=/;  MAX-AGE\t=\t0 ;Secure",
            "_ga=x;eXpIrEs=Thu, 01 Jan 1970 00:00:00 GMT;Path=/",
            "_ga=x; Max-Age=10; Max-Age=junk; max-age=0",
            // The last valid `Expires` counts; one that is no date is ignored.
            "_ga=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Expires=junk 9999",
            "_ga=x; Expires=Fri, 01 Jan 2100 00:00:00 GMT; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "_ga=x; Expires=Thu, 01 Jan 0001 00:00:00 GMT",
        ] {
            assert!(
                is_deletion(&HeaderValue::from_static(deletion)),
                "{deletion}"
            );
        }
        for setting in [
            "_ga=GA1.1; Max-Age=63072000",
            "_ga=GA1.1",
            "_ga=GA1.1; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
            "_ga=GA1.1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "_ga=GA1.1; Max-Age=junk",
            "_ga=GA1.1; Max-Age=99999999999999999999999",
            "_ga=GA1.1; Max-Age=0; Max-Age=10",
            "_fbp=fb.1.1764460000000.1266398316; Path=/; Max-Age=7776000",
            "_ga=GA1.1; Expires=Wed, 09 Jun 2121 10:18:14 GMT",
            "_ga=GA1.1; Max-Age=junk; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
            "_ga=GA1.1; Max-Age=0x; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
            "_ga=0; Path=/; Mode=0; Ex=-1",
            "_ga=GA1.1;",
            // Not dates, so not deletions: browsers keep these cookies.
            "_ga=GA1.1; Expires=1970",
            "_ga=GA1.1; Expires=Wed, 01 Jan 2099 00:00:00 GMT; Expires=1970",
            "_ga=GA1.1; Expires=a1970 01 Jan 2099 00:00:00 GMT",
            "_ga=GA1.1; Expires=Thu, 30 Feb 1970 00:00:00 GMT",
            "_ga=GA1.1; Expires=Thu, 01 Jan 1600 00:00:00 GMT",
        ] {
            assert!(
                !is_deletion(&HeaderValue::from_static(setting)),
                "{setting}"
            );
        }
    }

    /// `is_deletion` read the plain way: every attribute split off at its `;` and trimmed,
    /// without the first-letter filter.
    fn is_deletion_by_splitting(value: &[u8]) -> bool {
        let (mut max_age, mut expires) = (None, None);
        for attribute in value.split(|b| *b == b';').skip(1) {
            note_lifetime(attribute.trim_ascii_start(), &mut max_age, &mut expires);
        }
        deletes(max_age, expires)
    }

    proptest::proptest! {
        #[test]
        fn deletions_are_found_as_splitting_finds_them(
            attributes in proptest::collection::vec((
                proptest::sample::select(vec![";", "; ", ";  "]),
                proptest::sample::select(vec!["", " ", "\t", "x"]),
                proptest::sample::select(vec![
                    "Max-Age", "max-age", "MAX-AGE", "Expires", "expires", "Path", "max-agex", "Ex",
                ]),
                proptest::sample::select(vec!["=", " = ", "", "=="]),
                proptest::sample::select(vec![
                    "0", "00", "-1", "10", "junk", "", "1970",
                    "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT",
                ]),
            ), 0..5),
        ) {
            let value = attributes.iter().fold(String::from("_ga=x"), |value, (sep, lead, name, eq, v)| {
                value + sep + lead + name + eq + v
            });
            let Ok(header) = HeaderValue::from_str(&value) else {
                return Ok(());
            };
            proptest::prop_assert_eq!(
                is_deletion(&header),
                is_deletion_by_splitting(value.as_bytes()),
                "{}", value
            );
        }
    }

    #[test]
    fn removal_keeps_the_order_of_the_rest_however_many() {
        for count in [0, 1, 2, 8, 9, 80] {
            for every in [1, 2, 3, 7] {
                let mut headers = HeaderMap::new();
                headers.append(VARY, HeaderValue::from_static("accept"));
                for i in 0..count {
                    headers.append(
                        SET_COOKIE,
                        HeaderValue::from_str(&format!("c{i}=1")).unwrap(),
                    );
                }
                edit_set_cookies(&mut headers, |position, _| position % every == 0);
                let kept: Vec<_> = headers
                    .get_all(SET_COOKIE)
                    .iter()
                    .map(|v| v.to_str().unwrap())
                    .collect();
                let expected: Vec<_> = (0..count)
                    .filter(|i| i % every != 0)
                    .map(|i| format!("c{i}=1"))
                    .collect();
                assert_eq!(kept, expected, "{count} values, every {every}th removed");
                assert_eq!(headers.get(VARY).unwrap(), "accept");
            }
        }
    }

    #[test]
    fn deletion_cookies_cover_host_and_domain() {
        let layer = crate::ConsentLayer::builder()
            .cookie_domain("example.com")
            .sink(crate::NoopSink)
            .build()
            .unwrap();
        let mut headers = HeaderMap::new();
        expire_cookies(
            &mut headers,
            layer.settings_ref(),
            &["_ga".into(), "__Host-x".into(), "bad\u{1}name".into()],
        );
        let values: Vec<_> = headers.get_all(SET_COOKIE).iter().collect();
        assert_eq!(
            values,
            [
                "_ga=; SameSite=None; Secure; Path=/; Max-Age=0",
                "_ga=; SameSite=None; Secure; Path=/; Domain=example.com; Max-Age=0",
                "_ga=; SameSite=None; Partitioned; Secure; Path=/; Max-Age=0",
                "_ga=; SameSite=None; Partitioned; Secure; Path=/; Domain=example.com; Max-Age=0",
                "__Host-x=; SameSite=None; Secure; Path=/; Max-Age=0",
                "__Host-x=; SameSite=None; Partitioned; Secure; Path=/; Max-Age=0",
            ]
        );
        // Over plain HTTP there is no partitioned cookie to delete.
        let plain = crate::ConsentLayer::builder()
            .secure_cookie(false)
            .sink(crate::NoopSink)
            .build()
            .unwrap();
        let mut headers = HeaderMap::new();
        expire_cookies(&mut headers, plain.settings_ref(), &["_ga".into()]);
        let values: Vec<_> = headers.get_all(SET_COOKIE).iter().collect();
        assert_eq!(values, ["_ga=; Path=/; Max-Age=0"]);
    }

    #[test]
    fn a_denied_deletion_is_rewritten_with_what_names_its_cookie() {
        for (value, expected) in [
            ("_ga=; Max-Age=0", Some("_ga=; Max-Age=0")),
            (
                " _ga = x ; path=/a ; DOMAIN=.example.com; secure; PARTITIONED; SameSite=None",
                Some(
                    "_ga=; Max-Age=0; Domain=.example.com; Path=/a; SameSite=None; Secure; Partitioned",
                ),
            ),
            // The last of each counts, as in the browser.
            (
                "_ga=; Path=/a; Path=/b; Domain=a.com; Domain=b.com",
                Some("_ga=; Max-Age=0; Domain=b.com; Path=/b"),
            ),
            ("_ga=; Path=; Max-Age=0", Some("_ga=; Max-Age=0")),
            // Nameless: removed instead.
            ("_ga; Max-Age=0", None),
            ("=x; Max-Age=0", None),
        ] {
            assert_eq!(
                expiry_of(value.as_bytes())
                    .as_ref()
                    .map(|v| v.to_str().unwrap()),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn lingering_cookies_are_the_denied_ones_once_each() {
        let layer = crate::ConsentLayer::builder()
            .sink(crate::NoopSink)
            .build()
            .unwrap();
        let mut request = HeaderMap::new();
        request.append(
            COOKIE,
            HeaderValue::from_static("_ga=1; sid=2; _fbp=3; _ga=4; _ga_X=5; __Host-consent=z"),
        );
        let analytics_only = CategorySet::NECESSARY.with(2);
        let names = lingering_cookies(&request, layer.settings_ref(), analytics_only);
        assert_eq!(names, [Box::from("_fbp")]);
        let nothing = CategorySet::NECESSARY;
        let names = lingering_cookies(&request, layer.settings_ref(), nothing);
        assert_eq!(names, [Box::from("_ga"), "_fbp".into(), "_ga_X".into()]);
    }
}
