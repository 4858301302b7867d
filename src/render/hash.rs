//! Short content hashes for names and annotations. FNV-1a: tiny, stable across releases and
//! platforms (unlike `DefaultHasher`), and collisions only cost a missed Job re-run.

/// 8 hex digits of the 64-bit FNV-1a hash of `parts`, in order.
pub(crate) fn short_hash(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separate parts, so ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", (h >> 32) as u32 ^ h as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_part_sensitive() {
        assert_eq!(short_hash(&[b"redkube"]), short_hash(&[b"redkube"]));
        assert_ne!(short_hash(&[b"ab", b"c"]), short_hash(&[b"a", b"bc"]));
        assert_eq!(short_hash(&[b""]).len(), 8);
    }
}
