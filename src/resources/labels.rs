//! Label maps as calicoctl reads them: every value becomes a string.
//!
//! calicoctl converts scalars to the string field type, so a label value that YAML reads as a
//! boolean or number becomes its text: `true` → `"true"`, `12` → `"12"`. (The YAML 1.1 words
//! `yes`/`no`/`on`/`off` are turned into booleans earlier, by [`super::decode`].)

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserializer, Serialize, Serializer};

struct LooseString;

impl<'de> Visitor<'de> for LooseString {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
}

struct LooseKey(String);

impl<'de> de::Deserialize<'de> for LooseKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LooseKey, D::Error> {
        d.deserialize_any(LooseString).map(LooseKey)
    }
}

struct LabelMap;

impl<'de> Visitor<'de> for LabelMap {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of label names to values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(LooseKey(k)) = map.next_key()? {
            let LooseKey(v) = map.next_value()?;
            out.insert(k, v);
        }
        Ok(out)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
}

/// `#[serde(with = "labels")]` for `BTreeMap<String, String>` label maps.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    d.deserialize_any(LabelMap)
}

/// Labels serialize as a plain map of strings.
pub(crate) fn serialize<S: Serializer>(
    labels: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    labels.serialize(s)
}

/// `#[serde(with = "labels::loose_string")]` for string fields that YAML may read as scalars.
pub(crate) mod loose_string {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        d.deserialize_any(LooseString)
    }

    pub(crate) fn serialize<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct L {
        #[serde(with = "super")]
        labels: BTreeMap<String, String>,
    }

    #[test]
    fn scalars_become_strings() {
        let l: L =
            serde_json::from_str(r#"{"labels":{"a":"yes","b":true,"c":12,"d":null,"e":1.5}}"#)
                .unwrap();
        let got: Vec<_> = l.labels.values().map(String::as_str).collect();
        assert_eq!(got, ["yes", "true", "12", "", "1.5"]);
    }
}
