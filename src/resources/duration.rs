//! Go `time.Duration` strings as Calico's API writes them (`120s`, `2m30s`, `1.5h`, `500ms`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A duration, kept with the text it was written as.
#[derive(Debug, Clone, PartialEq)]
pub struct GoDuration {
    text: String,
    seconds: f64,
}

impl GoDuration {
    /// Parses Go's duration syntax: a sequence of decimal numbers with units
    /// `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`; `0` alone is allowed.
    pub fn parse(text: &str) -> Result<GoDuration, String> {
        let bad = || format!("{text:?} is not a duration (examples: 120s, 2m30s, 1h)");
        let t = text.trim();
        let (negative, mut rest) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        if rest == "0" {
            return Ok(GoDuration {
                text: text.to_owned(),
                seconds: 0.0,
            });
        }
        if rest.is_empty() {
            return Err(bad());
        }
        let mut seconds = 0.0;
        while !rest.is_empty() {
            let num_len = rest
                .bytes()
                .take_while(|b| b.is_ascii_digit() || *b == b'.')
                .count();
            if num_len == 0 {
                return Err(bad());
            }
            let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
            rest = &rest[num_len..];
            let unit_len = rest
                .char_indices()
                .find(|(_, c)| c.is_ascii_digit() || *c == '.')
                .map_or(rest.len(), |(i, _)| i);
            let scale = match &rest[..unit_len] {
                "ns" => 1e-9,
                "us" | "µs" | "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(bad()),
            };
            seconds += value * scale;
            rest = &rest[unit_len..];
        }
        if !seconds.is_finite() {
            return Err(bad());
        }
        Ok(GoDuration {
            text: text.to_owned(),
            seconds: if negative { -seconds } else { seconds },
        })
    }

    /// The duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    /// Whole seconds, rounded half away from zero as Go's `math.Round`.
    pub fn rounded_seconds(&self) -> i64 {
        self.seconds.round() as i64
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GoDuration, D::Error> {
        let text = String::deserialize(d)?;
        GoDuration::parse(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        for (text, secs) in [
            ("120s", 120.0),
            ("2m30s", 150.0),
            ("1h", 3600.0),
            ("1.5h", 5400.0),
            ("500ms", 0.5),
            ("0", 0.0),
            ("1m0.4s", 60.4),
        ] {
            assert_eq!(GoDuration::parse(text).unwrap().seconds(), secs, "{text}");
        }
        assert_eq!(GoDuration::parse("1.5s").unwrap().rounded_seconds(), 2);
        assert_eq!(GoDuration::parse("2m30s").unwrap().to_string(), "2m30s");
    }

    #[test]
    fn rejects_junk() {
        for bad in ["", "10", "s", "1x", "1.2.3s", "--1s", "1 s", "ms"] {
            assert!(GoDuration::parse(bad).is_err(), "{bad}");
        }
    }
}
