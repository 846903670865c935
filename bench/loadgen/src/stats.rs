//! Percentiles over every sample (no histogram buckets), in ms.

/// `{"p50":..,"p90":..,"p99":..,"p999":..,"max":..}` of the answered samples (ns; -1 = none);
/// the p-th percentile is the sample at rank ceil(p/100 n). null when nothing was answered.
pub fn percentiles(ns: &[i64]) -> String {
    let mut v: Vec<i64> = ns.iter().copied().filter(|&x| x >= 0).collect();
    v.sort_unstable();
    // p in tenths of a percent, integer arithmetic: 99.9 % of 1,000 is rank 999, not 1,000.
    let at = |tenths: usize| -> String {
        if v.is_empty() {
            return "null".into();
        }
        let rank = (tenths * v.len()).div_ceil(1000);
        format!("{:.4}", v[rank.clamp(1, v.len()) - 1] as f64 / 1e6)
    };
    format!(
        "{{\"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{},\"max\":{}}}",
        at(500),
        at(900),
        at(990),
        at(999),
        at(1000)
    )
}

#[cfg(test)]
mod tests {
    use super::percentiles;

    #[test]
    fn ranks_follow_the_ceiling_rule() {
        let ns: Vec<i64> = (1..=1000).map(|i| i * 1_000_000).chain([-1, -1]).collect();
        assert_eq!(percentiles(&ns), "{\"p50\":500.0000,\"p90\":900.0000,\"p99\":990.0000,\"p999\":999.0000,\"max\":1000.0000}");
        assert_eq!(
            percentiles(&[-1]),
            "{\"p50\":null,\"p90\":null,\"p99\":null,\"p999\":null,\"max\":null}"
        );
    }
}
