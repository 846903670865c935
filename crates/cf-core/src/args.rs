//! Numbers that arrive from JavaScript as doubles, checked before anything uses them: whole,
//! finite, within range. The error names the argument and the value as given, so `-1`,
//! `2.5`, `NaN` and `1e300` are reported as themselves and never wrap or truncate.

use crate::error::{Error, Result};

/// A number as JavaScript would print it: `-1`, `2.5`, `NaN`, `Infinity`, `1e+300`.
pub fn show(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if v != 0.0 && (v.abs() >= 1e21 || v.abs() < 1e-6) {
        format!("{v:e}").replace('e', "e+").replace("e+-", "e-")
    } else {
        format!("{v}")
    }
}

/// A float32 as JavaScript would print the number it holds: `0.1`, not `0.10000000149011612`;
/// `Infinity` and `NaN` as `show` writes them.
pub fn show32(v: f32) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        show(v as f64)
    }
}

/// A whole number in `min..=max`.
pub fn whole(name: &str, v: f64, min: u64, max: u64) -> Result<u64> {
    if v.is_finite() && v.fract() == 0.0 && v >= min as f64 && v <= max as f64 {
        return Ok(v as u64);
    }
    let what = if max == u64::MAX || max as f64 >= 9.0e15 {
        format!("an integer >= {min}")
    } else {
        format!("an integer in {min}..={max}")
    };
    Err(Error::param(
        name,
        format!("must be {what} (got {})", show(v)),
    ))
}

/// A count such as `k`: at least `min`, at most what a u32 index holds.
pub fn count(name: &str, v: f64, min: u64) -> Result<usize> {
    whole(name, v, min, u32::MAX as u64).map(|n| n as usize)
}

/// A row index below `n` (`what` names the rows: "users", "items").
pub fn index(name: &str, v: f64, n: usize, what: &str) -> Result<u32> {
    let i = whole(name, v, 0, u32::MAX as u64)?;
    if i as usize >= n {
        return Err(Error::param(
            name,
            format!("index {i} is out of range (model has {n} {what})"),
        ));
    }
    Ok(i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_value_as_given() {
        assert_eq!(count("k", 10.0, 1).unwrap(), 10);
        let e = |r: Result<usize>| r.unwrap_err().to_string();
        assert_eq!(
            e(count("k", -1.0, 1)),
            "k: must be an integer in 1..=4294967295 (got -1)"
        );
        assert_eq!(
            e(count("k", 2.5, 1)),
            "k: must be an integer in 1..=4294967295 (got 2.5)"
        );
        assert!(e(count("k", f64::NAN, 1)).ends_with("(got NaN)"));
        assert!(e(count("k", f64::INFINITY, 1)).ends_with("(got Infinity)"));
        assert!(e(count("k", 0.0, 1)).ends_with("(got 0)"));
        assert!(e(count("k", 1e300, 1)).ends_with("(got 1e+300)"));
        assert_eq!(show(1e-7), "1e-7");
        assert_eq!(show(123456.0), "123456");
        assert_eq!(show32(0.1), "0.1");
        assert_eq!(show32(-2.0), "-2");
        assert_eq!(show32(f32::INFINITY), "Infinity");
        assert_eq!(show32(f32::NAN), "NaN");
        assert_eq!(index("user", 3.0, 4, "users").unwrap(), 3);
        assert_eq!(
            index("user", 4.0, 4, "users").unwrap_err().to_string(),
            "user: index 4 is out of range (model has 4 users)"
        );
    }
}
