//! AS numbers as Calico accepts them: a JSON/YAML number, a decimal string, or asdot
//! (`"1.10"` = 1 × 65536 + 10 = 65546). Always printed and stored in decimal.
//!
//! `0` decodes, as Calico reads it, so that it costs only its field: a BGPPeer's `asNumber: 0`
//! means "not set" (as in Calico), an AS path may hold it (as in Calico's filters), and
//! elsewhere `resources::validate` drops it with a warning before anything is planned. Parsing
//! text ([`FromStr`]) refuses it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A 32-bit BGP AS number; 0 only as decoded from a resource (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsNumber(u32);

/// The default AS of a Calico cluster when no BGPConfiguration sets one.
pub const DEFAULT_AS: AsNumber = AsNumber(64512);

impl AsNumber {
    /// Wraps a non-zero value.
    pub fn new(value: u32) -> Option<AsNumber> {
        (value != 0).then_some(AsNumber(value))
    }

    /// The numeric value.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Whether this is the 0 a resource may hold (see the module doc).
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    fn from_u64(value: u64) -> Result<AsNumber, String> {
        u32::try_from(value)
            .map(AsNumber)
            .map_err(|_| format!("AS number {value} does not fit in 32 bits"))
    }

    /// Decimal or asdot text, 0 included.
    fn parse_decoded(text: &str) -> Result<AsNumber, String> {
        let t = text.trim();
        if let Some((high, low)) = t.split_once('.') {
            let part = |p: &str| -> Result<u64, String> {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("{text:?} is not an AS number (asdot form is A.B)"));
                }
                let v: u64 = p
                    .parse()
                    .map_err(|_| format!("{text:?} is not an AS number"))?;
                if v > 0xffff {
                    return Err(format!(
                        "{text:?}: each half of an asdot AS number must be at most 65535"
                    ));
                }
                Ok(v)
            };
            let (h, l) = (part(high)?, part(low)?);
            return AsNumber::from_u64((h << 16) + l);
        }
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{text:?} is not an AS number"));
        }
        let v: u64 = t
            .parse()
            .map_err(|_| format!("AS number {t} does not fit in 32 bits"))?;
        AsNumber::from_u64(v)
    }
}

impl fmt::Display for AsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for AsNumber {
    type Err = String;

    fn from_str(text: &str) -> Result<AsNumber, String> {
        match AsNumber::parse_decoded(text)? {
            AsNumber(0) => Err("AS number 0 is not a valid AS".into()),
            a => Ok(a),
        }
    }
}

impl Serialize for AsNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Calico stores AS numbers as JSON numbers.
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for AsNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AsNumber, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = AsNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AS number (1..4294967295, or asdot A.B)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AsNumber, E> {
                AsNumber::from_u64(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AsNumber, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("AS number {v} is negative")))
                    .and_then(|v| AsNumber::from_u64(v).map_err(E::custom))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AsNumber, E> {
                // Calico reads an AS number into a uint32 or from a string, never from a
                // float (`1e5`, `65001.0`, an unquoted asdot `1.10`): refuse them all.
                Err(E::custom(format!(
                    "AS number {v} is written as a floating-point number; write a whole number, or quote asdot AS numbers (\"1.10\")"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AsNumber, E> {
                AsNumber::parse_decoded(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_asdot() {
        assert_eq!("64512".parse::<AsNumber>().unwrap().get(), 64512);
        assert_eq!("1.10".parse::<AsNumber>().unwrap().get(), 65546);
        assert_eq!("0.1".parse::<AsNumber>().unwrap().get(), 1);
        assert_eq!("4294967295".parse::<AsNumber>().unwrap().get(), u32::MAX);
        assert_eq!("65535.65535".parse::<AsNumber>().unwrap().get(), u32::MAX);
    }

    #[test]
    fn rejects_zero_overflow_and_junk() {
        for bad in [
            "0",
            "0.0",
            "4294967296",
            "65536.1",
            "1.65536",
            "",
            "a",
            "1.",
            ".1",
            "-1",
            "1.2.3",
        ] {
            assert!(bad.parse::<AsNumber>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn decodes_numbers_and_strings() {
        let v: AsNumber = serde_json::from_str("65001").unwrap();
        assert_eq!(v.get(), 65001);
        let v: AsNumber = serde_json::from_str("\"1.10\"").unwrap();
        assert_eq!(v.get(), 65546);
        // 0 decodes (Calico reads it); validation decides what it costs.
        assert!(serde_json::from_str::<AsNumber>("0").unwrap().is_zero());
        assert!(
            serde_json::from_str::<AsNumber>("\"0.0\"")
                .unwrap()
                .is_zero()
        );
        assert!(serde_json::from_str::<AsNumber>("-5").is_err());
        assert!(serde_json::from_str::<AsNumber>("4294967296").is_err());
        let v: AsNumber = yaml_serde::from_str("'1.10'").unwrap();
        assert_eq!(v.get(), 65546);
        assert_eq!(serde_json::to_string(&v).unwrap(), "65546");
        let err = yaml_serde::from_str::<AsNumber>("1.10")
            .unwrap_err()
            .to_string();
        assert!(err.contains("quote asdot"), "{err}");
    }
}
