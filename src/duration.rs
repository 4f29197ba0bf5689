//! Durations as people write and read them: `3600`, `90m`, `12h`, `1h30m` in
//! flags and config (`parse_duration`), and back (`human`, `hours_minutes`).
//! Owns the format only; the limits of each setting live with the resolver
//! (`profile`). Never reads the clock.

/// Parses `3600`, `90s`, `90m`, `12h`, `1h30m` into seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<u64>()
            .map_err(|_| format!("duration '{text}' is too large"));
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut seen_unit = false;
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let mult = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => {
                return Err(format!(
                    "invalid duration '{text}' (use seconds or units h, m, s: 3600, 90m, 12h)"
                ))
            }
        };
        if num.is_empty() {
            return Err(format!(
                "invalid duration '{text}' (use seconds or units h, m, s: 3600, 90m, 12h)"
            ));
        }
        let n: u64 = num
            .parse()
            .map_err(|_| format!("duration '{text}' is too large"))?;
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration '{text}' is too large"))?;
        num.clear();
        seen_unit = true;
    }
    if !num.is_empty() || !seen_unit {
        return Err(format!(
            "invalid duration '{text}' (a number needs a unit after another unit: 1h30m)"
        ));
    }
    Ok(total)
}

/// `43200` → `12h`, `5400` → `1h30m`, `45` → `45s`.
pub fn human(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// `11h 02m`: the time left as `list` and `explain` show it.
pub fn hours_minutes(secs: i64) -> String {
    format!("{}h {:02}m", secs / 3600, secs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("90m"), Ok(5400));
        assert_eq!(parse_duration("12h"), Ok(43200));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("45s"), Ok(45));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("1h30").is_err());
        assert!(parse_duration("-5").is_err());
    }

    #[test]
    fn humanize() {
        assert_eq!(human(43200), "12h");
        assert_eq!(human(5400), "1h30m");
        assert_eq!(human(0), "0s");
    }
}
