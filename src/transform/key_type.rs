//! The certificate's public key: its algorithm and size reduced to the key types a CA issues
//! (RSA 2048/3072/4096, ECDSA on P-256/P-384/P-521), everything else being "other".

use crate::transform::category::{Category, UNKNOWN};

/// A public key's algorithm and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum KeyType {
    Unknown,
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Other,
}

impl KeyType {
    /// The key type of an algorithm name (`RSA`, `rsaEncryption`, `ECDSA`, `EC`,
    /// `id-ecPublicKey`, any case) and a size in bits; unusual sizes and algorithms are "other".
    pub(crate) fn of(algorithm: &str, size: i32) -> KeyType {
        let algorithm = algorithm.trim().to_ascii_lowercase();
        match (algorithm.as_str(), size) {
            ("", _) => KeyType::Unknown,
            ("rsa" | "rsaencryption", 2048) => KeyType::Rsa2048,
            ("rsa" | "rsaencryption", 3072) => KeyType::Rsa3072,
            ("rsa" | "rsaencryption", 4096) => KeyType::Rsa4096,
            ("ecdsa" | "ec" | "id-ecpublickey", 256) => KeyType::EcdsaP256,
            ("ecdsa" | "ec" | "id-ecpublickey", 384) => KeyType::EcdsaP384,
            ("ecdsa" | "ec" | "id-ecpublickey", 521) => KeyType::EcdsaP521,
            _ => KeyType::Other,
        }
    }

    pub(crate) fn algorithm(self) -> KeyAlgorithm {
        match self {
            KeyType::Unknown => KeyAlgorithm::Unknown,
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => KeyAlgorithm::Rsa,
            KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521 => KeyAlgorithm::Ecdsa,
            KeyType::Other => KeyAlgorithm::Other,
        }
    }
}

impl Category for KeyType {
    const ALL: &'static [Self] = &[
        Self::Unknown,
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
        Self::EcdsaP256,
        Self::EcdsaP384,
        Self::EcdsaP521,
        Self::Other,
    ];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::Rsa2048 => 1,
            Self::Rsa3072 => 2,
            Self::Rsa4096 => 3,
            Self::EcdsaP256 => 4,
            Self::EcdsaP384 => 5,
            Self::EcdsaP521 => 6,
            Self::Other => 7,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Rsa2048 => "RSA-2048",
            Self::Rsa3072 => "RSA-3072",
            Self::Rsa4096 => "RSA-4096",
            Self::EcdsaP256 => "ECDSA-P256",
            Self::EcdsaP384 => "ECDSA-P384",
            Self::EcdsaP521 => "ECDSA-P521",
            Self::Other => "other",
        }
    }
}

/// The coarser level of [`KeyType`]: the algorithm alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum KeyAlgorithm {
    Unknown,
    Rsa,
    Ecdsa,
    Other,
}

impl Category for KeyAlgorithm {
    const ALL: &'static [Self] = &[Self::Unknown, Self::Rsa, Self::Ecdsa, Self::Other];
    const UNKNOWN: Self = Self::Unknown;

    fn code(self) -> u16 {
        match self {
            Self::Unknown => UNKNOWN,
            Self::Rsa => 1,
            Self::Ecdsa => 2,
            Self::Other => 3,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Rsa => "RSA",
            Self::Ecdsa => "ECDSA",
            Self::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_types() {
        let cases = [
            ("RSA", 2048, "RSA-2048", "RSA"),
            ("rsaEncryption", 3072, "RSA-3072", "RSA"),
            ("RSA", 4096, "RSA-4096", "RSA"),
            ("ECDSA", 256, "ECDSA-P256", "ECDSA"),
            ("id-ecPublicKey", 384, "ECDSA-P384", "ECDSA"),
            ("ecdsa", 521, "ECDSA-P521", "ECDSA"),
            ("RSA", 1024, "other", "other"),
            ("Ed25519", 256, "other", "other"),
            ("", 0, "unknown", "unknown"),
        ];
        for (alg, size, fine, coarse) in cases {
            let key = KeyType::of(alg, size);
            assert_eq!(key.label(), fine, "{alg} {size}");
            assert_eq!(key.algorithm().label(), coarse, "{alg} {size}");
        }
        crate::transform::category::tests::check_codes::<KeyType>();
        crate::transform::category::tests::check_codes::<KeyAlgorithm>();
    }
}
