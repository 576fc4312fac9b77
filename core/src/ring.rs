//! A region whose header has been validated: the only input a [`crate::slot::Reader`] takes.
//!
//! Validation happens once, where the region is first seen (the Linux client right after
//! `mmap`, the mock when it attaches); the proof travels with the region in [`Ring`], so no
//! later layer validates the same header again.

use crate::layout::{CheckedHeader, HeaderError};
use crate::region::Region;

/// A shared region together with the proof that its header passed every v1 check.
#[derive(Debug)]
pub struct Ring<R: Region> {
    region: R,
    header: CheckedHeader,
}

impl<R: Region> Ring<R> {
    /// Reads and validates the header of `region` against its length.
    ///
    /// # Errors
    /// [`HeaderError`] names the first check that failed.
    pub fn new_checked(region: R) -> Result<Self, HeaderError> {
        let view = region.region();
        let header = view.header_snapshot().check(view.len())?;
        Ok(Self { region, header })
    }

    /// The header as validated.
    pub fn header(&self) -> &CheckedHeader {
        &self.header
    }

    /// The region.
    pub fn region(&self) -> &R {
        &self.region
    }

    /// Gives the region back.
    pub fn into_region(self) -> R {
        self.region
    }

    /// Re-reads the live header and checks it is still valid and still the ring validated at
    /// first (its immutable fields unchanged). Readers keep using the first geometry either way,
    /// so a rewritten header can never make them read out of bounds.
    ///
    /// # Errors
    /// [`HeaderError`] if the header became invalid, [`HeaderError::Changed`] if it is valid
    /// but another ring's.
    pub fn recheck(&self) -> Result<(), HeaderError> {
        let view = self.region.region();
        let now = view.header_snapshot();
        now.check(view.len())?;
        if self.header.same_ring(&now) {
            Ok(())
        } else {
            Err(HeaderError::Changed)
        }
    }
}
