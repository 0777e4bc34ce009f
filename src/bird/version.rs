//! What a BIRD version can do that perch's config relies on (pure).
//!
//! IPIP routes are programmed with the `onlink` route attribute, which upstream BIRD has in
//! 2.0.12 and every later 2.x, and again from 3.2 (not in 1.x, 2.0.0–2.0.11, 3.0, 3.1).

/// Whether `version` (`2.0.12`, `BIRD 2.0.12`, `3.2.0-rc1`) has the `onlink` attribute;
/// None when the text is not a version.
pub(crate) fn has_onlink(version: &str) -> Option<bool> {
    let v = version
        .trim()
        .trim_start_matches("BIRD ")
        .trim_start_matches('v');
    let mut parts = v
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some(match major {
        2 => (minor, patch) >= (0, 12),
        3 => minor >= 2,
        m => m > 3,
    })
}

/// Why this BIRD cannot program the IPIP routes a config needs, or None when it can (or the
/// config has none).
pub(crate) fn ipip_problem(version: &str, config_uses_tunnel: bool) -> Option<String> {
    if !config_uses_tunnel || has_onlink(version) != Some(false) {
        return None;
    }
    Some(format!(
        "BIRD {version} has no `onlink` route attribute (BIRD 2.0.12 or later 2.x, or 3.2 or \
         later, needed): it refuses the config, so the IPIP pools' routes through tunl0 cannot \
         be programmed; upgrade BIRD, or set programClusterRoutes: Disabled so Felix programs them"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onlink_versions() {
        for (v, want) in [
            ("2.0.12", Some(true)),
            ("BIRD 2.0.12", Some(true)),
            ("2.16.1", Some(true)),
            ("2.0.11", Some(false)),
            ("2.0.8", Some(false)),
            ("1.6.8", Some(false)),
            ("3.0.0", Some(false)),
            ("3.1.2", Some(false)),
            ("3.2.0-rc1", Some(true)),
            ("v2.0.12", Some(true)),
            ("unknown", None),
        ] {
            assert_eq!(has_onlink(v), want, "{v}");
        }
    }

    #[test]
    fn a_problem_only_when_tunnels_meet_an_old_bird() {
        assert!(ipip_problem("2.0.8", false).is_none());
        assert!(ipip_problem("2.0.12", true).is_none());
        assert!(ipip_problem("weird", true).is_none());
        let why = ipip_problem("2.0.8", true).unwrap();
        assert!(why.starts_with("BIRD 2.0.8 has no `onlink`"), "{why}");
    }
}
