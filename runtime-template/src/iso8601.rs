//! ISO 8601 date-times, shared by the declared types' checks and the database's parameter
//! binding (a leaf: imports nothing of the crate).

/// ISO 8601 date-time as Python's `fromisoformat` accepts it (`Z` allowed).
pub fn parse_datetime(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let t = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(&t.replace(' ', "T")) {
        return Some(dt);
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Some(naive.and_utc().fixed_offset());
        }
        if fmt == "%Y-%m-%d" {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(t, fmt) {
                return Some(d.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset());
            }
        }
    }
    None
}
