//! BGP passwords. Their values never appear in `Debug`, `Display`, JSON, logs or errors.

use std::collections::BTreeMap;
use std::fmt;

/// A secret value: only [`Secret::expose`] shows it, and only the renderer calls that.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret text, for the one place that must write it (BIRD's `password` line).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Secret values by `(secret name, key)`, as mounted from Kubernetes Secrets
/// (`<dir>/<name>/<key>` files).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(BTreeMap<(String, String), Secret>);

impl Secrets {
    pub fn new() -> Secrets {
        Secrets::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, key: impl Into<String>, value: Secret) {
        self.0.insert((name.into(), key.into()), value);
    }

    pub fn get(&self, name: &str, key: &str) -> Option<&Secret> {
        self.0.get(&(name.to_owned(), key.to_owned()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.keys().map(|(n, k)| format!("{n}/{k}")))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let mut s = Secrets::new();
        s.insert("bgp", "pw", Secret::new("hunter2"));
        let text = format!("{s:?} {:?}", s.get("bgp", "pw"));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("bgp/pw"));
    }
}
