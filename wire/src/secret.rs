//! [`Secret`]: a password or code in memory. It prints as `<redacted>` and is zeroised on drop.
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret string. `Debug` and `Display` never show it; memory is wiped when it is dropped.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a string; the caller's copy moves in, so no second copy is left behind.
    pub fn new(s: String) -> Self {
        Secret(s)
    }
    /// The secret's text, for hashing or verifying only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Length in characters (password policy).
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn never_prints() {
        let s = Secret::new("hunter2hunter2".into());
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2hunter2");
    }
}
