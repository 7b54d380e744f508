//! KMS returns ECDSA signatures DER-encoded; a JWS `ES256` signature is `r || s`, 32 bytes each.

/// The fixed form (`r || s`) of a DER-encoded P-256 ECDSA signature, `None` if it is not one.
pub fn ecdsa_der_to_fixed(der: &[u8]) -> Option<[u8; 64]> {
    let (tag, body, rest) = element(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (r_tag, r, after_r) = element(body)?;
    let (s_tag, s, after_s) = element(after_r)?;
    if r_tag != 0x02 || s_tag != 0x02 || !after_s.is_empty() {
        return None;
    }
    let mut fixed = [0_u8; 64];
    place(r, fixed.get_mut(..32)?)?;
    place(s, fixed.get_mut(32..)?)?;
    Some(fixed)
}

/// One DER element: its tag, its contents, and what follows it. Short and one-byte long
/// lengths only (a P-256 signature never needs more).
fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = match len {
        0..=0x7f => (usize::from(len), rest),
        0x81 => {
            let (&long, rest) = rest.split_first()?;
            (usize::from(long), rest)
        }
        _ => return None,
    };
    let body = rest.get(..len)?;
    Some((tag, body, rest.get(len..)?))
}

/// A DER integer (big-endian, possibly with a leading zero) into `out`, right-aligned.
fn place(integer: &[u8], out: &mut [u8]) -> Option<()> {
    let trimmed = match integer {
        [0, rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    let start = out.len().checked_sub(trimmed.len())?;
    out.get_mut(start..)?.copy_from_slice(trimmed);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_signatures_become_fixed_and_anything_else_is_refused() {
        // r with a leading zero (high bit set), s short (leading zero bytes dropped by DER).
        let mut der = vec![0x30, 0x44, 0x02, 0x21, 0x00];
        der.extend([0x80; 32]);
        der.extend([0x02, 0x1f]);
        der.extend([0x01; 31]);
        let fixed = ecdsa_der_to_fixed(&der).unwrap();
        assert_eq!(&fixed[..32], &[0x80; 32]);
        assert_eq!(fixed[32], 0);
        assert_eq!(&fixed[33..], &[0x01; 31]);
        assert!(ecdsa_der_to_fixed(&der[..10]).is_none());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(ecdsa_der_to_fixed(&trailing).is_none());
        assert!(ecdsa_der_to_fixed(&[0x31, 0x00]).is_none());
    }
}
