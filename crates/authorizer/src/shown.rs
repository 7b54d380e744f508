//! Text from a request or a token, as a message shows it.

/// Text from a request or a token, as a message shows it: in backticks, escaped so that
/// invisible and look-alike characters show, and cut short so a huge value cannot flood the
/// audit log. `(none)` when there is no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(Option<String>);

impl Shown {
    const MAX_CHARS: usize = 80;

    /// `text`, or `(none)`.
    pub fn of(text: Option<&str>) -> Self {
        Self(text.map(|t| {
            let mut shown: String = t.chars().take(Self::MAX_CHARS).collect();
            if t.chars().nth(Self::MAX_CHARS).is_some() {
                shown.push('…');
            }
            shown
        }))
    }

    /// `text`.
    pub fn text(text: &str) -> Self {
        Self::of(Some(text))
    }
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(text) => write!(f, "`{}`", text.escape_debug()),
            None => f.write_str("(none)"),
        }
    }
}
