//! USAD (RecAD spec §1 Eq. 4, §4).
