//! Whether a certificate was revoked, and why: the RFC 5280 CRLReason, with the undefined
//! reasons folded into "other".

use crate::transform::category::{Category, UNKNOWN};

/// A certificate's revocation: not revoked, or revoked for one RFC 5280 CRLReason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Revocation {
    Unknown,
    NotRevoked,
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    RemoveFromCrl,
    PrivilegeWithdrawn,
    AaCompromise,
    Other,
}

impl Revocation {
    /// A revocation without a reason is `unspecified`, as an absent reasonCode extension means;
    /// an undefined reason (7, or out of range) is "other".
    pub(crate) fn of(revoked: bool, reason: Option<i16>) -> Revocation {
        if !revoked {
            return Revocation::NotRevoked;
        }
        match reason {
            None | Some(0) => Revocation::Unspecified,
            Some(1) => Revocation::KeyCompromise,
            Some(2) => Revocation::CaCompromise,
            Some(3) => Revocation::AffiliationChanged,
            Some(4) => Revocation::Superseded,
            Some(5) => Revocation::CessationOfOperation,
            Some(6) => Revocation::CertificateHold,
            Some(8) => Revocation::RemoveFromCrl,
            Some(9) => Revocation::PrivilegeWithdrawn,
            Some(10) => Revocation::AaCompromise,
            Some(_) => Revocation::Other,
        }
    }

    pub(crate) fn status(self) -> RevocationStatus {
        match self {
            Revocation::Unknown => RevocationStatus::Unknown,
            Revocation::NotRevoked => RevocationStatus::NotRevoked,
            _ => RevocationStatus::Revoked,
        }
    }
}

impl Category for Revocation {
    const ALL: &'static [Self] = &[
        Self::Unknown,
        Self::NotRevoked,
        Self::Unspecified,
        Self::KeyCompromise,
        Self::CaCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::CertificateHold,
        Self::RemoveFromCrl,
        Self::PrivilegeWithdrawn,
        Self::AaCompromise,
        Self::Other,
    ];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::NotRevoked => 1,
            Self::Unspecified => 2,
            Self::KeyCompromise => 3,
            Self::CaCompromise => 4,
            Self::AffiliationChanged => 5,
            Self::Superseded => 6,
            Self::CessationOfOperation => 7,
            Self::CertificateHold => 8,
            Self::RemoveFromCrl => 9,
            Self::PrivilegeWithdrawn => 10,
            Self::AaCompromise => 11,
            Self::Other => 12,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::NotRevoked => "not_revoked",
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::CaCompromise => "cACompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::CertificateHold => "certificateHold",
            Self::RemoveFromCrl => "removeFromCRL",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
            Self::AaCompromise => "aACompromise",
            Self::Other => "other",
        }
    }
}

/// The coarser level of [`Revocation`]: revoked or not, whatever the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RevocationStatus {
    Unknown,
    NotRevoked,
    Revoked,
}

impl Category for RevocationStatus {
    const ALL: &'static [Self] = &[Self::Unknown, Self::NotRevoked, Self::Revoked];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::NotRevoked => 1,
            Self::Revoked => 2,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::NotRevoked => "not_revoked",
            Self::Revoked => "revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocations() {
        let cases = [
            (false, None, "not_revoked", "not_revoked"),
            (false, Some(1), "not_revoked", "not_revoked"),
            (true, None, "unspecified", "revoked"),
            (true, Some(0), "unspecified", "revoked"),
            (true, Some(1), "keyCompromise", "revoked"),
            (true, Some(2), "cACompromise", "revoked"),
            (true, Some(3), "affiliationChanged", "revoked"),
            (true, Some(4), "superseded", "revoked"),
            (true, Some(5), "cessationOfOperation", "revoked"),
            (true, Some(6), "certificateHold", "revoked"),
            (true, Some(8), "removeFromCRL", "revoked"),
            (true, Some(9), "privilegeWithdrawn", "revoked"),
            (true, Some(10), "aACompromise", "revoked"),
            (true, Some(7), "other", "revoked"),
            (true, Some(-1), "other", "revoked"),
        ];
        for (revoked, reason, fine, coarse) in cases {
            let revocation = Revocation::of(revoked, reason);
            assert_eq!(revocation.label(), fine, "{reason:?}");
            assert_eq!(revocation.status().label(), coarse, "{reason:?}");
        }
        crate::transform::category::tests::check_codes::<Revocation>();
        crate::transform::category::tests::check_codes::<RevocationStatus>();
    }
}
