//! Normalization of personal values and keyed pseudonyms (HMAC-SHA256, class-separated, base32).
//!
//! `pseudonym = key_id "_" base32lower(HMAC-SHA256(key, class 0x1f normalized)[..16])`. The
//! normalization decides which spellings count as one person, e-mail or phone number; it must be
//! idempotent so that a pseudonym computed from an already normalized value is the same.

use std::borrow::Cow;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::LazyLock;

use data_encoding::Encoding;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// Minimum key length: one SHA-256 output, as RFC 2104 recommends.
pub const MIN_KEY_BYTES: usize = 32;
/// Length of the base32 part of a pseudonym (16 bytes, no padding).
pub const PSEUDONYM_B32_LEN: usize = 26;

const SEPARATOR: u8 = 0x1f;

static BASE32_LOWER: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
    spec.encoding()
        .expect("the RFC 4648 base32 alphabet is a valid specification")
});

/// The domain a value belongs to; part of the HMAC input so domains never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Email,
    Phone,
    Person,
    Organization,
    Address,
    Certificate,
    Subscriber,
    AcmeAccount,
}

impl Class {
    pub const ALL: [Class; 8] = [
        Class::Email,
        Class::Phone,
        Class::Person,
        Class::Organization,
        Class::Address,
        Class::Certificate,
        Class::Subscriber,
        Class::AcmeAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Email => "email",
            Class::Phone => "phone",
            Class::Person => "person",
            Class::Organization => "organization",
            Class::Address => "address",
            Class::Certificate => "certificate",
            Class::Subscriber => "subscriber",
            Class::AcmeAccount => "acme_account",
        }
    }
}

/// Brings a value to the one spelling that is pseudonymized; `None` when nothing is left.
///
/// - all text classes: NFKC, zero-width characters removed, trimmed, white space runs
///   (U+3000, tabs, newlines included) folded to one ASCII space;
/// - e-mail: lower-cased, leading `mailto:` removed;
/// - phone: E.164 (`+` and digits) where the number can be placed, else its digits only;
///   `None` when it holds no digit;
/// - person, organization, address: lower-cased, no space between two CJK characters (so
///   `山田 太郎` is `山田太郎`); addresses also unify dash variants;
/// - row ids (subscriber, certificate, ACME account): trimmed only.
pub fn normalize(class: Class, value: &str) -> Option<String> {
    let mut out = String::new();
    normalize_into(class, value, &mut out).then_some(out)
}

/// [`normalize`] into a buffer the caller reuses (the scan normalizes millions of values);
/// false when the value normalizes to nothing.
pub fn normalize_into(class: Class, value: &str, out: &mut String) -> bool {
    out.clear();
    match class {
        Class::Subscriber | Class::Certificate | Class::AcmeAccount => out.push_str(value.trim()),
        Class::Email => {
            if fold_simple(value, false, out) {
                strip_mailto(out);
            } else {
                *out = normalize_email_in_steps(value);
            }
        }
        Class::Phone => match normalize_phone(value) {
            Some(phone) => *out = phone,
            None => return false,
        },
        Class::Person | Class::Organization => {
            if !fold_simple(value, true, out) {
                *out = normalize_name_in_steps(value, false);
            }
        }
        Class::Address => {
            if !fold_simple(value, true, out) {
                *out = normalize_name_in_steps(value, true);
            }
        }
    }
    !out.is_empty()
}

/// NFKC, then trim and fold white space: in one pass over the text when every character has a
/// simple NFKC (see [`simple_nfkc`]), else in steps.
fn fold_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut space = false;
    for c in value.chars() {
        let Some(c) = simple_nfkc(c) else {
            return fold_text_in_steps(value);
        };
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Zero-width characters go first so that their removal cannot create a sequence that NFKC
/// would compose on a second pass.
fn fold_text_in_steps(value: &str) -> String {
    let visible = if value.contains(['\u{200b}', '\u{feff}']) {
        Cow::Owned(
            value
                .chars()
                .filter(|c| !matches!(c, '\u{200b}' | '\u{feff}'))
                .collect(),
        )
    } else {
        Cow::Borrowed(value)
    };
    let nfkc = nfkc(&visible);
    let mut out = String::with_capacity(nfkc.len());
    for word in nfkc.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Unicode NFKC, without copying text that already is. Most of what a CA stores (ASCII, kana,
/// kanji, CJK punctuation, full-width ASCII forms, U+3000) is mapped character by character
/// here; only other text pays for the full algorithm.
pub fn nfkc(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut changed = false;
    for c in s.chars() {
        match simple_nfkc(c) {
            Some(m) => changed |= m != c,
            None => {
                return match is_nfkc_quick(s.chars()) {
                    IsNormalized::Yes => Cow::Borrowed(s),
                    _ => Cow::Owned(s.nfkc().collect()),
                };
            }
        }
    }
    if changed {
        let mut out = String::with_capacity(s.len());
        out.extend(s.chars().filter_map(simple_nfkc));
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// NFKC of one character when it is a character that neither composes with a neighbour nor is
/// reordered (NFKC_Quick_Check = Yes, canonical combining class 0), or maps to one such
/// character; `None` for everything else. So a string made only of these is normalized
/// character by character. The unit tests check every character listed against the
/// `unicode-normalization` tables.
fn simple_nfkc(c: char) -> Option<char> {
    match c {
        '\0'..='\u{7f}'
        | '\u{3001}'..='\u{3029}'
        | '\u{3041}'..='\u{3096}'
        | '\u{309d}'..='\u{309e}'
        | '\u{30a1}'..='\u{30fe}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{4e00}'..='\u{9fff}' => Some(c),
        '\u{3000}' => Some(' '),
        // Full-width ASCII: the compatibility decomposition is the ASCII character.
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c) - 0xfee0),
        _ => None,
    }
}

fn into_nfkc(s: String) -> String {
    match nfkc(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(normalized) => normalized,
    }
}

/// The whole normalization of a name or an e-mail address in one pass, when every character
/// has a simple NFKC: fold white space, lower-case (among those characters only ASCII letters
/// have case) and, when `join_cjk`, drop a space between two CJK characters. Nothing in such
/// text can compose, so the result is NFKC. False (and `out` empty) sends the text down the
/// general path.
fn fold_simple(value: &str, join_cjk: bool, out: &mut String) -> bool {
    out.clear();
    if value.is_ascii() {
        fold_ascii(value, out);
        return true;
    }
    let mut space = false;
    let mut previous = None;
    for c in value.chars() {
        let Some(c) = simple_nfkc(c) else {
            out.clear();
            return false;
        };
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let joined = join_cjk && previous.is_some_and(is_cjk) && is_cjk(c);
        if space && !out.is_empty() && !joined {
            out.push(' ');
        }
        space = false;
        out.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    true
}

/// [`fold_simple`] of ASCII text: its words joined by one space, lower-cased. E-mail addresses
/// mostly, which are one word, so this is a copy and a lower-casing of the whole.
fn fold_ascii(value: &str, out: &mut String) {
    // Exactly the ASCII characters `char::is_whitespace` accepts (`split_ascii_whitespace`
    // misses the vertical tab).
    for word in value
        .split(|c: char| matches!(c, '\t'..='\r' | ' '))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.make_ascii_lowercase();
}

fn normalize_email_in_steps(value: &str) -> String {
    let mut folded = fold_text(value);
    if folded.is_ascii() {
        folded.make_ascii_lowercase();
    } else {
        folded = folded.to_lowercase();
    }
    strip_mailto(&mut folded);
    into_nfkc(folded)
}

fn strip_mailto(address: &mut String) {
    let mut rest = address.as_str();
    while let Some(stripped) = rest.strip_prefix("mailto:") {
        rest = stripped.trim_start();
    }
    let prefix = address.len() - rest.len();
    address.drain(..prefix);
}

fn normalize_name_in_steps(value: &str, address: bool) -> String {
    let mut lowered = fold_text(value);
    if lowered.is_ascii() {
        // No CJK to join, no dash look-alike, and ASCII is NFKC.
        lowered.make_ascii_lowercase();
        return lowered;
    }
    let lowered = lowered.to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    let mut chars = lowered
        .chars()
        .map(|c| if address && is_dash(c) { '-' } else { c })
        .peekable();
    let mut previous = None;
    while let Some(c) = chars.next() {
        let between_cjk = c == ' '
            && previous.is_some_and(is_cjk)
            && chars.peek().is_some_and(|&next| is_cjk(next));
        if !between_cjk {
            out.push(c);
        }
        previous = Some(c);
    }
    // Joining two CJK characters can form a composable pair (か + U+3099); compose it now
    // rather than on the next pass.
    into_nfkc(out)
}

/// Dash look-alikes that NFKC leaves alone (hyphen, en/em dash, minus sign, …).
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{2043}' | '\u{fe58}'
    )
}

/// Scripts written without spaces between words: Han, kana, Hangul syllables, CJK marks.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}'..='\u{3007}'         // 々 〆 〇
        | '\u{3040}'..='\u{30ff}'       // hiragana, katakana
        | '\u{31f0}'..='\u{31ff}'       // katakana phonetic extensions
        | '\u{3400}'..='\u{4dbf}'       // CJK extension A
        | '\u{4e00}'..='\u{9fff}'       // CJK unified ideographs
        | '\u{ac00}'..='\u{d7a3}'       // Hangul syllables
        | '\u{f900}'..='\u{faff}'       // CJK compatibility ideographs
        | '\u{20000}'..='\u{3134f}'     // CJK extensions B–G
    )
}

/// Phone numbers to E.164. A `+` before the first digit marks an international number; a
/// number without one is national: Japanese (trunk `0`, 10 or 11 digits), or written with the
/// country code 81 but no `+`, or dialled with an international prefix (`010`, `00`). What fits
/// none of these keeps its digits only, so it still pseudonymizes consistently.
fn normalize_phone(value: &str) -> Option<String> {
    // Only `+` and digits are kept, so white space needs no folding and NFKC character by
    // character is enough when every character has a simple one.
    if value.chars().all(|c| simple_nfkc(c).is_some()) {
        phone_from_chars(value.chars().filter_map(simple_nfkc))
    } else {
        phone_from_chars(fold_text(value).chars())
    }
}

fn phone_from_chars(chars: impl Iterator<Item = char>) -> Option<String> {
    let mut digits = String::new();
    let mut plus = false;
    for c in chars {
        match c {
            '+' if digits.is_empty() => plus = true,
            '0'..='9' => digits.push(c),
            _ => {}
        }
    }
    if digits.is_empty() {
        return None;
    }
    Some(phone_from_digits(plus, &digits))
}

fn phone_from_digits(plus: bool, digits: &str) -> String {
    if plus && let Some(e164) = international(digits) {
        return e164;
    }
    let national = if let Some(rest) = digits.strip_prefix("010") {
        international(rest)
    } else if let Some(rest) = digits.strip_prefix("00") {
        international(rest)
    } else if let Some(rest) = digits.strip_prefix('0') {
        (9..=10).contains(&rest.len()).then(|| format!("+81{rest}"))
    } else if digits.starts_with("81") {
        international(digits).filter(|e| (12..=13).contains(&e.len()))
    } else {
        None
    };
    national.unwrap_or_else(|| digits.to_owned())
}

/// `+` and the digits when they form a plausible E.164 number (country code not starting with
/// 0, 7 to 15 digits); a Japanese trunk `0` written after the country code is dropped.
fn international(digits: &str) -> Option<String> {
    let digits = match digits.strip_prefix("810") {
        Some(rest) => format!("81{rest}"),
        None => digits.to_owned(),
    };
    let valid = !digits.starts_with('0') && (7..=15).contains(&digits.len());
    valid.then(|| format!("+{digits}"))
}

/// A pseudonymization key. The secret never leaves this type: `Debug` shows the id only and
/// the bytes are overwritten when the key is dropped.
pub struct Key {
    key_id: String,
    secret: Vec<u8>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("key_id", &self.key_id)
            .field(
                "secret",
                &format_args!("<{} bytes redacted>", self.secret.len()),
            )
            .finish()
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        for b in self.secret.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference into the vector. Volatile so
            // the compiler cannot remove the write as dead before the memory is freed.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl Key {
    /// Reads a key file (e.g. a systemd credential). The bytes are the key as they are; the
    /// file must hold at least 32 bytes and be closed to group and others.
    pub fn load(path: &Path, key_id: &str) -> Result<Key> {
        validate_key_id(key_id)?;
        let key_err = |message: String| Error::Key {
            path: path.to_path_buf(),
            message,
        };
        let mut file = File::open(path).map_err(|e| key_err(format!("cannot open: {e}")))?;
        // Checked on the open handle so the file cannot be swapped between check and read.
        let meta = file
            .metadata()
            .map_err(|e| key_err(format!("cannot stat: {e}")))?;
        if !meta.is_file() {
            return Err(key_err("not a regular file".into()));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 && !systemd_credential(path) {
            let what = if mode & 0o044 != 0 {
                "readable"
            } else {
                "writable or executable"
            };
            return Err(key_err(format!(
                "{what} by group or others (mode {mode:04o}); chmod 600"
            )));
        }
        let mut secret = Vec::with_capacity(64);
        file.read_to_end(&mut secret)
            .map_err(|e| key_err(format!("cannot read: {e}")))?;
        let key = Key {
            key_id: key_id.to_owned(),
            secret,
        };
        if key.secret.len() < MIN_KEY_BYTES {
            return Err(key_err(format!(
                "key is {} bytes; at least {MIN_KEY_BYTES} random bytes required",
                key.secret.len()
            )));
        }
        Ok(key)
    }

    /// A fresh key from the OS RNG, for an anonymous release: used once, never stored.
    pub fn random(key_id: &str) -> Result<Key> {
        validate_key_id(key_id)?;
        Ok(Key {
            key_id: key_id.to_owned(),
            secret: random_secret()?,
        })
    }

    /// The key for one recipient's release: HMAC(master, "recipient" 0x1f name). Its id is the
    /// master id plus 8 base32 characters keyed on the master, so the id tells releases apart
    /// without revealing or allowing a guess of the recipient.
    pub fn for_recipient(&self, recipient: &str) -> Key {
        let secret = self.derive(b"recipient", recipient).to_vec();
        let tag = self.derive(b"recipient-id", recipient);
        let key_id = format!("{}-{}", self.key_id, BASE32_LOWER.encode(&tag[..5]));
        Key { key_id, secret }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.secret).expect("HMAC accepts keys of any length")
    }

    fn derive(&self, label: &[u8], value: &str) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(label);
        mac.update(&[SEPARATOR]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

fn random_secret() -> Result<Vec<u8>> {
    let mut secret = vec![0; MIN_KEY_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut secret)
        .map_err(|e| Error::Other(format!("operating system random generator failed: {e}")))?;
    Ok(secret)
}

fn validate_key_id(key_id: &str) -> Result<()> {
    if key_id.is_empty() {
        return Err(Error::config("keys.key_id", "must not be empty"));
    }
    if !key_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(Error::config(
            "keys.key_id",
            format!("{key_id:?} may hold only ASCII letters, digits and '-'"),
        ));
    }
    Ok(())
}

/// Writes a new 32-byte key file with mode 0600. Refuses to overwrite an existing file, so a
/// key in use cannot be replaced by accident.
pub fn keygen(out: &Path) -> Result<()> {
    let key_err = |message: String| Error::Key {
        path: out.to_path_buf(),
        message,
    };
    // Held in a `Key` so the bytes are wiped on every return path.
    let key = Key {
        key_id: String::new(),
        secret: random_secret()?,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                key_err("already exists; refusing to overwrite a key".into())
            }
            _ => key_err(format!("cannot create: {e}")),
        })?;
    let written = file.write_all(&key.secret).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        // A partial key must not be mistaken for a good one on the next attempt.
        let _ = std::fs::remove_file(out);
        return Err(key_err(format!("cannot write: {e}")));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

/// Computes pseudonyms with one key. Holds the HMAC state already keyed and clones it per
/// value, so the key schedule runs once, not once per value.
#[derive(Clone)]
pub struct Pseudonymizer {
    key_id: String,
    mac: HmacSha256,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonymizer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Pseudonymizer {
    pub fn new(key: &Key) -> Self {
        Pseudonymizer {
            key_id: key.key_id.clone(),
            mac: key.mac(),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The first 16 bytes of HMAC(key, class 0x1f normalized).
    pub fn raw(&self, class: Class, normalized: &str) -> [u8; 16] {
        let mut mac = self.mac.clone();
        mac.update(class.as_str().as_bytes());
        mac.update(&[SEPARATOR]);
        mac.update(normalized.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    pub fn pseudonym(&self, class: Class, normalized: &str) -> String {
        let mut out = Vec::with_capacity(self.key_id.len() + 1 + PSEUDONYM_B32_LEN);
        write_raw(&self.key_id, &self.raw(class, normalized), &mut out);
        // A key id and base32 are both UTF-8.
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Normalizes, then pseudonymizes; `None` for NULL or a value that normalizes to nothing.
    pub fn pseudonymize(&self, class: Class, value: Option<&str>) -> Option<String> {
        let normalized = normalize(class, value?)?;
        Some(self.pseudonym(class, &normalized))
    }
}

/// A file systemd passed with `LoadCredential=`: systemd grants the unit's (dynamic) user
/// access with an ACL, which shows as group bits in the mode, and no other user can reach the
/// credentials directory, so the mode check does not apply.
fn systemd_credential(path: &Path) -> bool {
    in_credentials_directory(path, std::env::var_os("CREDENTIALS_DIRECTORY").as_deref())
}

fn in_credentials_directory(path: &Path, dir: Option<&std::ffi::OsStr>) -> bool {
    dir.is_some_and(|dir| !dir.is_empty() && path.parent() == Some(Path::new(dir)))
}

/// Appends `key_id_base32(raw)`: the published form of a raw pseudonym that was computed
/// earlier (the extract spills raw bytes and formats them when it writes).
pub fn write_raw(key_id: &str, raw: &[u8; 16], out: &mut Vec<u8>) {
    out.extend_from_slice(key_id.as_bytes());
    out.push(b'_');
    out.extend_from_slice(&base32(raw));
}

/// Lower-case RFC 4648 base32 of a raw pseudonym, without padding. The extract writes
/// millions of these; 40 bits at a time is several times faster than a general encoder.
pub fn base32(raw: &[u8; 16]) -> [u8; PSEUDONYM_B32_LEN] {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = [0; PSEUDONYM_B32_LEN];
    for (group, chars) in raw.chunks(5).zip(out.chunks_mut(8)) {
        let mut bits = [0u8; 8];
        bits[3..3 + group.len()].copy_from_slice(group);
        let bits = u64::from_be_bytes(bits);
        for (i, c) in chars.iter_mut().enumerate() {
            *c = ALPHABET[((bits >> (35 - 5 * i)) & 31) as usize];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_directly_in_the_credentials_directory_skip_the_mode_check() {
        let dir = Some(std::ffi::OsStr::new("/run/credentials/certanon.service"));
        assert!(in_credentials_directory(
            Path::new("/run/credentials/certanon.service/hmac-key"),
            dir
        ));
        assert!(!in_credentials_directory(
            Path::new("/etc/certanon/hmac-key"),
            dir
        ));
        assert!(!in_credentials_directory(
            Path::new("/run/credentials/certanon.service/x/key"),
            dir
        ));
        assert!(!in_credentials_directory(
            Path::new("/run/credentials/certanon.service/hmac-key"),
            None
        ));
        assert!(!in_credentials_directory(
            Path::new("/hmac-key"),
            Some(std::ffi::OsStr::new(""))
        ));
    }
    use proptest::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    fn key(secret: &[u8], id: &str) -> Key {
        Key {
            key_id: id.into(),
            secret: secret.to_vec(),
        }
    }

    fn hmac_hex(secret: &[u8], data: &[u8]) -> String {
        let mut mac = key(secret, "t").mac();
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn rfc4231_hmac_sha256() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                (1..=25).collect(),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than \
block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                    .to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (secret, data, want) in cases {
            assert_eq!(hmac_hex(&secret, &data), want);
        }
    }
    const TEST_SECRET: [u8; 32] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27, 28, 29, 30, 31,
    ];

    fn test_pseudonymizer() -> Pseudonymizer {
        Pseudonymizer::new(&key(&TEST_SECRET, "k2026"))
    }

    /// Vectors computed outside this code with Python's hmac/hashlib/base64, key bytes 0..=31.
    #[test]
    fn pseudonym_vectors_per_class() {
        let p = test_pseudonymizer();
        let cases = [
            (
                Class::Email,
                " Taro.Yamada@Example.CO.JP ",
                "k2026_diqaj6rzimet7xpnvxcug3ru6e",
            ),
            (
                Class::Phone,
                "03-1234-5678",
                "k2026_fuy5rzlaylh2nf2rs6pg2rjvg4",
            ),
            (
                Class::Person,
                "山田\u{3000}太郎",
                "k2026_ega5nwn5646ns4apvhy2wuwxcy",
            ),
            (
                Class::Organization,
                "株式会社Ｅｘａｍｐｌｅ",
                "k2026_7rtb3dvug6ynpjkf5aa26ivdaq",
            ),
            (
                Class::Address,
                "東京都 千代田区千代田１－１",
                "k2026_nklzuurweevpw7fwl4ah5ql4zq",
            ),
            (
                Class::Certificate,
                "12345",
                "k2026_clam7bsrwp52q7q2nu75vfjjde",
            ),
            (
                Class::Subscriber,
                " 42\n",
                "k2026_5qa2zwvbi6ncwjqdp4lxbcsmyq",
            ),
            (Class::AcmeAccount, "7", "k2026_r6muzm23fgqay2va3t7jkmriti"),
        ];
        for (class, value, want) in cases {
            assert_eq!(
                p.pseudonymize(class, Some(value)).as_deref(),
                Some(want),
                "{class:?}"
            );
        }
    }

    #[test]
    fn recipient_key_vector_and_separation() {
        let master = key(&TEST_SECRET, "k2026");
        let a = master.for_recipient("univ-a");
        assert_eq!(a.key_id(), "k2026-y6unk64k");
        let pa = Pseudonymizer::new(&a);
        assert_eq!(
            pa.pseudonym(Class::Email, "a@b.jp"),
            "k2026-y6unk64k_r2eqruifbc2cyx46dumqeug2ky"
        );
        let b = master.for_recipient("univ-b");
        assert_ne!(a.key_id(), b.key_id());
        let pb = Pseudonymizer::new(&b);
        let pm = Pseudonymizer::new(&master);
        assert_ne!(
            pa.raw(Class::Email, "a@b.jp"),
            pb.raw(Class::Email, "a@b.jp")
        );
        assert_ne!(
            pa.raw(Class::Email, "a@b.jp"),
            pm.raw(Class::Email, "a@b.jp")
        );
    }

    #[test]
    fn pseudonymizer_is_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Pseudonymizer>();
        let p = test_pseudonymizer();
        let from_threads: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| p.pseudonym(Class::Subscriber, "42")))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            from_threads
                .iter()
                .all(|x| x == "k2026_5qa2zwvbi6ncwjqdp4lxbcsmyq")
        );
    }

    #[test]
    fn write_raw_appends_the_published_form() {
        let p = test_pseudonymizer();
        let mut out = b"x,".to_vec();
        write_raw("k2026", &p.raw(Class::Subscriber, "42"), &mut out);
        assert_eq!(out, b"x,k2026_5qa2zwvbi6ncwjqdp4lxbcsmyq");
    }

    #[test]
    fn phone_forms_are_one_number() {
        for form in [
            "03-1234-5678",
            "０３（１２３４）５６７８",
            "+81 3 1234 5678",
            "(03) 1234-5678",
            "81-3-1234-5678",
            "+81 (0)3-1234-5678",
            "tel:+81-3-1234-5678",
            "010-81-3-1234-5678",
            "\u{3000}03 1234 5678\t",
        ] {
            assert_eq!(
                normalize(Class::Phone, form).as_deref(),
                Some("+81312345678"),
                "{form}"
            );
        }
        assert_eq!(
            normalize(Class::Phone, "090 1234 5678").as_deref(),
            Some("+819012345678")
        );
        assert_eq!(
            normalize(Class::Phone, "81-90-1234-5678").as_deref(),
            Some("+819012345678")
        );
        assert_eq!(
            normalize(Class::Phone, "+1 (415) 555-0100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            normalize(Class::Phone, "0044 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
    }

    #[test]
    fn phone_that_cannot_be_placed_keeps_its_digits() {
        assert_eq!(normalize(Class::Phone, "1234").as_deref(), Some("1234"));
        assert_eq!(
            normalize(Class::Phone, "03-1234").as_deref(),
            Some("031234")
        );
        assert_eq!(normalize(Class::Phone, "+12").as_deref(), Some("12"));
        // 81 followed by too few digits for a Japanese number is not taken as a country code.
        assert_eq!(
            normalize(Class::Phone, "8112345").as_deref(),
            Some("8112345")
        );
        assert_eq!(
            normalize(Class::Phone, "415-555-0100").as_deref(),
            Some("4155550100")
        );
        assert_eq!(normalize(Class::Phone, "n/a"), None);
        assert_eq!(normalize(Class::Phone, "  "), None);
    }

    #[test]
    fn email_is_case_folded_and_mailto_stripped() {
        for form in [
            "Taro@Example.JP",
            "mailto:taro@example.jp",
            "ＴＡＲＯ＠ｅｘａｍｐｌｅ．ｊｐ",
            " MAILTO: taro@example.jp",
        ] {
            assert_eq!(
                normalize(Class::Email, form).as_deref(),
                Some("taro@example.jp"),
                "{form}"
            );
        }
    }

    #[test]
    fn names_fold_space_and_width() {
        let want = Some("山田太郎".to_owned());
        assert_eq!(normalize(Class::Person, "山田 太郎"), want);
        assert_eq!(normalize(Class::Person, "山田\u{3000}太郎"), want);
        assert_eq!(normalize(Class::Person, " 山田太郎\n"), want);
        assert_eq!(
            normalize(Class::Person, "ﾔﾏﾀﾞ ﾀﾛｳ").as_deref(),
            Some("ヤマダタロウ")
        );
        assert_eq!(
            normalize(Class::Person, "  Taro \t YAMADA ").as_deref(),
            Some("taro yamada")
        );
        assert_eq!(
            normalize(Class::Person, "Ｔａｒｏ　Ｙａｍａｄａ").as_deref(),
            Some("taro yamada")
        );
        // A space between a Latin and a CJK word is a real word boundary.
        assert_eq!(
            normalize(Class::Organization, "ABC 株式会社").as_deref(),
            Some("abc 株式会社")
        );
        assert_eq!(
            normalize(Class::Address, "1\u{2212}2\u{2010}3").as_deref(),
            Some("1-2-3")
        );
        assert_eq!(normalize(Class::Person, " \u{3000}\t"), None);
        assert_eq!(normalize(Class::Subscriber, " 42 ").as_deref(), Some("42"));
    }

    #[test]
    fn simple_nfkc_agrees_with_the_tables() {
        use unicode_normalization::char::canonical_combining_class;
        let mut covered = 0;
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let Some(mapped) = simple_nfkc(c) else {
                continue;
            };
            covered += 1;
            let full: String = c.to_string().nfkc().collect();
            assert_eq!(full, mapped.to_string(), "U+{:04X}", u32::from(c));
            assert_eq!(
                is_nfkc_quick(std::iter::once(mapped)),
                IsNormalized::Yes,
                "U+{:04X} may compose with a neighbour",
                u32::from(mapped)
            );
            assert_eq!(canonical_combining_class(mapped), 0);
        }
        assert!(covered > 28_000, "{covered}");
    }

    #[test]
    fn nfkc_borrows_what_is_already_normalized() {
        assert!(matches!(nfkc("taro@example.jp"), Cow::Borrowed(_)));
        assert!(matches!(nfkc("山田太郎・やまだ"), Cow::Borrowed(_)));
        assert!(matches!(nfkc("café"), Cow::Borrowed(_)));
        assert_eq!(nfkc("山田\u{3000}太郎"), "山田 太郎");
        assert_eq!(nfkc("ＴＡＲＯ＠ｅｘ．ｊｐ"), "TARO@ex.jp");
        assert_eq!(nfkc("ﾀﾞﾛｳ"), "ダロウ");
        assert_eq!(nfkc("か\u{3099}"), "が");
        assert_eq!(nfkc("①ｶﾞ"), "1ガ");
    }

    #[test]
    fn classes_are_separated() {
        let p = test_pseudonymizer();
        for a in Class::ALL {
            for b in Class::ALL {
                if a != b {
                    assert_ne!(p.raw(a, "42"), p.raw(b, "42"), "{a:?} {b:?}");
                }
            }
        }
        assert_eq!(p.pseudonymize(Class::Email, None), None);
        assert_eq!(p.pseudonymize(Class::Email, Some("  ")), None);
    }

    fn write_key(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn key_message(err: Error) -> String {
        match err {
            Error::Key { message, .. } => message,
            other => panic!("expected a key error, got {other:?}"),
        }
    }

    #[test]
    fn key_file_checks() {
        let dir = tempfile::tempdir().unwrap();
        let secret = [7u8; 32];
        for mode in [0o600, 0o400] {
            let path = write_key(dir.path(), &format!("ok{mode:o}"), &secret, mode);
            let k = Key::load(&path, "k-1").unwrap();
            assert_eq!(k.secret, secret);
        }
        // Bytes are used as they are: a trailing newline is part of the key.
        let path = write_key(
            dir.path(),
            "nl",
            b"0123456789abcdef0123456789abcdef\n",
            0o600,
        );
        assert_eq!(Key::load(&path, "k").unwrap().secret.len(), 33);

        let path = write_key(dir.path(), "short", &secret[..31], 0o600);
        let message = key_message(Key::load(&path, "k").unwrap_err());
        assert!(message.contains("31 bytes"), "{message}");
        for mode in [0o640, 0o604, 0o644] {
            let path = write_key(dir.path(), &format!("open{mode:o}"), &secret, mode);
            let err = Key::load(&path, "k").unwrap_err();
            assert_eq!(err.exit_code(), crate::error::exit::CONFIG);
            let message = key_message(err);
            assert_eq!(
                message,
                format!("readable by group or others (mode {mode:04o}); chmod 600")
            );
        }
        let path = write_key(dir.path(), "gw", &secret, 0o620);
        assert!(key_message(Key::load(&path, "k").unwrap_err()).contains("mode 0620"));
        assert!(matches!(
            Key::load(&dir.path().join("missing"), "k"),
            Err(Error::Key { .. })
        ));
        assert!(matches!(Key::load(dir.path(), "k"), Err(Error::Key { .. })));
    }

    #[test]
    fn key_id_is_validated() {
        for bad in ["", "k_1", "k 1", "ключ", "k/1"] {
            match Key::random(bad) {
                Err(Error::Config { location, .. }) => assert_eq!(location, "keys.key_id"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(Key::random("Prod-2026-01").is_ok());
    }

    #[test]
    fn random_keys_differ_and_debug_hides_secret() {
        let a = Key::random("a").unwrap();
        let b = Key::random("a").unwrap();
        assert_eq!(a.secret.len(), 32);
        assert_ne!(a.secret, b.secret);
        let k = key(&[0xab; 32], "visible-id");
        let shown = format!("{k:?} {:?}", Pseudonymizer::new(&k));
        assert!(shown.contains("visible-id"));
        // 0xab shows up as "171" in a byte list and "ab" in hex.
        assert!(!shown.contains("171") && !shown.contains("abab"), "{shown}");
    }

    #[test]
    fn keygen_writes_private_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        keygen(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        let first = std::fs::read(&path).unwrap();
        assert_eq!(first.len(), 32);
        assert!(Key::load(&path, "k").is_ok());
        let err = keygen(&path).unwrap_err();
        assert!(key_message(err).contains("already exists"));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            first,
            "existing key must be untouched"
        );
    }

    fn any_text() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            any::<char>().prop_map(String::from),
            Just("\u{3000}".to_owned()),
            Just(" ".to_owned()),
            Just("\t".to_owned()),
            "[ぁ-んァ-ヶ一-龥]{1,3}",
            "[０-９Ａ-Ｚａ-ｚ（）－＋＠．]{1,3}",
            "[0-9+()\\- ]{1,4}",
            Just("mailto:".to_owned()),
            Just("\u{3099}".to_owned()),
            Just("\u{309b}".to_owned()),
            Just("\u{200b}".to_owned()),
            "[ｦ-ﾟ]{1,3}",
        ];
        proptest::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent(s in any_text(), class in proptest::sample::select(Class::ALL.to_vec())) {
            if let Some(once) = normalize(class, &s) {
                prop_assert_eq!(normalize(class, &once), Some(once));
            }
        }

        #[test]
        fn one_pass_fold_is_the_stepwise_fold(s in any_text()) {
            prop_assert_eq!(fold_text(&s), fold_text_in_steps(&s));
        }

        #[test]
        fn one_pass_normalization_is_the_stepwise_one(s in any_text(), address in any::<bool>()) {
            let mut folded = String::new();
            if fold_simple(&s, true, &mut folded) {
                prop_assert_eq!(&folded, &normalize_name_in_steps(&s, address));
            }
            if fold_simple(&s, false, &mut folded) {
                strip_mailto(&mut folded);
                prop_assert_eq!(folded, normalize_email_in_steps(&s));
            }
            prop_assert_eq!(normalize_phone(&s), phone_from_chars(fold_text(&s).chars()));
        }

        #[test]
        fn base32_is_rfc4648_lower_case(raw in any::<[u8; 16]>()) {
            let ours = base32(&raw);
            prop_assert_eq!(String::from_utf8_lossy(&ours), BASE32_LOWER.encode(&raw));
        }

        #[test]
        fn nfkc_is_unicode_nfkc(s in any_text()) {
            prop_assert_eq!(nfkc(&s).into_owned(), s.nfkc().collect::<String>());
        }

        #[test]
        fn pseudonym_has_the_published_shape(s in any_text(), class in proptest::sample::select(Class::ALL.to_vec())) {
            let p = test_pseudonymizer();
            if let Some(ps) = p.pseudonymize(class, Some(&s)) {
                let (id, b32) = ps.split_once('_').unwrap();
                prop_assert!(!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
                prop_assert_eq!(b32.len(), PSEUDONYM_B32_LEN);
                prop_assert!(b32.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')));
            }
        }
    }

    proptest! {
        // 10 kB strings are slow to generate; a few dozen cover the length.
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn long_input_never_panics(s in "[\\PC　 ]{10000}") {
            let p = test_pseudonymizer();
            for class in Class::ALL {
                let _ = p.pseudonymize(class, Some(&s));
            }
        }
    }
}
