//! Rules that say which category a cookie belongs to, compiled once into matchers.
//!
//! Two rule sets are consulted in order: the site's own declarations, then the built-in list of
//! well-known trackers. Within a set an exact name beats a prefix, and a longer prefix beats a
//! shorter one. The layer's own consent cookie is always `necessary`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::consent::Categories;

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

/// One compiled rule set.
#[derive(Debug, Default)]
struct Matcher {
    exact: HashMap<Box<str>, Target>,
    /// Longest first, so the first hit is the most specific.
    prefixes: Vec<(Box<str>, Target)>,
}

impl Matcher {
    fn find(&self, name: &str) -> Option<Target> {
        if let Some(target) = self.exact.get(name) {
            return Some(*target);
        }
        self.prefixes
            .iter()
            .find(|(prefix, _)| name.starts_with(&**prefix))
            .map(|(_, target)| *target)
    }
}

/// The compiled cookie rules of one layer.
#[derive(Debug)]
pub(crate) struct Catalog {
    site: Matcher,
    built_in: Matcher,
    services: Vec<Arc<str>>,
    consent_cookie: Box<str>,
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
    pub(crate) fn compile(
        site_rules: &[CookieRule],
        built_in_rules: &[CookieRule],
        categories: &Categories,
        consent_cookie: &str,
    ) -> Result<Self, UnknownRuleCategory> {
        let mut services: Vec<Arc<str>> = Vec::new();
        let mut compile = |rules: &[CookieRule], strict: bool| {
            let mut matcher = Matcher::default();
            for rule in rules {
                let Some(category) = categories.index_of(&rule.category) else {
                    if strict {
                        return Err(UnknownRuleCategory {
                            pattern: rule.pattern.clone(),
                            category: rule.category.clone(),
                        });
                    }
                    continue;
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
                    // A later declaration of the same name replaces an earlier one.
                    NamePattern::Exact(name) => {
                        matcher.exact.insert(name.clone(), target);
                    }
                    NamePattern::Prefix(prefix) => {
                        matcher.prefixes.retain(|(p, _)| p != prefix);
                        matcher.prefixes.push((prefix.clone(), target));
                    }
                }
            }
            matcher
                .prefixes
                .sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()));
            Ok(matcher)
        };
        let site = compile(site_rules, true)?;
        let built_in = compile(built_in_rules, false)?;
        Ok(Catalog {
            site,
            built_in,
            services,
            consent_cookie: consent_cookie.into(),
        })
    }

    /// The category (and service) a cookie name belongs to, or `None` when no rule knows it.
    pub(crate) fn classify(&self, name: &str) -> Option<Classification<'_>> {
        if name == &*self.consent_cookie {
            return Some(Classification {
                category: 0,
                service: None,
            });
        }
        let target = self.site.find(name).or_else(|| self.built_in.find(name))?;
        Some(Classification {
            category: target.category,
            service: target.service.and_then(|i| self.services.get(i)).map(|s| &**s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;
    use crate::consent::CategorySet;

    fn categories() -> Categories {
        Categories::new(
            vec![Category::PREFERENCES, Category::ANALYTICS, Category::MARKETING],
            CategorySet::EMPTY,
        )
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
        catalog.classify(name).map(|c| c.category)
    }

    #[test]
    fn built_in_exact_and_prefix_names() {
        let catalog = Catalog::compile(&[], &built_in_rules(), &categories(), "consent").unwrap();
        assert_eq!(category_of(&catalog, "_ga"), Some(2));
        assert_eq!(category_of(&catalog, "_ga_ABC123"), Some(2));
        assert_eq!(category_of(&catalog, "_fbp"), Some(3));
        assert_eq!(
            catalog.classify("_gcl_au").and_then(|c| c.service),
            Some("Google Ads")
        );
        assert_eq!(category_of(&catalog, "consent"), Some(0));
        for look_alike in ["_gateway_session", "_gallery_view", "_gax", "sid", "_g", "ga"] {
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
        ]);
        let catalog = Catalog::compile(&rules, &built_in_rules(), &categories(), "consent").unwrap();
        assert_eq!(category_of(&catalog, "_ga"), Some(0));
        assert_eq!(category_of(&catalog, "_ga_SITE1"), Some(1));
        assert_eq!(category_of(&catalog, "_ga_OTHER"), Some(2));
        assert_eq!(category_of(&catalog, "theme"), Some(1));
        assert_eq!(category_of(&catalog, "ab_x"), Some(2));
        assert_eq!(category_of(&catalog, "ab_test_1"), Some(3), "longest prefix wins");
    }

    #[test]
    fn site_rule_with_unknown_category_is_an_error() {
        let rules = site(&[("x", "social")]);
        let err = Catalog::compile(&rules, &[], &categories(), "consent").unwrap_err();
        assert_eq!(&*err.category, "social");
    }
}
