//! Parsing of the two size grammars a profile uses: Kubernetes quantities (`200M`, `20Gi`,
//! `250m`) and Redis memory sizes (`100mb`, `2gb`, `1048576`).

/// The value of a Kubernetes quantity in base units (bytes, or cores for CPU), or `None` when the
/// text is not a quantity the API server would accept.
pub fn parse_k8s_quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') && number.len() == 1 {
        return None;
    }
    if number.matches('.').count() > 1 || number[1..].contains('+') {
        return None;
    }
    let value: f64 = number.trim_start_matches('+').parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => {
            let exp: i32 = s[1..].parse().ok()?;
            10f64.powi(exp)
        }
        _ => return None,
    };
    Some(value * factor)
}

/// Bytes of a Redis memory size: a number with an optional unit `k`, `kb`, `m`, `mb`, `g`, `gb`
/// (case-insensitive; `k` is 1000 and `kb` is 1024, as redis.conf defines them).
pub fn parse_redis_memory(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let value: u64 = number.parse().ok()?;
    let factor: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    value.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_quantities() {
        assert_eq!(parse_k8s_quantity("200M"), Some(200e6));
        assert_eq!(parse_k8s_quantity("20Gi"), Some(20.0 * 1024f64.powi(3)));
        assert_eq!(parse_k8s_quantity("250m"), Some(0.25));
        assert_eq!(parse_k8s_quantity("1.5"), Some(1.5));
        assert_eq!(parse_k8s_quantity("1e3"), Some(1000.0));
        for bad in ["", "Gi", "20GB", "1..5", "-1", "20 Gi", "ten"] {
            assert_eq!(parse_k8s_quantity(bad), None, "{bad}");
        }
    }

    #[test]
    fn redis_memory_sizes() {
        assert_eq!(parse_redis_memory("100mb"), Some(100 * 1024 * 1024));
        assert_eq!(parse_redis_memory("1G"), Some(1_000_000_000));
        assert_eq!(parse_redis_memory("4096"), Some(4096));
        for bad in ["", "mb", "1.5gb", "100MiB", "-1"] {
            assert_eq!(parse_redis_memory(bad), None, "{bad}");
        }
    }
}
