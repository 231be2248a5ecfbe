//! Normalization of personal values and keyed pseudonyms (HMAC-SHA256, class-separated, base32).
