//! BGP passwords. Their values never appear in `Debug`, `Display`, JSON, logs or errors.

use std::collections::BTreeMap;
use std::fmt;

/// A secret value: only [`Secret::expose`] shows it, and only the renderer calls that.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
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
pub struct Secrets(
    BTreeMap<(String, String), Secret>,
    /// Keys whose file could not be read as text (not UTF-8, unreadable): a session that
    /// references one is withheld; nothing else is affected.
    BTreeMap<(String, String), String>,
);

impl Secrets {
    /// No secrets.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// Stores the value of key `key` of secret `name`.
    pub fn insert(&mut self, name: impl Into<String>, key: impl Into<String>, value: Secret) {
        self.0.insert((name.into(), key.into()), value);
    }

    /// The value of key `key` of secret `name`, if it was found and readable.
    pub fn get(&self, name: &str, key: &str) -> Option<&Secret> {
        self.0.get(&(name.to_owned(), key.to_owned()))
    }

    /// Records a key whose value cannot be used, and why (never the value).
    pub fn insert_unusable(&mut self, name: impl Into<String>, key: impl Into<String>, why: &str) {
        self.1.insert((name.into(), key.into()), why.to_owned());
    }

    /// Why this key's value cannot be used, when it was found but not readable as text.
    pub fn unusable(&self, name: &str, key: &str) -> Option<&str> {
        self.1
            .get(&(name.to_owned(), key.to_owned()))
            .map(String::as_str)
    }

    /// How many usable values there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no usable values.
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
