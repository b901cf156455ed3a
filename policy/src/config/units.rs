//! The value syntax the sections share: durations (`90s`, `5m`, `2h`, `1d`).
use crate::error::PolicyError;

/// Parses a duration such as `90s`, `5m`, `2h`, `1d` (a bare number is seconds). Returns seconds.
pub fn parse_duration(field: &'static str, s: &str) -> Result<u64, PolicyError> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 =
        num.parse().map_err(|_| PolicyError::invalid(field, s, "expected a duration such as 90s, 5m, 2h or 1d"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(PolicyError::invalid(field, s, "unknown unit (use s, m, h or d)")),
    };
    n.checked_mul(mult).ok_or_else(|| PolicyError::invalid(field, s, "too large"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("d", "5m").unwrap(), 300);
        assert_eq!(parse_duration("d", "10").unwrap(), 10);
        assert!(parse_duration("d", "m").is_err());
    }
}
