//! Keyed pseudonyms: the key (loaded, generated, derived per recipient), the HMAC and the
//! published base32 form.
//!
//! `pseudonym = key_id "_" base32lower(HMAC-SHA256(key, class 0x1f normalized)[..16])`. A
//! value is first brought to its one spelling by [`normalize`] (the rules are in
//! [`crate::transform::normalize`]), so every spelling of one e-mail address, phone number or
//! name gives one pseudonym; the class keeps equal text of different kinds apart. The scan
//! does both per value in `record`: [`normalize_into`], then [`Pseudonymizer::raw`].

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::LazyLock;

use data_encoding::Encoding;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::transform::normalize;

/// With the `zeroize` features of `hmac` and `sha2`, the keyed state (an inner and an outer
/// SHA-256 core, and the block buffer) is overwritten when dropped: the state a
/// [`Pseudonymizer`] keeps and each per-value clone that `finalize` consumes. `Hmac` does not
/// declare `ZeroizeOnDrop` itself, so the check below is on its parts.
type HmacSha256 = Hmac<Sha256>;

const _: () = {
    const fn wiped_on_drop<T: ZeroizeOnDrop>() {}
    wiped_on_drop::<<Sha256 as hmac::EagerHash>::Core>();
    wiped_on_drop::<Zeroizing<Vec<u8>>>();
};

/// Minimum key length: one SHA-256 output, as RFC 2104 recommends.
const MIN_KEY_BYTES: usize = 32;
/// Length of the base32 part of a pseudonym (16 bytes, no padding).
pub(crate) const PSEUDONYM_B32_LEN: usize = 26;

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
    pub(crate) fn as_str(self) -> &'static str {
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
/// Row ids (subscriber, certificate, ACME account) are trimmed only.
pub fn normalize(class: Class, value: &str) -> Option<String> {
    let mut out = String::new();
    normalize_into(class, value, &mut out).then_some(out)
}

/// [`normalize`] into a buffer the caller reuses (the scan normalizes millions of values);
/// false when the value normalizes to nothing.
pub(crate) fn normalize_into(class: Class, value: &str, out: &mut String) -> bool {
    out.clear();
    match class {
        Class::Subscriber | Class::Certificate | Class::AcmeAccount => out.push_str(value.trim()),
        Class::Email => normalize::email(value, out),
        Class::Phone => normalize::phone(value, out),
        Class::Person => normalize::name(value, out),
        Class::Organization => normalize::organization(value, out),
        Class::Address => normalize::address(value, out),
    }
    !out.is_empty()
}

/// A pseudonymization key. The secret never leaves this type: `Debug` shows the id only and
/// the bytes are overwritten when the key is dropped.
pub struct Key {
    key_id: String,
    secret: Zeroizing<Vec<u8>>,
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

impl Key {
    /// Reads a key file (e.g. a systemd credential). The bytes are the key as they are; the
    /// file must hold at least 32 bytes and be closed to group and others.
    pub(crate) fn load(path: &Path, key_id: &str) -> Result<Key> {
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
        // Sized from the file up front: a vector that grows leaves copies of the key behind in
        // memory it has already freed, where nothing wipes them.
        let size = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        let mut secret = Zeroizing::new(Vec::with_capacity(size.saturating_add(1).min(1 << 20)));
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
    pub(crate) fn for_recipient(&self, recipient: &str) -> Key {
        let secret = Zeroizing::new(self.derive(b"recipient", recipient).to_vec());
        let tag = self.derive(b"recipient-id", recipient);
        let key_id = format!("{}-{}", self.key_id, BASE32_LOWER.encode(&tag[..5]));
        Key { key_id, secret }
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

fn random_secret() -> Result<Zeroizing<Vec<u8>>> {
    let mut secret = Zeroizing::new(vec![0; MIN_KEY_BYTES]);
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

    pub(crate) fn key_id(&self) -> &str {
        &self.key_id
    }

    /// HMAC(key, label 0x1f data): a secret of the key's for another use than pseudonyms
    /// (`label` is never a class name, so it never equals a pseudonym's HMAC).
    pub(crate) fn derive(&self, label: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(label.as_bytes());
        mac.update(&[SEPARATOR]);
        mac.update(data);
        mac.finalize().into_bytes().into()
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
}

/// Where systemd puts the credentials of a unit; only root can create anything there.
const SYSTEMD_CREDENTIALS: &str = "/run/credentials";

/// A file systemd passed with `LoadCredential=`: systemd grants the unit's (dynamic) user
/// access with an ACL, which shows as group bits in the mode, and no other user can reach the
/// credentials directory, so the mode check does not apply. Anyone can set
/// `$CREDENTIALS_DIRECTORY`, so it counts only when it names a directory under
/// `/run/credentials/`.
fn systemd_credential(path: &Path) -> bool {
    in_credentials_directory(path, std::env::var_os("CREDENTIALS_DIRECTORY").as_deref())
}

fn in_credentials_directory(path: &Path, dir: Option<&std::ffi::OsStr>) -> bool {
    use std::path::Component;
    let Some(dir) = dir.map(Path::new) else {
        return false;
    };
    let plain = |p: &Path| {
        p.components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
    };
    dir.starts_with(SYSTEMD_CREDENTIALS)
        && dir != Path::new(SYSTEMD_CREDENTIALS)
        && plain(dir)
        && plain(path)
        && path.parent() == Some(dir)
}

/// Appends `key_id_base32(raw)`: the published form of a raw pseudonym that was computed
/// earlier (the extract spills raw bytes and formats them when it writes).
pub(crate) fn write_raw(key_id: &str, raw: &[u8; 16], out: &mut Vec<u8>) {
    out.extend_from_slice(key_id.as_bytes());
    out.push(b'_');
    out.extend_from_slice(&base32(raw));
}

/// Lower-case RFC 4648 base32 of a raw pseudonym, without padding. The extract writes
/// millions of these; 40 bits at a time is several times faster than a general encoder.
pub(crate) fn base32(raw: &[u8; 16]) -> [u8; PSEUDONYM_B32_LEN] {
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

    #[test]
    fn a_credentials_directory_outside_run_credentials_does_not_skip_the_mode_check() {
        let skips = |path: &str, dir: &str| {
            in_credentials_directory(Path::new(path), Some(std::ffi::OsStr::new(dir)))
        };
        assert!(!skips("/tmp/creds/hmac-key", "/tmp/creds"));
        assert!(!skips("/etc/certanon/hmac-key", "/etc/certanon"));
        assert!(!skips("/run/credentials-x/hmac-key", "/run/credentials-x"));
        assert!(!skips("/run/credentials/hmac-key", "/run/credentials"));
        assert!(!skips(
            "/run/credentials/../../tmp/hmac-key",
            "/run/credentials/../../tmp"
        ));
        assert!(!skips(
            "/run/credentials/certanon.service/..",
            "/run/credentials/certanon.service"
        ));
        assert!(skips(
            "/run/credentials/certanon.service/hmac-key",
            "/run/credentials/certanon.service"
        ));
    }
    use crate::transform::normalize::tests::any_text;
    use proptest::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    fn key(secret: &[u8], id: &str) -> Key {
        Key {
            key_id: id.into(),
            secret: Zeroizing::new(secret.to_vec()),
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

    const ALL_CLASSES: [Class; 8] = [
        Class::Email,
        Class::Phone,
        Class::Person,
        Class::Organization,
        Class::Address,
        Class::Certificate,
        Class::Subscriber,
        Class::AcmeAccount,
    ];

    /// What the scan publishes for a value: `None` for NULL or a value that normalizes to
    /// nothing.
    fn pseudonymize(p: &Pseudonymizer, class: Class, value: Option<&str>) -> Option<String> {
        Some(p.pseudonym(class, &normalize(class, value?)?))
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
                pseudonymize(&p, class, Some(value)).as_deref(),
                Some(want),
                "{class:?}"
            );
        }
    }

    #[test]
    fn recipient_key_vector_and_separation() {
        let master = key(&TEST_SECRET, "k2026");
        let a = master.for_recipient("univ-a");
        assert_eq!(a.key_id, "k2026-y6unk64k");
        let pa = Pseudonymizer::new(&a);
        assert_eq!(
            pa.pseudonym(Class::Email, "a@b.jp"),
            "k2026-y6unk64k_r2eqruifbc2cyx46dumqeug2ky"
        );
        let b = master.for_recipient("univ-b");
        assert_ne!(a.key_id, b.key_id);
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
    fn classes_are_separated() {
        let p = test_pseudonymizer();
        for a in ALL_CLASSES {
            for b in ALL_CLASSES {
                if a != b {
                    assert_ne!(p.raw(a, "42"), p.raw(b, "42"), "{a:?} {b:?}");
                }
            }
        }
        assert_eq!(pseudonymize(&p, Class::Email, None), None);
        assert_eq!(pseudonymize(&p, Class::Email, Some("  ")), None);
        assert_eq!(normalize(Class::Subscriber, " 42 ").as_deref(), Some("42"));
    }

    #[test]
    fn one_company_or_number_as_people_write_it_is_one_pseudonym() {
        let p = test_pseudonymizer();
        let one = |class, forms: &[&str]| {
            let pseudonyms: std::collections::BTreeSet<_> = forms
                .iter()
                .map(|f| pseudonymize(&p, class, Some(f)))
                .collect();
            pseudonyms.len() == 1
        };
        let company = [
            "(株)日本レジストリ",
            "株式会社　日本レジストリ",
            "㈱日本レジストリ",
        ];
        assert!(one(Class::Organization, &company));
        // The legal form is folded for organizations only.
        assert!(!one(Class::Person, &company));
        assert!(!one(Class::Address, &company));
        assert!(!one(
            Class::Organization,
            &["株式会社日本レジストリ", "日本レジストリ株式会社"]
        ));
        assert!(one(
            Class::Phone,
            &[
                "03-1234-5678",
                "03-1234-5678 内線123",
                "03-1234-5678 ext. 12"
            ]
        ));
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
            assert_eq!(k.secret.as_slice(), secret);
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

    proptest! {
        #[test]
        fn base32_is_rfc4648_lower_case(raw in any::<[u8; 16]>()) {
            let ours = base32(&raw);
            prop_assert_eq!(String::from_utf8_lossy(&ours), BASE32_LOWER.encode(&raw));
        }

        #[test]
        fn pseudonym_has_the_published_shape(s in any_text(), class in proptest::sample::select(ALL_CLASSES.to_vec())) {
            let p = test_pseudonymizer();
            if let Some(ps) = pseudonymize(&p, class, Some(&s)) {
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
            for class in ALL_CLASSES {
                let _ = pseudonymize(&p, class, Some(&s));
            }
        }
    }
}
