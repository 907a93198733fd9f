//! A NumPy `.npy` (format 1.0) encoder for `float32` tensors.

use crate::fans::numel;
use crate::Error;

/// The bytes of a `.npy` file (format version 1.0, little-endian `float32`,
/// C order) holding `values` of `shape`.
///
/// The layout is NumPy's: the magic `\x93NUMPY`, version `1 0`, a `u16`
/// header length, a Python-dict header padded with spaces and a newline so the
/// data starts at a multiple of 64 bytes, then the data. `numpy.load` reads
/// it back as an array of `shape`.
///
/// # Errors
/// [`Error::LengthMismatch`] if `values` does not fill `shape`.
pub fn npy_bytes(values: &[f32], shape: &[usize]) -> Result<Vec<u8>, Error> {
    let expected = numel(shape)?;
    if values.len() != expected {
        return Err(Error::LengthMismatch {
            len: values.len(),
            shape: shape.to_vec(),
            expected,
        });
    }
    let dims = match shape {
        [one] => format!("{one},"),
        _ => shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}");
    // 10 bytes of preamble, then the header; the data must start 64-aligned.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    // The header of a realistic shape is far below the u16 limit of v1.0.
    let header_len = u16::try_from(header.len()).map_err(|_| Error::ShapeOverflow {
        shape: shape.to_vec(),
    })?;
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * values.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&header_len.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for x in values {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_numpy_s() {
        let bytes = npy_bytes(&[1.0, -2.0, 0.5, 0.0, 3.0, 4.0], &[2, 3]).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(bytes.len(), 10 + header_len + 24);
        assert_eq!(&bytes[10 + header_len..][4..8], &(-2.0_f32).to_le_bytes());
    }

    #[test]
    fn npy_shapes_of_one_and_zero_dims() {
        let header = |shape: &[usize], n| {
            let bytes = npy_bytes(&vec![0.0; n], shape).unwrap();
            String::from_utf8_lossy(&bytes[10..]).into_owned()
        };
        assert!(header(&[3], 3).contains("'shape': (3,)"));
        assert!(header(&[], 1).contains("'shape': ()"));
        assert!(npy_bytes(&[0.0], &[2]).is_err());
    }
}
