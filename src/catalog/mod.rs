//! Rules that say which category a cookie belongs to, compiled once into matchers.
//!
//! Two rule sets are consulted in order: the site's own declarations, then the built-in list of
//! well-known trackers. Within a set an exact name beats a prefix, and a longer prefix beats a
//! shorter one. The layer's own consent cookie is always `necessary`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, Input, MatchKind, StartKind};

use crate::consent::Categories;

pub(crate) mod trackers;

/// How a rule matches a cookie name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NamePattern {
    Exact(Box<str>),
    Prefix(Box<str>),
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

/// The built-in tracker cookies: `(pattern, category, service)`. A prefix ends in `*`.
///
/// Deliberately short for now: the broad catalog is its own piece of work. Prefixes are kept
/// long enough that look-alikes (`_gateway_session`, `_gallery`) are not caught.
const BUILT_IN: &[(&str, &str, &str)] = &[
    ("_ga", "analytics", "Google Analytics"),
    ("_ga_*", "analytics", "Google Analytics"),
    ("_gid", "analytics", "Google Analytics"),
    ("_gat", "analytics", "Google Analytics"),
    ("_gat_*", "analytics", "Google Analytics"),
    ("_gcl_*", "marketing", "Google Ads"),
    ("IDE", "marketing", "Google Ads (DoubleClick)"),
    ("_fbp", "marketing", "Meta Pixel"),
    ("_fbc", "marketing", "Meta Pixel"),
    ("_hjid", "analytics", "Hotjar"),
    ("_hjSessionUser_*", "analytics", "Hotjar"),
    ("_hjSession_*", "analytics", "Hotjar"),
    ("_clck", "analytics", "Microsoft Clarity"),
    ("_clsk", "analytics", "Microsoft Clarity"),
    ("_uetsid", "marketing", "Microsoft Advertising (Bing UET)"),
    ("_uetvid", "marketing", "Microsoft Advertising (Bing UET)"),
    ("li_fat_id", "marketing", "LinkedIn Insight"),
    ("_ttp", "marketing", "TikTok Pixel"),
    ("_pk_id.*", "analytics", "Matomo"),
    ("_pk_ses.*", "analytics", "Matomo"),
];

pub(crate) fn built_in_rules() -> Vec<CookieRule> {
    BUILT_IN
        .iter()
        .map(|(pattern, category, service)| CookieRule {
            pattern: NamePattern::parse(pattern),
            category: (*category).into(),
            service: Some((*service).into()),
        })
        .collect()
}

impl NamePattern {
    /// `name` for an exact name, `prefix*` for a prefix.
    pub(crate) fn parse(pattern: &str) -> Self {
        match pattern.strip_suffix('*') {
            Some(prefix) => NamePattern::Prefix(prefix.into()),
            None => NamePattern::Exact(pattern.into()),
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

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Cookie name rules compiled for lookup: a hash map of exact names, and an anchored
/// leftmost-longest automaton over the prefixes, so one pass over the name finds its longest
/// matching prefix however many prefixes there are.
#[derive(Debug)]
struct Matcher {
    exact: HashMap<Box<[u8]>, Target, BuildHasherDefault<NameHasher>>,
    prefixes: Option<AhoCorasick>,
    /// By the automaton's pattern id.
    prefix_targets: Vec<Target>,
}

impl Matcher {
    fn new(
        exact: HashMap<Box<[u8]>, Target, BuildHasherDefault<NameHasher>>,
        prefixes: Vec<(Box<str>, Target)>,
    ) -> Self {
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Anchored)
            .kind(Some(AhoCorasickKind::DFA))
            .build(prefixes.iter().map(|(p, _)| p.as_bytes()));
        let prefixes_automaton = match automaton {
            Ok(automaton) if !prefixes.is_empty() => Some(automaton),
            Ok(_) => None,
            // Only a pattern set far beyond any catalog's size can fail to build; fall back
            // to exact names rather than failing the layer.
            Err(error) => {
                tracing::error!(%error, "tower-consent: cookie prefix rules could not be compiled");
                None
            }
        };
        Matcher {
            exact,
            prefixes: prefixes_automaton,
            prefix_targets: prefixes.into_iter().map(|(_, t)| t).collect(),
        }
    }

    fn find(&self, name: &[u8]) -> Option<Target> {
        if let Some(target) = self.exact.get(name) {
            return Some(*target);
        }
        let found = self
            .prefixes
            .as_ref()?
            .find(Input::new(name).anchored(Anchored::Yes))?;
        self.prefix_targets.get(found.pattern().as_usize()).copied()
    }
}

/// The compiled cookie rules of one layer.
#[derive(Debug)]
pub(crate) struct Catalog {
    /// Site and built-in rules merged so that one lookup answers as if the site's rules were
    /// consulted first (see [`Catalog::compile`]).
    matcher: Matcher,
    services: Vec<Arc<str>>,
    consent_cookie: Box<str>,
    /// Hosts and inline-script signatures.
    pub(crate) trackers: trackers::Trackers,
}

/// A rule names a category the layer does not have.
#[derive(Debug)]
pub(crate) struct UnknownRuleCategory {
    pub(crate) pattern: NamePattern,
    pub(crate) category: Box<str>,
}

impl Catalog {
    /// Compiles the site's rules and the built-in ones. Built-in rules whose category the site
    /// does not have are dropped; a site rule naming an unknown category is an error.
    ///
    /// The site's rules take precedence: a built-in exact name is replaced by a site rule for
    /// the same name, and a built-in name or prefix that a site prefix covers is dropped. What
    /// remains is one matcher where an exact name beats a prefix and a longer prefix beats a
    /// shorter one, which then answers exactly as "site rules first, built-in ones second".
    pub(crate) fn compile(
        site_rules: &[CookieRule],
        built_in_rules: &[CookieRule],
        categories: &Categories,
        consent_cookie: &str,
    ) -> Result<Self, UnknownRuleCategory> {
        let site_prefixes: Vec<&str> = site_rules
            .iter()
            .filter_map(|rule| match &rule.pattern {
                NamePattern::Prefix(prefix) => Some(&**prefix),
                NamePattern::Exact(_) => None,
            })
            .collect();
        let covered_by_site = |pattern: &NamePattern| {
            let (NamePattern::Exact(name) | NamePattern::Prefix(name)) = pattern;
            site_prefixes.iter().any(|p| name.starts_with(p))
        };
        let mut services: Vec<Arc<str>> = Vec::new();
        let mut exact: HashMap<Box<[u8]>, Target, _> = HashMap::default();
        let mut prefixes: Vec<(Box<str>, Target)> = Vec::new();
        let mut add = |rule: &CookieRule, from_site: bool| -> Result<(), UnknownRuleCategory> {
            let Some(category) = categories.index_of(&rule.category) else {
                if from_site {
                    return Err(UnknownRuleCategory {
                        pattern: rule.pattern.clone(),
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
                NamePattern::Prefix(prefix) => {
                    if let Some(existing) = prefixes.iter_mut().find(|(p, _)| p == prefix) {
                        if from_site {
                            existing.1 = target;
                        }
                    } else {
                        prefixes.push((prefix.clone(), target));
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
        let matcher = Matcher::new(exact, prefixes);
        Ok(Catalog {
            matcher,
            services,
            consent_cookie: consent_cookie.into(),
            trackers: trackers::Trackers::built_in(categories),
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
        let target = self.matcher.find(name)?;
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
                pattern: NamePattern::parse(p),
                category: (*c).into(),
                service: None,
            })
            .collect()
    }

    fn category_of(catalog: &Catalog, name: &str) -> Option<usize> {
        catalog.classify(name.as_bytes()).map(|c| c.category)
    }

    #[test]
    fn built_in_exact_and_prefix_names() {
        let catalog = Catalog::compile(&[], &built_in_rules(), &categories(), "consent").unwrap();
        assert_eq!(category_of(&catalog, "_ga"), Some(2));
        assert_eq!(category_of(&catalog, "_ga_ABC123"), Some(2));
        assert_eq!(category_of(&catalog, "_fbp"), Some(3));
        assert_eq!(
            catalog.classify(b"_gcl_au").and_then(|c| c.service),
            Some("Google Ads")
        );
        assert_eq!(category_of(&catalog, "consent"), Some(0));
        for look_alike in [
            "_gateway_session",
            "_gallery_view",
            "_gax",
            "sid",
            "_g",
            "ga",
        ] {
            assert_eq!(category_of(&catalog, look_alike), None, "{look_alike}");
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
        let catalog =
            Catalog::compile(&rules, &built_in_rules(), &categories(), "consent").unwrap();
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
    fn site_rule_with_unknown_category_is_an_error() {
        let rules = site(&[("x", "social")]);
        let err = Catalog::compile(&rules, &[], &categories(), "consent").unwrap_err();
        assert_eq!(&*err.category, "social");
    }
}
