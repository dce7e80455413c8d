//! What a response's `Content-Security-Policy` lets the layer insert inline: the Consent Mode
//! script and the banner's stylesheet.

use http::HeaderMap;
use http::header::CONTENT_SECURITY_POLICY;

/// Whether an inline element of one kind may run or apply on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inline {
    /// No policy restricts it.
    Free,
    /// It needs this nonce.
    Nonce(String),
    /// A policy restricts it and gives no nonce to use.
    Blocked,
}

/// The directives that govern inline scripts, most specific first: the first one a policy has
/// is the one that applies (CSP Level 3's fallback lists).
pub(crate) const SCRIPTS: &[&str] = &["script-src-elem", "script-src", "default-src"];
/// The same for `<style>` elements.
pub(crate) const STYLES: &[&str] = &["style-src-elem", "style-src", "default-src"];

/// What the response's enforced policies (every `Content-Security-Policy` header, and every
/// comma-separated policy in one) allow for inline elements governed by `directives`. Every
/// policy must allow an element, so one that blocks it decides.
pub(crate) fn inline(headers: &HeaderMap, directives: &[&str]) -> Inline {
    let mut verdict = Inline::Free;
    for value in headers.get_all(CONTENT_SECURITY_POLICY) {
        let Ok(value) = value.to_str() else {
            return Inline::Blocked;
        };
        for policy in value.split(',') {
            match (policy_verdict(policy, directives), &verdict) {
                (Inline::Blocked, _) => return Inline::Blocked,
                (Inline::Nonce(nonce), Inline::Free) => verdict = Inline::Nonce(nonce),
                // One element carries one nonce: two policies that name different ones cannot
                // both be met.
                (Inline::Nonce(nonce), Inline::Nonce(first)) if nonce != *first => {
                    return Inline::Blocked;
                }
                _ => {}
            }
        }
    }
    verdict
}

fn policy_verdict(policy: &str, directives: &[&str]) -> Inline {
    let governing = directives.iter().find_map(|wanted| {
        policy.split(';').find_map(|directive| {
            let mut words = directive.split_ascii_whitespace();
            let name = words.next()?;
            name.eq_ignore_ascii_case(wanted).then_some(words)
        })
    });
    let Some(sources) = governing else {
        return Inline::Free;
    };
    let mut unsafe_inline = false;
    let mut overriding = false;
    for source in sources {
        // Keywords are case-insensitive; the nonce itself is not.
        if source
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("'nonce-"))
        {
            if let Some(nonce) = source[7..].strip_suffix('\'') {
                if is_nonce(nonce) {
                    return Inline::Nonce(nonce.to_owned());
                }
            }
        }
        unsafe_inline |= source.eq_ignore_ascii_case("'unsafe-inline'");
        overriding |= source
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("'sha"))
            || source.eq_ignore_ascii_case("'strict-dynamic'");
    }
    // A hash or 'strict-dynamic' turns 'unsafe-inline' off (CSP Level 2 and 3), as a nonce
    // would.
    if unsafe_inline && !overriding {
        Inline::Free
    } else {
        Inline::Blocked
    }
}

/// Base64 characters only: the nonce is written into an attribute as it is.
fn is_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csp(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CONTENT_SECURITY_POLICY, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_most_specific_directive_decides() {
        let headers = csp(&["default-src 'self' 'nonce-dflt'; script-src 'self' 'nonce-abc+/='"]);
        assert_eq!(inline(&headers, SCRIPTS), Inline::Nonce("abc+/=".into()));
        assert_eq!(inline(&headers, STYLES), Inline::Nonce("dflt".into()));
        let headers = csp(&["default-src 'nonce-d'; style-src 'self'"]);
        assert_eq!(inline(&headers, STYLES), Inline::Blocked);
        assert_eq!(inline(&headers, SCRIPTS), Inline::Nonce("d".into()));
        let headers = csp(&["style-src-elem 'nonce-e'; style-src 'self'"]);
        assert_eq!(inline(&headers, STYLES), Inline::Nonce("e".into()));
    }

    #[test]
    fn unrestricted_unsafe_inline_and_hashes() {
        assert_eq!(inline(&HeaderMap::new(), STYLES), Inline::Free);
        assert_eq!(inline(&csp(&["img-src 'self'"]), STYLES), Inline::Free);
        assert_eq!(
            inline(&csp(&["style-src 'self' 'unsafe-inline'"]), STYLES),
            Inline::Free
        );
        assert_eq!(
            inline(&csp(&["style-src 'unsafe-inline' 'sha256-abc='"]), STYLES),
            Inline::Blocked
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_strict_dynamic_overrides() {
        assert_eq!(
            inline(&csp(&["Script-Src 'NONCE-AbC'"]), SCRIPTS),
            Inline::Nonce("AbC".into())
        );
        assert_eq!(
            inline(
                &csp(&["script-src 'unsafe-inline' 'strict-dynamic' https:"]),
                SCRIPTS
            ),
            Inline::Blocked
        );
        assert_eq!(
            inline(&csp(&["style-src 'unsafe-inline' 'SHA256-abc='"]), STYLES),
            Inline::Blocked
        );
    }

    #[test]
    fn every_policy_must_allow() {
        let headers = csp(&["style-src 'nonce-a'", "style-src 'nonce-b'"]);
        assert_eq!(inline(&headers, STYLES), Inline::Blocked);
        let headers = csp(&["style-src 'nonce-a'", "default-src 'nonce-a'"]);
        assert_eq!(inline(&headers, STYLES), Inline::Nonce("a".into()));
        let headers = csp(&["style-src 'unsafe-inline'", "style-src 'self'"]);
        assert_eq!(inline(&headers, STYLES), Inline::Blocked);
        let headers = csp(&["style-src 'nonce-a', img-src 'none'"]);
        assert_eq!(inline(&headers, STYLES), Inline::Nonce("a".into()));
    }

    #[test]
    fn a_nonce_that_could_leave_its_attribute_is_not_one() {
        assert_eq!(
            inline(&csp(&["script-src 'nonce-a\"b'"]), SCRIPTS),
            Inline::Blocked
        );
    }
}
