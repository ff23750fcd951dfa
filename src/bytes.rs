//! Integers at an offset of a byte slice, big- or little-endian: `None` past the end, never a
//! panic. The one byte reader of the MP4 and Hikvision parsers, which read files from disks
//! and cameras that may be cut short anywhere.

fn array<const N: usize>(b: &[u8], o: usize) -> Option<[u8; N]> {
    b.get(o..o.checked_add(N)?)?.try_into().ok()
}

pub fn be16(b: &[u8], o: usize) -> Option<u16> {
    array(b, o).map(u16::from_be_bytes)
}

pub fn be32(b: &[u8], o: usize) -> Option<u32> {
    array(b, o).map(u32::from_be_bytes)
}

pub fn be64(b: &[u8], o: usize) -> Option<u64> {
    array(b, o).map(u64::from_be_bytes)
}

pub fn le16(b: &[u8], o: usize) -> Option<u16> {
    array(b, o).map(u16::from_le_bytes)
}

pub fn le32(b: &[u8], o: usize) -> Option<u32> {
    array(b, o).map(u32::from_le_bytes)
}

pub fn le64(b: &[u8], o: usize) -> Option<u64> {
    array(b, o).map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_range_and_refuses_past_the_end() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(be16(&b, 0), Some(0x0102));
        assert_eq!(le16(&b, 0), Some(0x0201));
        assert_eq!(be32(&b, 5), Some(0x0607_0809));
        assert_eq!(be32(&b, 6), None);
        assert_eq!(le64(&b, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(be64(&b, 2), None);
        assert_eq!(le32(&b, usize::MAX), None);
        assert_eq!(be16(&[], 0), None);
    }
}
