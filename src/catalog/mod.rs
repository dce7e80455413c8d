//! Rules that say which category a cookie belongs to, compiled once into matchers.
//!
//! Two rule sets are consulted in order: the site's own declarations, then the built-in list of
//! well-known trackers. Within a set an exact name beats a prefix, and a longer prefix beats a
//! shorter one. The layer's own consent cookie is always `necessary`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::consent::Categories;

pub(crate) mod data;
mod names;
pub(crate) mod trackers;

use names::{NameTrie, PrefixRule};

/// How a rule matches a cookie name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NamePattern {
    Exact(Box<str>),
    Prefix(Box<str>),
    /// Literal parts and placeholders (`_pk_id.<site>.<hash>`), starting with a literal.
    Pattern(Box<[Segment]>),
}

/// A part of a cookie-name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(Box<[u8]>),
    /// One or more characters of a cookie name.
    Any,
}

/// A cookie-name pattern that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PatternError {
    #[error("empty name")]
    Empty,
    #[error("a `<placeholder>` is not closed, or is empty")]
    Placeholder,
    #[error("a pattern must start with a literal part")]
    LeadingPlaceholder,
    #[error("`*` may only end a prefix")]
    Star,
    #[error("{0:?} is not allowed in a cookie name")]
    Character(char),
}

/// A cookie rule before compilation: the category is still a name.
#[derive(Debug, Clone)]
pub(crate) struct CookieRule {
    pub(crate) pattern: NamePattern,
    pub(crate) category: Box<str>,
    pub(crate) service: Option<Box<str>>,
}

/// What a rule says about a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classification<'a> {
    /// Index in the layer's [`Categories`].
    pub(crate) category: usize,
    pub(crate) service: Option<&'a str>,
}

/// The built-in cookie rules, from the catalog's data file, but those of `disabled` services.
pub(crate) fn built_in_rules(disabled: &[String]) -> Vec<CookieRule> {
    data::built_in()
        .iter()
        .filter(|entry| !disabled.contains(&entry.service))
        .flat_map(|entry| {
            entry.cookies.iter().filter_map(move |cookie| {
                let pattern = NamePattern::parse(cookie).ok()?;
                Some(CookieRule {
                    pattern,
                    category: entry.category.as_str().into(),
                    service: Some(entry.service.as_str().into()),
                })
            })
        })
        .collect()
}

impl NamePattern {
    /// `name` for an exact name, `prefix*` for a prefix, `lit<placeholder>lit…` for a pattern
    /// (a placeholder stands for one or more characters).
    pub(crate) fn parse(pattern: &str) -> Result<Self, PatternError> {
        let (body, prefix) = match pattern.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (pattern, false),
        };
        if body.is_empty() {
            return Err(PatternError::Empty);
        }
        if body.contains('*') {
            return Err(PatternError::Star);
        }
        let mut segments = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            match rest.find('<') {
                Some(0) => {
                    let close = rest.find('>').ok_or(PatternError::Placeholder)?;
                    if close == 1 {
                        return Err(PatternError::Placeholder);
                    }
                    segments.push(Segment::Any);
                    rest = &rest[close + 1..];
                }
                found => {
                    let end = found.unwrap_or(rest.len());
                    let literal = &rest[..end];
                    if let Some(bad) = literal
                        .chars()
                        .find(|c| !c.is_ascii() || !crate::cookies::is_cookie_name(&[*c as u8]))
                    {
                        return Err(PatternError::Character(bad));
                    }
                    segments.push(Segment::Literal(literal.as_bytes().into()));
                    rest = &rest[end..];
                }
            }
        }
        match segments.as_slice() {
            [Segment::Literal(literal)] => {
                let text = String::from_utf8_lossy(literal)
                    .into_owned()
                    .into_boxed_str();
                Ok(if prefix {
                    NamePattern::Prefix(text)
                } else {
                    NamePattern::Exact(text)
                })
            }
            [Segment::Any, ..] => Err(PatternError::LeadingPlaceholder),
            _ if prefix => Err(PatternError::Star),
            _ => Ok(NamePattern::Pattern(segments.into_boxed_slice())),
        }
    }

    /// The literal text every name the rule matches starts with.
    pub(crate) fn literal_prefix(&self) -> &[u8] {
        match self {
            NamePattern::Exact(name) | NamePattern::Prefix(name) => name.as_bytes(),
            NamePattern::Pattern(segments) => match segments.first() {
                Some(Segment::Literal(literal)) => literal,
                _ => b"",
            },
        }
    }
}

/// Whether `name` matches the pattern's segments (placeholders take one or more characters).
/// A placeholder followed by a literal tries only the places where that literal occurs.
fn matches_segments(segments: &[Segment], name: &[u8]) -> bool {
    match segments {
        [] => name.is_empty(),
        [Segment::Literal(literal), rest @ ..] => {
            name.starts_with(literal) && matches_segments(rest, &name[literal.len()..])
        }
        [Segment::Any] => !name.is_empty(),
        [Segment::Any, Segment::Literal(literal)] => {
            name.len() > literal.len() && name.ends_with(literal)
        }
        [Segment::Any, Segment::Literal(literal), ..] => {
            let Some(tail) = name.get(1..) else {
                return false;
            };
            memchr::memmem::find_iter(tail, &**literal)
                .any(|at| matches_segments(&segments[1..], &name[1 + at..]))
        }
        [Segment::Any, Segment::Any, ..] => {
            // Two placeholders in a row are one that takes two or more characters.
            name.len() >= 2 && matches_segments(&segments[1..], &name[1..])
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Target {
    category: usize,
    service: Option<usize>,
}

/// A multiply-rotate hash (as in rustc's `FxHasher`) for short cookie names: several times
/// cheaper than SipHash. The tables are fixed when the layer is built and only ever looked up,
/// so names chosen to collide cannot grow them; at worst they make one lookup probe longer.
#[derive(Default)]
pub(crate) struct NameHasher(u64);

impl NameHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        // Shifted in byte by byte: copying the tail into a buffer and reading it back as a word
        // costs a call to `memcpy` and a stalled load, which dominated a lookup.
        let tail = chunks
            .remainder()
            .iter()
            .rev()
            .fold(0u64, |word, b| word << 8 | u64::from(*b));
        self.add(tail);
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn finish(&self) -> u64 {
        // A multiply carries entropy only upwards, and the table picks a bucket by the low
        // bits: rotated, the well-mixed high bits pick it (as `rustc-hash` does).
        self.0.rotate_left(26)
    }
}

/// The compiled cookie rules of one layer.
#[derive(Debug)]
pub(crate) struct Catalog {
    /// Site and built-in rules are merged so that the lookup answers as if the site's rules
    /// were consulted first (see [`Catalog::compile`]). Exact names, asked first:
    exact: HashMap<Box<[u8]>, Target, BuildHasherDefault<NameHasher>>,
    /// Prefix and pattern rules, asked when no exact name is known.
    prefixes: NameTrie,
    services: Vec<Arc<str>>,
    consent_cookie: Box<str>,
    /// Hosts and inline-script signatures.
    pub(crate) trackers: trackers::Trackers,
}

/// A rule names a category the layer does not have.
#[derive(Debug)]
pub(crate) struct UnknownRuleCategory {
    /// The rule, as the configuration names it (`cookies: _ga`, `hosts: stats.example.com`).
    pub(crate) rule: String,
    pub(crate) category: Box<str>,
}

impl Catalog {
    /// Compiles the site's rules and the built-in ones. Built-in rules whose category the site
    /// does not have are dropped; a site rule naming an unknown category is an error.
    ///
    /// The site's rules take precedence: a built-in exact name is replaced by a site rule for
    /// the same name or dropped when a site pattern matches it, and a built-in name or prefix
    /// that a site prefix covers is dropped. What remains is one matcher where an exact name
    /// beats a prefix or pattern, and of those a site rule beats a built-in one and a longer
    /// literal a shorter one, which then answers exactly as "site rules first, built-in ones
    /// second".
    pub(crate) fn compile(
        site_rules: &[CookieRule],
        built_in_rules: &[CookieRule],
        categories: &Categories,
        consent_cookie: &str,
        site_trackers: &trackers::SiteTrackers,
    ) -> Result<Self, UnknownRuleCategory> {
        let site_prefixes: Vec<&[u8]> = site_rules
            .iter()
            .filter_map(|rule| match &rule.pattern {
                NamePattern::Prefix(prefix) => Some(prefix.as_bytes()),
                _ => None,
            })
            .collect();
        let site_patterns: Vec<&[Segment]> = site_rules
            .iter()
            .filter_map(|rule| match &rule.pattern {
                NamePattern::Pattern(segments) => Some(&**segments),
                _ => None,
            })
            .collect();
        // A site prefix covers every built-in rule whose names all start with it, and a site
        // pattern every built-in exact name it matches (the lookup puts exact names first, so
        // these must go; built-in prefixes and patterns rank below any site rule anyway).
        let covered_by_site = |pattern: &NamePattern| {
            let literal = pattern.literal_prefix();
            site_prefixes.iter().any(|p| literal.starts_with(p))
                || matches!(pattern, NamePattern::Exact(name)
                    if site_patterns.iter().any(|p| matches_segments(p, name.as_bytes())))
        };
        let mut services: Vec<Arc<str>> = Vec::new();
        let mut exact: HashMap<Box<[u8]>, Target, BuildHasherDefault<NameHasher>> =
            HashMap::default();
        let mut prefix_rules: Vec<PrefixRule> = Vec::new();
        let mut add = |rule: &CookieRule, from_site: bool| -> Result<(), UnknownRuleCategory> {
            let Some(category) = categories.index_of(&rule.category) else {
                if from_site {
                    return Err(UnknownRuleCategory {
                        rule: format!(
                            "cookies: {}",
                            String::from_utf8_lossy(rule.pattern.literal_prefix())
                        ),
                        category: rule.category.clone(),
                    });
                }
                return Ok(());
            };
            let service = rule.service.as_deref().map(|name| {
                services
                    .iter()
                    .position(|s| &**s == name)
                    .unwrap_or_else(|| {
                        services.push(name.into());
                        services.len() - 1
                    })
            });
            let target = Target { category, service };
            match &rule.pattern {
                NamePattern::Exact(name) => {
                    let name: Box<[u8]> = name.as_bytes().into();
                    if from_site || !exact.contains_key(&name) {
                        exact.insert(name, target);
                    }
                }
                NamePattern::Prefix(_) | NamePattern::Pattern(_) => {
                    let literal: Box<[u8]> = rule.pattern.literal_prefix().into();
                    let segments = match &rule.pattern {
                        NamePattern::Pattern(segments) => Some(segments.clone()),
                        _ => None,
                    };
                    // A later site rule for the same prefix replaces an earlier one.
                    let same = prefix_rules
                        .iter()
                        .position(|r| r.pattern == segments && r.literal == literal);
                    match same {
                        Some(i) if from_site => prefix_rules[i].target = target,
                        Some(_) => {}
                        None => prefix_rules.push(PrefixRule {
                            literal,
                            pattern: segments,
                            target,
                            from_site,
                        }),
                    }
                }
            }
            Ok(())
        };
        for rule in site_rules {
            add(rule, true)?;
        }
        for rule in built_in_rules
            .iter()
            .filter(|r| !covered_by_site(&r.pattern))
        {
            add(rule, false)?;
        }
        Ok(Catalog {
            exact,
            prefixes: NameTrie::new(prefix_rules),
            services,
            consent_cookie: consent_cookie.into(),
            trackers: trackers::Trackers::compile(categories, site_trackers)?,
        })
    }

    /// The category (and service) a cookie name belongs to, or `None` when no rule knows it.
    pub(crate) fn classify(&self, name: &[u8]) -> Option<Classification<'_>> {
        if name == self.consent_cookie.as_bytes() {
            return Some(Classification {
                category: 0,
                service: None,
            });
        }
        let target = match self.exact.get(name) {
            Some(target) => *target,
            None => self.prefixes.find(name)?,
        };
        Some(Classification {
            category: target.category,
            service: target
                .service
                .and_then(|i| self.services.get(i))
                .map(|s| &**s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories() -> Categories {
        Categories::standard()
    }

    fn site(rules: &[(&str, &str)]) -> Vec<CookieRule> {
        rules
            .iter()
            .map(|(p, c)| CookieRule {
                pattern: NamePattern::parse(p).unwrap(),
                category: (*c).into(),
                service: None,
            })
            .collect()
    }

    /// The built-in catalog under the site's `rules`.
    fn with_site_rules(rules: &[CookieRule]) -> Catalog {
        Catalog::compile(
            rules,
            &built_in_rules(&[]),
            &categories(),
            "consent",
            &Default::default(),
        )
        .unwrap()
    }

    fn category_of(catalog: &Catalog, name: &str) -> Option<usize> {
        catalog.classify(name.as_bytes()).map(|c| c.category)
    }

    #[test]
    fn built_in_exact_and_prefix_names() {
        let catalog = with_site_rules(&[]);
        assert_eq!(category_of(&catalog, "_ga"), Some(2));
        assert_eq!(category_of(&catalog, "_ga_ABC123"), Some(2));
        assert_eq!(category_of(&catalog, "_fbp"), Some(3));
        assert_eq!(
            catalog.classify(b"_gcl_au").and_then(|c| c.service),
            Some("Google Ads")
        );
        assert_eq!(category_of(&catalog, "consent"), Some(0));
        // Look-alikes of tracker names are not trackers (a session cookie is necessary).
        for look_alike in [
            "_gateway_session",
            "_gallery_view",
            "_gax",
            "sid",
            "_g",
            "ga",
            "_ga_",
            "_pk_id.",
            "_pk_id.1",
            "mp__mixpanel",
            "mp_x_mixpanelx",
            "intercom-id-",
            "AMP_",
        ] {
            let category = category_of(&catalog, look_alike);
            assert!(
                !matches!(category, Some(2 | 3)),
                "{look_alike}: {category:?}"
            );
        }
    }

    #[test]
    fn segments_match_as_placeholders_say() {
        let pattern = |p: &str| match NamePattern::parse(p).unwrap() {
            NamePattern::Pattern(segments) => segments,
            other => panic!("{other:?}"),
        };
        let pk = pattern("_pk_id.<site>.<hash>");
        for (name, expected) in [
            ("_pk_id.1.ab", true),
            ("_pk_id.1.2.3", true),
            ("_pk_id..ab", false),
            ("_pk_id.1.", false),
            ("_pk_id.1", false),
        ] {
            assert_eq!(matches_segments(&pk, name.as_bytes()), expected, "{name}");
        }
        let mp = pattern("mp_<token>_mixpanel");
        assert!(matches_segments(&mp, b"mp_a_b_mixpanel"));
        assert!(!matches_segments(&mp, b"mp__mixpanel"));
        assert!(!matches_segments(&mp, b"mp_a_mixpanel_"));
        for (bad, error) in [
            ("", PatternError::Empty),
            ("<id>_x", PatternError::LeadingPlaceholder),
            ("a<id", PatternError::Placeholder),
            ("a<>", PatternError::Placeholder),
            ("a*b", PatternError::Star),
            ("a<id>*", PatternError::Star),
            ("a b", PatternError::Character(' ')),
        ] {
            assert_eq!(NamePattern::parse(bad), Err(error), "{bad:?}");
        }
    }

    #[test]
    fn patterns_with_placeholders() {
        let catalog = with_site_rules(&[]);
        let service = |name: &str| {
            catalog
                .classify(name.as_bytes())
                .and_then(|c| c.service.map(str::to_owned))
        };
        for (name, category, expected) in [
            ("_pk_id.1.a3f4", 2, "Matomo"),
            ("_pk_ses.12.ffe0", 2, "Matomo"),
            ("mp_0123abcd_mixpanel", 2, "Mixpanel"),
            ("AMP_a1b2c3d4e5", 2, "Amplitude"),
            ("AMP_MKTG_a1b2c3d4e5", 2, "Amplitude"),
            ("_hjSessionUser_123456", 2, "Hotjar"),
            ("_hp2_id.12345", 2, "Heap"),
            ("_ym12345_lastHit", 2, "Yandex Metrica"),
            ("intercom-id-abc123", 1, "Intercom"),
            ("_gcl_au", 3, "Google Ads"),
            ("_ga_ABC123", 2, "Google Analytics"),
            ("visid_incap_123", 0, "Load balancing and bot protection"),
            ("_myapp_session", 0, "Web framework sessions"),
            ("OptanonConsent", 0, "Consent managers"),
        ] {
            assert_eq!(category_of(&catalog, name), Some(category), "{name}");
            assert_eq!(service(name).as_deref(), Some(expected), "{name}");
        }
    }

    #[test]
    fn site_rules_override_built_in_ones() {
        let rules = site(&[
            ("_ga", "necessary"),
            ("_ga_SITE*", "preferences"),
            ("theme", "preferences"),
            ("ab_*", "analytics"),
            ("ab_test_*", "marketing"),
            ("ab_*", "preferences"),
            ("_hj*", "preferences"),
            ("_uetsid", "analytics"),
            ("_uetsid", "preferences"),
        ]);
        let catalog = with_site_rules(&rules);
        assert_eq!(category_of(&catalog, "_ga"), Some(0));
        assert_eq!(category_of(&catalog, "_ga_SITE1"), Some(1));
        assert_eq!(category_of(&catalog, "_ga_OTHER"), Some(2));
        assert_eq!(category_of(&catalog, "theme"), Some(1));
        assert_eq!(
            category_of(&catalog, "ab_x"),
            Some(1),
            "a later site rule replaces an earlier one"
        );
        assert_eq!(
            category_of(&catalog, "ab_test_1"),
            Some(3),
            "longest prefix wins"
        );
        // A site prefix beats built-in exact names and longer built-in prefixes it covers.
        assert_eq!(category_of(&catalog, "_hjid"), Some(1));
        assert_eq!(category_of(&catalog, "_hjSessionUser_1"), Some(1));
        assert_eq!(category_of(&catalog, "_uetsid"), Some(1));
        assert_eq!(
            category_of(&catalog, "_uetvid"),
            Some(3),
            "built-in rules stay"
        );
    }

    #[test]
    fn a_rule_applies_only_to_names_that_start_with_its_literal() {
        // `p_` ends the walk to `amp_` without starting it: it must not claim Amplitude's
        // cookies, nor `o_` those of `cto_`, whatever their rank.
        let rules = site(&[
            ("p_*", "necessary"),
            ("o_*", "necessary"),
            ("p_<id>x", "necessary"),
        ]);
        let catalog = with_site_rules(&rules);
        assert_eq!(category_of(&catalog, "amp_a1b2c3"), Some(2));
        assert_eq!(category_of(&catalog, "cto_bundle"), Some(3));
        assert_eq!(category_of(&catalog, "p_1"), Some(0));
        assert_eq!(category_of(&catalog, "amp_x"), Some(2));
    }

    #[test]
    fn a_site_pattern_beats_the_built_in_names_it_matches() {
        let rules = site(&[("_g<v>", "necessary"), ("__ut<v>", "preferences")]);
        let catalog = with_site_rules(&rules);
        assert_eq!(category_of(&catalog, "_gid"), Some(0));
        assert_eq!(category_of(&catalog, "__utma"), Some(1));
        assert_eq!(category_of(&catalog, "_ga"), Some(0));
        assert_eq!(
            category_of(&catalog, "_fbp"),
            Some(3),
            "not matched: built-in"
        );
    }

    #[test]
    fn site_rule_with_unknown_category_is_an_error() {
        let rules = site(&[("x", "social")]);
        let err = Catalog::compile(&rules, &[], &categories(), "consent", &Default::default())
            .unwrap_err();
        assert_eq!(&*err.category, "social");
    }
}
