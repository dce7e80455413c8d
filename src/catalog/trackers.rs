//! Rules that say which category a URL (host, and path where a host also serves other things)
//! or an inline script belongs to.
//!
//! Hosts match by label suffix: a rule for `google-analytics.com` covers `www.` and `ssl.` of
//! it, never `notgoogle-analytics.com`. The most specific host wins, then the longest path.
//! Inline scripts match by signature: strings found in the loader snippets trackers publish.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::consent::Categories;

use super::NameHasher;

type HostMap = HashMap<Box<[u8]>, Vec<PathRule>, BuildHasherDefault<NameHasher>>;

/// Rule hosts with their rules, longest host first.
type HostRules = Vec<(Box<[u8]>, Vec<PathRule>)>;

/// Rule hosts by the key of their last [`SUFFIX`] bytes.
type SuffixMap = HashMap<u64, HostRules, BuildHasherDefault<NameHasher>>;

/// How many trailing bytes of a host pick its bucket: every rule host at least this long lands
/// in the bucket of its own last bytes, which a host it covers shares. Seven covers almost
/// every built-in host; shorter ones (`t.co`, built in, and site rules) are compared one by
/// one.
const SUFFIX: usize = 7;

/// The key of a host's last [`SUFFIX`] bytes, or `None` when it is shorter. One word, read
/// without a scan for dots: finding the last two labels byte by byte cost more than the
/// rest of a lookup.
fn suffix_key(host: &[u8]) -> Option<u64> {
    if let Some(start) = host.len().checked_sub(SUFFIX + 1) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&host[start..]);
        // Little-endian: the first of the eight bytes is the lowest; shifted out.
        Some(u64::from_le_bytes(word) >> 8)
    } else if host.len() == SUFFIX {
        Some(
            host.iter()
                .rev()
                .fold(0u64, |word, b| word << 8 | u64::from(*b)),
        )
    } else {
        None
    }
}

/// Whether a rule for `rule_host` covers `host`: the same host, or one of its subdomains.
fn covers(host: &[u8], rule_host: &[u8]) -> bool {
    // The label boundary first: it turns most hosts of a bucket away without a comparison.
    match host.len().checked_sub(rule_host.len()) {
        Some(0) => host == rule_host,
        Some(start) => host[start - 1] == b'.' && host[start..] == *rule_host,
        None => false,
    }
}

/// The first (longest) of `rules` whose path prefixes `path`.
fn first_path_rule<'a>(rules: &'a [PathRule], path: &[u8]) -> Option<&'a PathRule> {
    // An empty path is tested apart: comparing with an empty boxed slice (a dangling pointer)
    // sent `memcmp` into a masked load of an unmapped page, a microcode assist of hundreds of
    // cycles on every host rule without a path.
    rules
        .iter()
        .find(|r| r.path.is_empty() || path.starts_with(&r.path))
}

/// The first rule of the first of `hosts` that covers `host` and has a rule for `path`.
fn first_host_rule<'a>(hosts: &'a HostRules, host: &[u8], path: &[u8]) -> Option<&'a PathRule> {
    hosts
        .iter()
        .filter(|(rule_host, _)| covers(host, rule_host))
        .find_map(|(_, rules)| first_path_rule(rules, path))
}

/// What a tracker rule says: a category (index in the layer's [`Categories`]) and a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TrackerMatch<'a> {
    pub(crate) category: usize,
    pub(crate) service: &'a str,
}

#[derive(Debug)]
struct PathRule {
    path: Box<[u8]>,
    category: usize,
    service: Box<str>,
    from_site: bool,
}

/// The site's own tracker rules: `(host, path, category, service)` (an empty host is the
/// page's own), `(text, category, service)`, and the built-in services switched off.
#[derive(Debug, Default)]
pub(crate) struct SiteTrackers {
    pub(crate) hosts: Vec<(String, String, String, Option<String>)>,
    pub(crate) signatures: Vec<(String, String, Option<String>)>,
    pub(crate) disabled: Vec<String>,
}

/// Compiled tracker rules of one layer.
#[derive(Debug)]
pub(crate) struct Trackers {
    /// The site's rules for its own host (relative URLs), longest path first.
    own_host: Vec<PathRule>,
    /// Rule hosts of at least [`SUFFIX`] bytes by their last ones: one lookup finds the few a
    /// host can match, longest host first, each with its rules, longest path first.
    by_suffix: SuffixMap,
    /// Shorter rule hosts (site rules such as `t.co`), longest first.
    short_hosts: HostRules,
    signatures: Option<AhoCorasick>,
    /// By the automaton's pattern id: category and service.
    signature_targets: Vec<(usize, Box<str>)>,
    /// By the automaton's pattern id: the signature's text.
    signature_texts: Vec<Box<str>>,
    /// Every category some signature belongs to.
    signature_categories: crate::consent::CategorySet,
}

impl Trackers {
    /// The built-in rules (from the catalog's data file) whose categories the layer has.
    #[cfg(test)]
    pub(crate) fn built_in(categories: &Categories) -> Trackers {
        match Self::compile(categories, &SiteTrackers::default()) {
            Ok(trackers) => trackers,
            Err(_) => unreachable!("no site rules, no unknown category"),
        }
    }

    /// The site's rules and the built-in ones (but the switched-off services'), with the
    /// site's first for the same host and path. A site rule naming an unknown category is an
    /// error; built-in rules of categories the site does not have are left out.
    pub(crate) fn compile(
        categories: &Categories,
        site: &SiteTrackers,
    ) -> Result<Trackers, super::UnknownRuleCategory> {
        let mut hosts = HostMap::default();
        let mut known: Vec<(&str, (usize, Box<str>))> = Vec::new();
        let unknown = |category: &str, rule: String| super::UnknownRuleCategory {
            rule,
            category: category.into(),
        };
        for (host, path, category, service) in &site.hosts {
            let index = categories
                .index_of(category)
                .ok_or_else(|| unknown(category, format!("hosts: {host}{path}")))?;
            hosts
                .entry(host.as_bytes().into())
                .or_default()
                .push(PathRule {
                    path: path.as_bytes().into(),
                    category: index,
                    service: service.as_deref().unwrap_or("-").into(),
                    from_site: true,
                });
        }
        for (text, category, service) in &site.signatures {
            let index = categories
                .index_of(category)
                .ok_or_else(|| unknown(category, format!("signatures: {text}")))?;
            known.push((
                text.as_str(),
                (index, service.as_deref().unwrap_or("-").into()),
            ));
        }
        for entry in super::data::built_in() {
            if site.disabled.contains(&entry.service) {
                continue;
            }
            let Some(category) = categories.index_of(&entry.category) else {
                continue;
            };
            for rule in &entry.hosts {
                let (host, path) = super::data::split_host(rule);
                hosts
                    .entry(host.as_bytes().into())
                    .or_default()
                    .push(PathRule {
                        path: path.as_bytes().into(),
                        category,
                        service: entry.service.as_str().into(),
                        from_site: false,
                    });
            }
            for signature in &entry.signatures {
                known.push((
                    signature.as_str(),
                    (category, entry.service.as_str().into()),
                ));
            }
        }
        for rules in hosts.values_mut() {
            // Longest path first; for the same path, the site's rule first.
            rules.sort_by_key(|r| (std::cmp::Reverse(r.path.len()), !r.from_site));
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(known.iter().map(|(sig, _)| sig));
        let signatures = match automaton {
            Ok(automaton) if !known.is_empty() => Some(automaton),
            Ok(_) => None,
            Err(error) => {
                tracing::error!(%error, "tower-consent: inline script signatures could not be compiled");
                None
            }
        };
        let signature_texts: Vec<Box<str>> = known.iter().map(|(text, _)| (*text).into()).collect();
        let signature_targets: Vec<(usize, Box<str>)> = known.into_iter().map(|(_, t)| t).collect();
        let signature_categories = signature_targets
            .iter()
            .fold(crate::consent::CategorySet::EMPTY, |set, (c, _)| {
                set.with(*c)
            });
        let own_host = hosts.remove(&b""[..]).unwrap_or_default();
        let mut by_suffix = SuffixMap::default();
        let mut short_hosts = HostRules::new();
        for (host, rules) in hosts {
            match suffix_key(&host) {
                Some(key) => by_suffix.entry(key).or_default().push((host, rules)),
                None => short_hosts.push((host, rules)),
            }
        }
        for bucket in by_suffix.values_mut().chain([&mut short_hosts]) {
            bucket.sort_by_key(|(host, _)| std::cmp::Reverse(host.len()));
        }
        Ok(Trackers {
            own_host,
            by_suffix,
            short_hosts,
            signatures,
            signature_targets,
            signature_texts,
            signature_categories,
        })
    }

    /// The rule for a URL's (lowercase) host and path: the most specific host suffix with a
    /// rule whose path prefixes `path`.
    pub(crate) fn classify_url(&self, host: &[u8], path: &[u8]) -> Option<TrackerMatch<'_>> {
        // The page's own host: only the site's rules without a host speak of it.
        let rule = if host.is_empty() {
            first_path_rule(&self.own_host, path)
        } else {
            // Rules of the bucket are all longer than the short ones: more specific, so first.
            let bucket = suffix_key(host).and_then(|key| self.by_suffix.get(&key));
            bucket
                .and_then(|hosts| first_host_rule(hosts, host, path))
                .or_else(|| first_host_rule(&self.short_hosts, host, path))
        }?;
        Some(TrackerMatch {
            category: rule.category,
            service: &rule.service,
        })
    }

    /// Whether the site has rules for its own host (relative URLs).
    pub(crate) fn has_own_host_rules(&self) -> bool {
        !self.own_host.is_empty()
    }

    /// The longest signature any inline script needs to be matched whole: text held back across
    /// a chunk boundary to find one cut in two.
    pub(crate) fn longest_signature(&self) -> usize {
        self.signatures
            .as_ref()
            .map_or(0, |ac| ac.max_pattern_len())
    }

    /// The first signature found in a script's text.
    #[cfg(test)]
    pub(crate) fn classify_script(&self, text: &[u8]) -> Option<TrackerMatch<'_>> {
        let found = self.signatures.as_ref()?.find(text)?;
        let (category, service) = self.signature_targets.get(found.pattern().as_usize())?;
        Some(TrackerMatch {
            category: *category,
            service,
        })
    }

    /// Of the signatures in `text` whose category is not in `allowed`, the one that ends first:
    /// its end offset, category and pattern id. Overlapping matches are all considered, so a
    /// signature of an allowed category cannot hide a denied one.
    pub(crate) fn first_denied(
        &self,
        text: &[u8],
        allowed: crate::consent::CategorySet,
    ) -> Option<(usize, usize, usize)> {
        let automaton = self.signatures.as_ref()?;
        if allowed.intersect(self.signature_categories) == crate::consent::CategorySet::EMPTY {
            // Every signature is denied (a visitor who has not consented): the first match,
            // which a standard search finds with its prefilter, is the one that ends first.
            let found = automaton.find(text)?;
            let pattern = found.pattern().as_usize();
            let (category, _) = self.signature_targets.get(pattern)?;
            return Some((found.end(), *category, pattern));
        }
        for found in automaton.find_overlapping_iter(text) {
            let pattern = found.pattern().as_usize();
            let Some((category, _)) = self.signature_targets.get(pattern) else {
                continue;
            };
            // Matches are reported in order of their end: the first denied one is the answer.
            if !allowed.contains(*category) {
                return Some((found.end(), *category, pattern));
            }
        }
        None
    }

    /// A signature's text and its rule, by pattern id.
    pub(crate) fn signature(&self, pattern: usize) -> Option<(&str, TrackerMatch<'_>)> {
        let (category, service) = self.signature_targets.get(pattern)?;
        let text = self.signature_texts.get(pattern)?;
        Some((
            text,
            TrackerMatch {
                category: *category,
                service,
            },
        ))
    }

    /// Whether any signature belongs to a category outside `allowed`: if none does, inline
    /// scripts need not be held for classification.
    pub(crate) fn signatures_outside(&self, allowed: crate::consent::CategorySet) -> bool {
        !allowed.contains_all(self.signature_categories)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(trackers: &Trackers, host: &str, path: &str) -> Option<usize> {
        trackers
            .classify_url(host.as_bytes(), path.as_bytes())
            .map(|m| m.category)
    }

    #[test]
    fn the_first_denied_signature_is_found_whatever_is_allowed() {
        let categories = Categories::standard();
        let trackers = Trackers::built_in(&categories);
        let index = |name: &str| categories.index_of(name).unwrap();
        let necessary = crate::consent::CategorySet::NECESSARY;
        // Google Ads' signature contains Google Analytics' one, which ends first.
        let text = b"gtag('config', 'AW-123'); fbq('init', '1');";
        let found = |allowed| {
            trackers
                .first_denied(text, allowed)
                .map(|(end, category, _)| (end, category))
        };
        // Nothing allowed: the shortest, analytics, ends first (the standard search).
        assert_eq!(found(necessary), Some((13, index("analytics"))));
        // Analytics allowed: it must not hide the Ads signature around it (overlapping).
        assert_eq!(
            found(necessary.with(index("analytics"))),
            Some((19, index("marketing")))
        );
        let everything = necessary
            .with(index("analytics"))
            .with(index("marketing"))
            .with(index("preferences"));
        assert_eq!(found(everything), None);
    }

    #[test]
    fn hosts_match_by_label_suffix_and_path() {
        let trackers = Trackers::built_in(&Categories::standard());
        assert_eq!(
            category(&trackers, "www.google-analytics.com", "/a.js"),
            Some(2)
        );
        assert_eq!(category(&trackers, "google-analytics.com", ""), Some(2));
        assert_eq!(category(&trackers, "notgoogle-analytics.com", "/"), None);
        assert_eq!(
            category(&trackers, "google-analytics.com.evil.test", "/"),
            None
        );
        assert_eq!(category(&trackers, "www.facebook.com", "/tr"), Some(3));
        assert_eq!(category(&trackers, "www.facebook.com", "/groups"), None);
        assert_eq!(
            category(&trackers, "www.google.com", "/recaptcha/api.js"),
            Some(0)
        );
        assert_eq!(
            category(&trackers, "www.google.com", "/maps/embed?pb=1"),
            Some(1)
        );
        assert_eq!(
            category(&trackers, "www.youtube.com", "/embed/xyz"),
            Some(3)
        );
        assert_eq!(category(&trackers, "", "/local.js"), None);
    }

    #[test]
    fn rule_hosts_of_every_length_match_only_their_subdomains() {
        // Around the bucket key's length: shorter rules are compared one by one, longer ones
        // found through the key of their last bytes, and the most specific still wins.
        let site = SiteTrackers {
            hosts: [
                ("t.co", "", "marketing"),
                ("abc.xyz", "", "analytics"),
                ("m.abc.xyz", "", "marketing"),
                ("stats.example.org", "/js/", "analytics"),
            ]
            .iter()
            .map(|(h, p, c)| (h.to_string(), p.to_string(), c.to_string(), None))
            .collect(),
            ..SiteTrackers::default()
        };
        let trackers = match Trackers::compile(&Categories::standard(), &site) {
            Ok(trackers) => trackers,
            Err(error) => panic!("{error:?}"),
        };
        let cases = [
            ("t.co", Some(3)),
            ("x.t.co", Some(3)),
            ("at.co", None),
            ("abc.xyz", Some(2)),
            ("www.abc.xyz", Some(2)),
            ("m.abc.xyz", Some(3)),
            ("a.m.abc.xyz", Some(3)),
            ("xabc.xyz", None),
            ("bc.xyz", None),
            ("stats.example.org", Some(2)),
            ("cdn.stats.example.org", Some(2)),
            ("example.org", None),
        ];
        for (host, expected) in cases {
            assert_eq!(category(&trackers, host, "/js/a.js"), expected, "{host}");
        }
        assert_eq!(category(&trackers, "stats.example.org", "/img"), None);
    }

    #[test]
    fn inline_signatures() {
        let trackers = Trackers::built_in(&Categories::standard());
        let gtm = "(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime()";
        assert_eq!(
            trackers.classify_script(gtm.as_bytes()).map(|m| m.service),
            Some("Google Tag Manager")
        );
        let pixel = "!function(f,b,e,v,n,t,s){}(window, document,'script','https://connect.facebook.net/en_US/fbevents.js');fbq('init', '1');";
        assert_eq!(
            trackers
                .classify_script(pixel.as_bytes())
                .map(|m| m.category),
            Some(3)
        );
        assert_eq!(
            trackers.classify_script(b"gtag('consent', 'default', {})"),
            None
        );
        assert_eq!(trackers.classify_script(b"console.log('hello')"), None);
    }
}
