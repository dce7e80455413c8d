//! What a visitor allowed: [`Category`], [`Consent`] and the set types behind them.
//!
//! Pure data: nothing here knows about HTTP. The layer builds a [`Consent`] for every request
//! from the consent cookie and the `Sec-GPC` header, and hands it to handlers through the
//! request extensions.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Settings;
use crate::request::ConsentCookies;

/// The most categories a site can have, `necessary` included (a set of them is one `u64`).
pub const MAX_CATEGORIES: usize = 64;

/// A consent category: `necessary`, `preferences`, `analytics`, `marketing`, or one the site
/// defines.
///
/// A name is 1 to 32 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter, so that it
/// can stand in the consent cookie, a form field and a CSS class without escaping.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(Cow<'static, str>);

impl Category {
    /// Strictly necessary: always allowed, cannot be refused.
    pub const NECESSARY: Category = Category(Cow::Borrowed("necessary"));
    /// Remembering the visitor's choices (language, layout) beyond what the service needs.
    pub const PREFERENCES: Category = Category(Cow::Borrowed("preferences"));
    /// Audience measurement and product analytics.
    pub const ANALYTICS: Category = Category(Cow::Borrowed("analytics"));
    /// Advertising, retargeting, and sharing data with third parties.
    pub const MARKETING: Category = Category(Cow::Borrowed("marketing"));

    /// A category with the given name.
    ///
    /// ```
    /// use tower_consent::Category;
    /// assert_eq!(Category::new("social").unwrap().as_str(), "social");
    /// assert!(Category::new("Social Media").is_err());
    /// ```
    pub fn new(name: impl Into<Cow<'static, str>>) -> Result<Self, InvalidCategoryName> {
        let name = name.into();
        if is_valid_name(&name) {
            Ok(Category(name))
        } else {
            Err(InvalidCategoryName(name.into_owned()))
        }
    }

    /// The category's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=32).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
}

impl AsRef<str> for Category {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category name that is not 1 to 32 characters of `a-z`, `0-9`, `_`, `-` starting with a
/// letter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid category name {0:?}: use 1 to 32 characters of a-z, 0-9, '_' and '-', starting with a letter"
)]
pub struct InvalidCategoryName(pub String);

/// A set of categories, by their index in a [`Categories`] table.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct CategorySet(u64);

impl CategorySet {
    pub(crate) const EMPTY: CategorySet = CategorySet(0);
    /// Just `necessary`, which is always index 0.
    pub(crate) const NECESSARY: CategorySet = CategorySet(1);

    pub(crate) fn with(self, index: usize) -> Self {
        CategorySet(self.0 | (1 << index))
    }

    pub(crate) fn contains(self, index: usize) -> bool {
        index < MAX_CATEGORIES && self.0 & (1 << index) != 0
    }

    pub(crate) fn contains_all(self, other: Self) -> bool {
        other.minus(self).0 == 0
    }

    pub(crate) fn union(self, other: Self) -> Self {
        CategorySet(self.0 | other.0)
    }

    pub(crate) fn minus(self, other: Self) -> Self {
        CategorySet(self.0 & !other.0)
    }

    pub(crate) fn intersect(self, other: Self) -> Self {
        CategorySet(self.0 & other.0)
    }

    pub(crate) fn len(self) -> u32 {
        self.0.count_ones()
    }

    pub(crate) fn bits(self) -> u64 {
        self.0
    }

    pub(crate) fn indices(self) -> impl Iterator<Item = usize> {
        (0..MAX_CATEGORIES).filter(move |i| self.contains(*i))
    }
}

impl fmt::Debug for CategorySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CategorySet({:#b})", self.0)
    }
}

/// The site's categories in a fixed order: `necessary` first, then the optional ones.
///
/// Built once with the layer and shared by every [`Consent`] it hands out.
#[derive(Debug)]
pub(crate) struct Categories {
    names: Vec<Category>,
    /// Categories that count as "sale or sharing" for Global Privacy Control.
    sale_share: CategorySet,
}

impl Categories {
    /// `optional` must not contain `necessary` or duplicates, and holds at most 63 names
    /// (checked by the configuration).
    pub(crate) fn new(optional: Vec<Category>, sale_share: CategorySet) -> Self {
        let mut names = Vec::with_capacity(optional.len() + 1);
        names.push(Category::NECESSARY);
        names.extend(optional);
        Categories { names, sale_share }
    }

    /// `preferences`, `analytics`, `marketing`, with `marketing` as the GPC category: the
    /// defaults, for unit tests that need a table without building a layer.
    #[cfg(test)]
    pub(crate) fn standard() -> Self {
        let optional = vec![
            Category::PREFERENCES,
            Category::ANALYTICS,
            Category::MARKETING,
        ];
        Categories::new(optional, CategorySet::EMPTY.with(3))
    }

    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.index_of_bytes(name.as_bytes())
    }

    pub(crate) fn index_of_bytes(&self, name: &[u8]) -> Option<usize> {
        self.names
            .iter()
            .position(|c| c.as_str().as_bytes() == name)
    }

    pub(crate) fn name(&self, index: usize) -> Option<&Category> {
        self.names.get(index)
    }

    pub(crate) fn all(&self) -> CategorySet {
        (0..self.names.len()).fold(CategorySet::EMPTY, CategorySet::with)
    }

    pub(crate) fn sale_share(&self) -> CategorySet {
        self.sale_share
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &Category)> {
        self.names.iter().enumerate()
    }
}

/// A consent id: 128 random bits, written as 32 lowercase hexadecimal digits.
///
/// It names one recorded choice, so that the cookie in a visitor's browser can be matched with
/// the record in the [`ConsentSink`](crate::ConsentSink).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConsentId([u64; 2]);

impl ConsentId {
    /// Two halves rather than a `u128`, whose 16-byte alignment would pad every `Consent`.
    pub(crate) fn from_u128(id: u128) -> Self {
        ConsentId([(id >> 64) as u64, id as u64])
    }

    pub(crate) fn as_u128(self) -> u128 {
        u128::from(self.0[0]) << 64 | u128::from(self.0[1])
    }

    /// The id as 32 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        format!("{:032x}", self.as_u128())
    }
}

impl fmt::Display for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.as_u128())
    }
}

impl fmt::Debug for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsentId({self})")
    }
}

/// The facts of a recorded choice, as stored in the consent cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The optional categories the visitor allowed (never includes `necessary`).
    pub(crate) granted: CategorySet,
    pub(crate) revision: u32,
    /// Seconds since the Unix epoch.
    pub(crate) decided_at: u64,
    pub(crate) id: ConsentId,
    /// Whether the request that recorded the choice carried `Sec-GPC: 1`.
    pub(crate) gpc: bool,
}

/// What the visitor allowed, as it holds for the current request.
///
/// The layer inserts one into every request's extensions. An undecided visitor (no valid consent
/// cookie, or one made on an older policy revision) has allowed nothing but `necessary`.
///
/// ```
/// # async fn handler(consent: tower_consent::Consent) -> &'static str {
/// if consent.allows("analytics") {
///     "analytics on"
/// } else {
///     "analytics off"
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct Consent {
    /// The layer's settings: how to read the cookie, and what the response filter needs.
    settings: Arc<Settings>,
    /// Where the choice is stored, until it is read.
    cookies: ConsentCookies,
    gpc: bool,
    /// The choice, read on first use: most requests never ask.
    read: OnceLock<Read>,
}

/// A consent as read from the cookie.
#[derive(Clone, Copy, Debug)]
struct Read {
    decision: Option<Decision>,
    /// Effective: the decision, less what Global Privacy Control takes away, plus `necessary`.
    allowed: CategorySet,
}

impl Read {
    /// GPC denies the sale/share categories unless the visitor granted them while sending the
    /// signal themselves.
    fn new(categories: &Categories, decision: Option<Decision>, gpc: bool) -> Self {
        let granted = decision.map_or(CategorySet::EMPTY, |d| d.granted);
        let overridden_by_gpc = gpc && !decision.is_some_and(|d| d.gpc);
        let granted = if overridden_by_gpc {
            granted.minus(categories.sale_share())
        } else {
            granted
        };
        let allowed = granted
            .intersect(categories.all())
            .union(CategorySet::NECESSARY);
        Read { decision, allowed }
    }
}

impl Consent {
    /// The consent stored in `cookies`, read when first asked, on a request that did (`gpc`) or
    /// did not carry `Sec-GPC: 1`.
    pub(crate) fn unread(settings: Arc<Settings>, cookies: ConsentCookies, gpc: bool) -> Self {
        Consent {
            settings,
            cookies,
            gpc,
            read: OnceLock::new(),
        }
    }

    /// The consent of a visitor whose decision is known (just made, or undecided).
    pub(crate) fn with_decision(
        settings: Arc<Settings>,
        decision: Option<Decision>,
        gpc: bool,
    ) -> Self {
        let read = Read::new(settings.categories(), decision, gpc);
        Consent {
            settings,
            cookies: ConsentCookies::default(),
            gpc,
            read: OnceLock::from(read),
        }
    }

    fn read(&self) -> &Read {
        self.read.get_or_init(|| {
            let decision = self.settings.reader.read(&self.cookies);
            Read::new(self.settings.categories(), decision, self.gpc)
        })
    }

    fn categories(&self) -> &Categories {
        self.settings.categories()
    }

    pub(crate) fn shared_settings(&self) -> Arc<Settings> {
        self.settings.clone()
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    fn decision(&self) -> Option<Decision> {
        self.read().decision
    }

    /// Whether the visitor has made a choice that is still valid (same policy revision, not
    /// expired).
    pub fn is_decided(&self) -> bool {
        self.decision().is_some()
    }

    /// Whether `category` is allowed for this request. `necessary` always is; a name the site
    /// does not know never is.
    pub fn allows(&self, category: impl AsRef<str>) -> bool {
        self.categories()
            .index_of(category.as_ref())
            .is_some_and(|i| self.allowed_set().contains(i))
    }

    /// Whether every category the site has is allowed.
    pub fn allows_all(&self) -> bool {
        self.allowed_set() == self.categories().all()
    }

    /// The allowed categories, `necessary` first.
    pub fn allowed(&self) -> impl Iterator<Item = &Category> {
        let allowed = self.allowed_set();
        self.categories()
            .iter()
            .filter(move |(i, _)| allowed.contains(*i))
            .map(|(_, c)| c)
    }

    /// The categories not allowed for this request.
    pub fn denied(&self) -> impl Iterator<Item = &Category> {
        let allowed = self.allowed_set();
        self.categories()
            .iter()
            .filter(move |(i, _)| !allowed.contains(*i))
            .map(|(_, c)| c)
    }

    /// Whether the visitor's stored choice grants `category`, whatever the request's `Sec-GPC`
    /// header says. Use [`allows`](Self::allows) to decide what to do.
    pub fn granted(&self, category: impl AsRef<str>) -> bool {
        let Some(decision) = self.decision() else {
            return false;
        };
        match self.categories().index_of(category.as_ref()) {
            Some(0) => true,
            Some(i) => decision.granted.contains(i),
            None => false,
        }
    }

    /// Whether this request carried `Sec-GPC: 1` (Global Privacy Control).
    pub fn gpc(&self) -> bool {
        self.gpc
    }

    /// Whether the request that recorded the choice carried `Sec-GPC: 1`; `None` when undecided.
    pub fn gpc_at_decision(&self) -> Option<bool> {
        self.decision().map(|d| d.gpc)
    }

    /// The policy revision the choice was made on; `None` when undecided.
    pub fn revision(&self) -> Option<u32> {
        self.decision().map(|d| d.revision)
    }

    /// When the choice was made; `None` when undecided.
    pub fn decided_at(&self) -> Option<SystemTime> {
        self.decision()
            .map(|d| UNIX_EPOCH + Duration::from_secs(d.decided_at))
    }

    /// The id of the recorded choice; `None` when undecided.
    pub fn id(&self) -> Option<ConsentId> {
        self.decision().map(|d| d.id)
    }

    pub(crate) fn allowed_set(&self) -> CategorySet {
        self.read().allowed
    }
}

impl fmt::Debug for Consent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consent")
            .field("decided", &self.is_decided())
            .field("allowed", &self.allowed().collect::<Vec<_>>())
            .field("revision", &self.revision())
            .field("decided_at", &self.decision().map(|d| d.decided_at))
            .field("id", &self.id())
            .field("gpc", &self.gpc)
            .field("gpc_at_decision", &self.gpc_at_decision())
            .finish()
    }
}

impl serde::Serialize for Consent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Consent", 8)?;
        s.serialize_field("decided", &self.is_decided())?;
        s.serialize_field(
            "allowed",
            &self.allowed().map(Category::as_str).collect::<Vec<_>>(),
        )?;
        s.serialize_field(
            "denied",
            &self.denied().map(Category::as_str).collect::<Vec<_>>(),
        )?;
        s.serialize_field("revision", &self.revision())?;
        s.serialize_field("decided_at", &self.decision().map(|d| d.decided_at))?;
        s.serialize_field("id", &self.id().map(|id| id.to_hex()))?;
        s.serialize_field("gpc", &self.gpc)?;
        s.serialize_field("gpc_at_decision", &self.gpc_at_decision())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default categories, with `marketing` (index 3) as the GPC category.
    fn table() -> Arc<Settings> {
        let layer = crate::ConsentLayer::builder()
            .sink(crate::NoopSink)
            .build()
            .unwrap();
        layer.shared_settings()
    }

    fn decision(granted: CategorySet, gpc: bool) -> Decision {
        Decision {
            granted,
            revision: 1,
            decided_at: 1_700_000_000,
            id: ConsentId::from_u128(7),
            gpc,
        }
    }

    #[test]
    fn undecided_allows_only_necessary() {
        let c = Consent::with_decision(table(), None, false);
        assert!(!c.is_decided());
        assert!(c.allows("necessary"));
        for name in ["preferences", "analytics", "marketing", "nonsense"] {
            assert!(!c.allows(name), "{name}");
        }
        assert_eq!(c.allowed().collect::<Vec<_>>(), [&Category::NECESSARY]);
        assert_eq!(c.denied().count(), 3);
    }

    #[test]
    fn gpc_denies_sale_share_unless_granted_with_the_signal() {
        let all = CategorySet::EMPTY.with(1).with(2).with(3);
        let before_signal = Consent::with_decision(table(), Some(decision(all, false)), true);
        assert!(before_signal.allows("analytics"));
        assert!(!before_signal.allows("marketing"));
        assert!(before_signal.granted("marketing"));

        let with_signal = Consent::with_decision(table(), Some(decision(all, true)), true);
        assert!(with_signal.allows("marketing"));

        let no_signal_now = Consent::with_decision(table(), Some(decision(all, false)), false);
        assert!(no_signal_now.allows_all());
    }

    #[test]
    fn category_names_are_checked() {
        for good in ["a", "social", "ads-2", "x_y", &"a".repeat(32)] {
            assert!(Category::new(good.to_string()).is_ok(), "{good}");
        }
        for bad in ["", "Ads", "2ads", "a b", "é", "a.b", "a+b", &"a".repeat(33)] {
            assert!(Category::new(bad.to_string()).is_err(), "{bad}");
        }
    }
}
