//! Every visitor-facing text of the banner and the preferences page, per language: the built-in
//! eight from `texts.json`, with the site's overrides laid over them.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::consent::Categories;

/// One category's title and description, as the site overrides them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CategoryTexts {
    /// The category's name as visitors read it (`Analytics`).
    pub title: Option<String>,
    /// What allowing it means, in a sentence or two.
    pub description: Option<String>,
}

/// Declares the texts once: the overridable [`BannerTexts`], the complete [`Texts`], and the
/// list of keys that the hash of a wording and error messages walk.
macro_rules! texts {
    ($($(#[doc = $doc:literal])* $key:ident,)*) => {
        /// The visitor-facing texts of one language; every one is optional, and those given
        /// replace the built-in ones (`banner.texts.<language>` in the configuration file).
        /// A language the layer has no built-in texts for needs them all.
        #[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
        #[serde(default, deny_unknown_fields)]
        #[non_exhaustive]
        pub struct BannerTexts {
            /// `rtl` for a right-to-left language (Arabic, Hebrew, Persian and Urdu are
            /// recognised by their language tag); `ltr` otherwise.
            pub dir: Option<String>,
            $($(#[doc = $doc])* pub $key: Option<String>,)*
            /// Titles and descriptions by category name; the site's own categories need one.
            pub categories: BTreeMap<String, CategoryTexts>,
        }

        /// The complete texts of one language.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(crate) struct Texts {
            pub(crate) language: String,
            pub(crate) rtl: bool,
            $(pub(crate) $key: String,)*
            /// `(title, description)` by category index.
            pub(crate) categories: Vec<(String, String)>,
        }

        impl BannerTexts {
            /// `self` with every text `over` gives replacing its own.
            fn overlaid(mut self, over: &BannerTexts) -> BannerTexts {
                if over.dir.is_some() {
                    self.dir = over.dir.clone();
                }
                $(if over.$key.is_some() {
                    self.$key = over.$key.clone();
                })*
                for (name, texts) in &over.categories {
                    let entry = self.categories.entry(name.clone()).or_default();
                    if texts.title.is_some() {
                        entry.title = texts.title.clone();
                    }
                    if texts.description.is_some() {
                        entry.description = texts.description.clone();
                    }
                }
                self
            }

            /// The complete texts, or the first key missing.
            fn complete(
                self,
                language: &str,
                categories: &Categories,
                fallback: Option<&Texts>,
            ) -> Result<Texts, String> {
                let rtl = match self.dir.as_deref() {
                    Some("rtl") => true,
                    Some("ltr") => false,
                    Some(_) => return Err("dir".into()),
                    None => is_rtl(language),
                };
                let mut texts = Texts {
                    language: language.to_owned(),
                    rtl,
                    $($key: self.$key.ok_or(stringify!($key))?,)*
                    categories: Vec::new(),
                };
                for (index, category) in categories.iter() {
                    // Given here, else the fallback language's, else the category's own name
                    // (a site category nobody described).
                    let given = self.categories.get(category.as_str());
                    let theirs = fallback.and_then(|f| f.categories.get(index));
                    let title = given
                        .and_then(|g| g.title.clone())
                        .or_else(|| theirs.map(|t| t.0.clone()))
                        .unwrap_or_else(|| capitalised(category.as_str()));
                    let description = given
                        .and_then(|g| g.description.clone())
                        .or_else(|| theirs.map(|t| t.1.clone()))
                        .unwrap_or_default();
                    texts.categories.push((title, description));
                }
                Ok(texts)
            }
        }

        impl Texts {
            /// Every text with its key, in a fixed order.
            pub(crate) fn entries(&self) -> Vec<(String, &str)> {
                let mut entries = vec![("dir".to_owned(), if self.rtl { "rtl" } else { "ltr" })];
                $(entries.push((stringify!($key).to_owned(), self.$key.as_str()));)*
                for (index, (title, description)) in self.categories.iter().enumerate() {
                    entries.push((format!("categories.{index}.title"), title.as_str()));
                    entries.push((format!("categories.{index}.description"), description.as_str()));
                }
                entries
            }
        }
    };
}

texts! {
    /// The banner's heading.
    title,
    /// The banner's text: what is used and why, in a few sentences.
    text,
    /// The privacy policy link's text.
    privacy_policy,
    /// The button that allows every category.
    accept_all,
    /// The button that refuses every optional category.
    reject_all,
    /// The banner's link to the preferences page.
    settings,
    /// Said when the browser sends Global Privacy Control; `{categories}` is replaced by the
    /// titles of the categories it keeps off.
    gpc_notice,
    /// The preferences page's heading (and title).
    preferences_title,
    /// The preferences page's introduction.
    preferences_intro,
    /// The preferences page's button that saves the boxes as ticked.
    save,
    /// Beside the necessary category, which cannot be switched off.
    always_on,
    /// Before the list of a category's services.
    services,
    /// The preferences page's link back to where the visitor came from.
    back,
    /// The small link injected for visitors who decided, and the name of the page it opens.
    settings_link,
    /// The link at the start of a page with the banner, shown when focused, that takes a
    /// keyboard user to the banner at its end.
    skip,
}

/// The built-in languages, in the order they are offered by default.
pub(crate) const BUILT_IN_LANGUAGES: [&str; 8] = ["en", "nl", "de", "fr", "es", "it", "pl", "pt"];

fn built_in() -> &'static BTreeMap<String, BannerTexts> {
    static TEXTS: OnceLock<BTreeMap<String, BannerTexts>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        // The file is part of the crate and checked by a test; an error here is a build bug.
        serde_json::from_str(include_str!("texts.json")).unwrap_or_else(|error| {
            tracing::error!(%error, "tower-consent: the built-in banner texts do not parse");
            BTreeMap::new()
        })
    })
}

/// `social` → `Social`.
fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Languages written right to left, by their primary subtag.
fn is_rtl(language: &str) -> bool {
    let primary = language.split('-').next().unwrap_or(language);
    matches!(
        primary,
        "ar" | "he" | "fa" | "ur" | "ps" | "yi" | "dv" | "ckb"
    )
}

/// The complete texts of `language`: built-in texts (for a built-in language) under the site's
/// `overrides`. Category texts the site does not give come from `fallback` (the default
/// language's) for the site's own categories. `Err` names the first missing key.
pub(crate) fn compile(
    language: &str,
    overrides: Option<&BannerTexts>,
    categories: &Categories,
    fallback: Option<&Texts>,
) -> Result<Texts, String> {
    let base = built_in().get(language).cloned().unwrap_or_default();
    let merged = match overrides {
        Some(over) => base.overlaid(over),
        None => base,
    };
    merged.complete(language, categories, fallback)
}

/// The hash that identifies a wording: the policy revision and the privacy policy's address
/// with every text of one language.
/// Recorded with each choice, so a site can show what a visitor was shown.
pub(crate) fn wording_hash(revision: u32, privacy_policy: Option<&str>, texts: &Texts) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"tower-consent wording 1\n");
    hasher.update(format!("revision={revision}\nlanguage={}\n", texts.language).as_bytes());
    hasher.update(format!("privacy_policy={}\n", privacy_policy.unwrap_or("")).as_bytes());
    for (key, value) in texts.entries() {
        hasher.update(key.as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_language_is_complete() {
        let categories = Categories::standard();
        assert_eq!(built_in().len(), BUILT_IN_LANGUAGES.len());
        for language in BUILT_IN_LANGUAGES {
            let texts = compile(language, None, &categories, None)
                .unwrap_or_else(|missing| panic!("{language}: {missing} missing"));
            assert_eq!(texts.categories.len(), 4, "{language}");
            assert!(texts.gpc_notice.contains("{categories}"), "{language}");
            for (key, value) in texts.entries() {
                assert!(!value.trim().is_empty(), "{language}.{key} is empty");
            }
        }
    }

    #[test]
    fn dutch_reads_like_a_dutch_banner() {
        let texts = compile("nl", None, &Categories::standard(), None).unwrap();
        assert_eq!(texts.accept_all, "Ja, ik geef toestemming");
        assert_eq!(texts.reject_all, "Nee, bedankt");
    }

    #[test]
    fn overrides_replace_single_texts() {
        let over = BannerTexts {
            accept_all: Some("Prima".into()),
            ..BannerTexts::default()
        };
        let texts = compile("nl", Some(&over), &Categories::standard(), None).unwrap();
        assert_eq!(texts.accept_all, "Prima");
        assert_eq!(texts.reject_all, "Nee, bedankt");
    }

    #[test]
    fn a_new_language_needs_every_text() {
        let categories = Categories::standard();
        let english = compile("en", None, &categories, None).unwrap();
        let partial = BannerTexts {
            title: Some("Evästeet".into()),
            ..BannerTexts::default()
        };
        assert_eq!(
            compile("fi", Some(&partial), &categories, Some(&english)),
            Err("text".into())
        );
        assert_eq!(
            compile("sv", None, &categories, Some(&english)),
            Err("title".into())
        );
    }

    #[test]
    fn right_to_left_by_tag_or_setting() {
        assert!(is_rtl("ar") && is_rtl("he-IL") && !is_rtl("en") && !is_rtl("fr-CA"));
        let categories = Categories::standard();
        // A complete language of the site's own: the English texts under another tag.
        let complete = BannerTexts {
            title: Some("ملفات تعريف الارتباط".into()),
            ..built_in()["en"].clone()
        };
        assert!(
            compile("ar", Some(&complete), &categories, None)
                .unwrap()
                .rtl
        );
        let forced = BannerTexts {
            dir: Some("ltr".into()),
            ..complete.clone()
        };
        assert!(!compile("ar", Some(&forced), &categories, None).unwrap().rtl);
        let wrong = BannerTexts {
            dir: Some("sideways".into()),
            ..complete
        };
        assert_eq!(
            compile("ar", Some(&wrong), &categories, None),
            Err("dir".into())
        );
    }

    #[test]
    fn the_hash_changes_with_any_text_and_the_revision() {
        let categories = Categories::standard();
        let texts = compile("en", None, &categories, None).unwrap();
        let hash = wording_hash(1, None, &texts);
        assert_eq!(hash.len(), 32);
        assert_eq!(hash, wording_hash(1, None, &texts));
        assert_ne!(hash, wording_hash(2, None, &texts));
        assert_ne!(hash, wording_hash(1, Some("/privacy"), &texts));
        let mut changed = texts.clone();
        changed.categories[2].1.push('!');
        assert_ne!(hash, wording_hash(1, None, &changed));
    }
}
