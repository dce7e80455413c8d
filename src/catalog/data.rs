//! The built-in catalog: `built_in.json`, one entry per service, the single source of truth for
//! the cookies, hosts and inline-script signatures the layer knows, and for `CATALOG.md`.

use std::sync::OnceLock;

use serde::Deserialize;

/// One service of the built-in catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub(crate) service: String,
    pub(crate) vendor: String,
    pub(crate) category: String,
    /// A line a visitor can understand.
    pub(crate) purpose: String,
    /// Names: exact, `prefix*`, or patterns with `<placeholders>` (`_ga_<id>`).
    pub(crate) cookies: Vec<String>,
    /// `host` or `host/path-prefix`; a host covers its subdomains.
    pub(crate) hosts: Vec<String>,
    /// Strings only the service's loader snippets contain.
    pub(crate) signatures: Vec<String>,
}

pub(crate) const BUILT_IN: &str = include_str!("built_in.json");

/// The built-in entries, parsed once. A file that does not parse (a test guards against it)
/// leaves the catalog empty, with an error logged, rather than failing every layer.
pub(crate) fn built_in() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        serde_json::from_str(BUILT_IN).unwrap_or_else(|error| {
            tracing::error!(%error, "tower-consent: the built-in catalog does not parse");
            Vec::new()
        })
    })
}

/// The built-in catalog as a Markdown table: what `CATALOG.md` holds.
pub(crate) fn markdown() -> String {
    let mut out = String::from(
        "# Built-in catalog\n\n\
         What the layer knows without configuration: generated from `src/catalog/built_in.json` by \
         `cargo run --example inspect -- catalog` (a test keeps this file equal to its output). \
         Cookie names: `name` exact, `prefix*`, `<placeholder>` one or more characters. Hosts \
         cover their subdomains; `host/path` only that path. Signatures are found in the text of \
         inline scripts.\n\n\
         | Category | Service | Vendor | Purpose | Cookies | Hosts | Inline signatures |\n\
         |---|---|---|---|---|---|---|\n",
    );
    let order = ["necessary", "preferences", "analytics", "marketing"];
    let mut entries: Vec<&Entry> = built_in().iter().collect();
    entries.sort_by_key(|e| {
        (
            order
                .iter()
                .position(|c| *c == e.category)
                .unwrap_or(order.len()),
            e.service.to_lowercase(),
        )
    });
    let list = |items: &[String]| {
        if items.is_empty() {
            return "–".to_string();
        }
        items
            .iter()
            .map(|i| format!("`{}`", i.replace('|', "\\|")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for e in entries {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            e.category,
            e.service,
            e.vendor,
            e.purpose,
            list(&e.cookies),
            list(&e.hosts),
            list(&e.signatures)
        ));
    }
    out
}

/// A host rule's host and path prefix.
pub(crate) fn split_host(rule: &str) -> (&str, &str) {
    match rule.find('/') {
        Some(slash) => (&rule[..slash], &rule[slash..]),
        None => (rule, ""),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::catalog::NamePattern;

    #[test]
    fn the_built_in_catalog_is_valid() {
        let entries: Vec<Entry> = serde_json::from_str(BUILT_IN).expect("built_in.json parses");
        assert!(entries.len() >= 40, "{} services", entries.len());
        let categories = ["necessary", "preferences", "analytics", "marketing"];
        let mut services = HashSet::new();
        let mut cookies = HashSet::new();
        for entry in &entries {
            assert!(
                categories.contains(&entry.category.as_str()),
                "{}",
                entry.service
            );
            assert!(
                services.insert(entry.service.clone()),
                "duplicate {}",
                entry.service
            );
            assert!(
                !entry.purpose.is_empty() && entry.purpose.ends_with('.'),
                "{}",
                entry.service
            );
            for cookie in &entry.cookies {
                assert!(
                    NamePattern::parse(cookie).is_ok(),
                    "{}: {cookie}",
                    entry.service
                );
                assert!(cookies.insert(cookie.clone()), "{cookie} listed twice");
            }
            for host in &entry.hosts {
                let (name, path) = split_host(host);
                assert!(
                    !name.is_empty()
                        && name.bytes().all(|b| b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || b == b'.'
                            || b == b'-'),
                    "{}: {host}",
                    entry.service
                );
                assert!(path.is_empty() || path.starts_with('/'), "{host}");
            }
        }
    }
}

#[cfg(test)]
mod catalog_file {
    /// `CATALOG.md` is what `inspect catalog` prints: regenerate it when the data file changes.
    #[test]
    fn catalog_md_is_the_generated_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("CATALOG.md");
        let on_disk = std::fs::read_to_string(&path).expect("CATALOG.md exists");
        assert!(
            on_disk == super::markdown(),
            "CATALOG.md is stale: run `cargo run --example inspect -- catalog > CATALOG.md`"
        );
    }
}

#[cfg(test)]
mod coverage {
    use crate::catalog::{Catalog, built_in_rules};
    use crate::consent::Categories;

    /// The target: at least 95% of the cookies its services set on a site's own domain
    /// are classified into the right category (the list is `tests/fixtures/`, written from the
    /// vendors' documentation; `scripts/catalog_coverage.py` checks against the Open Cookie
    /// Database too).
    #[test]
    fn first_party_tracker_cookies_are_classified() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/first-party-tracker-cookies.tsv");
        let list = std::fs::read_to_string(path).unwrap();
        let categories = Categories::standard();
        let catalog = Catalog::compile(
            &[],
            &built_in_rules(&[]),
            &categories,
            "consent",
            &Default::default(),
        )
        .unwrap();
        let (mut total, mut right, mut wrong) = (0, 0, Vec::new());
        for line in list
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let fields: Vec<&str> = line.split('\t').collect();
            let [service, category, name] = fields[..] else {
                panic!("bad line {line:?}");
            };
            total += 1;
            let found = catalog.classify(name.as_bytes());
            let got = found
                .and_then(|f| categories.name(f.category))
                .map(|c| c.as_str());
            if got == Some(category) && found.and_then(|f| f.service) == Some(service) {
                right += 1;
            } else {
                wrong.push(format!(
                    "{name}: {got:?} {:?}",
                    found.and_then(|f| f.service)
                ));
            }
        }
        assert!(total >= 120, "{total} cookies listed");
        assert!(
            right * 100 >= total * 95,
            "{right}/{total} right; wrong: {wrong:?}"
        );
        assert!(
            wrong.is_empty(),
            "every listed cookie should be right: {wrong:?}"
        );
    }
}
