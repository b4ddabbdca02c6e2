//! A team's minisign key pair: made fresh, read from a secret key file (ours, or one made by
//! `minisign -G`, encrypted or not), written as the two files minisign itself uses.

use std::{
    env,
    fs::{self, File, OpenOptions},
    io::{self, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    path::Path,
};

use anyhow::{Context as _, bail};
use minisign::{KeyPair, PublicKey, SecretKey, SecretKeyBox};

/// The environment variable holding the password of an encrypted secret key. Never a flag:
/// command lines are visible to every user of the machine.
pub const PASSWORD_ENV: &str = "FRONTDOOR_SIGNING_PASSWORD";

/// A team's signing key: the secret key and the public key that belongs to it.
#[derive(Clone)]
pub struct TeamKey {
    secret: SecretKey,
    public: PublicKey,
}

impl TeamKey {
    /// A new key pair from the OS's random source.
    pub fn generate() -> anyhow::Result<Self> {
        let KeyPair { pk, sk } =
            KeyPair::generate_unencrypted_keypair().context("cannot generate a key pair")?;
        Ok(Self {
            secret: sk,
            public: pk,
        })
    }

    /// Reads the secret key file at `path`; an encrypted one is opened with the password in
    /// [`PASSWORD_ENV`].
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read the secret key {}", path.display()))?;
        let password = env::var(PASSWORD_ENV).ok();
        Self::from_secret_key_file(&text, password.as_deref())
            .with_context(|| format!("cannot use the secret key {}", path.display()))
    }

    /// Reads the text of a minisign secret key file. An unencrypted key ignores `password`;
    /// an encrypted one needs it.
    pub fn from_secret_key_file(text: &str, password: Option<&str>) -> anyhow::Result<Self> {
        let key_box = || SecretKeyBox::from_string(text).context("not a minisign secret key");
        let unencrypted_error = match SecretKey::from_unencrypted_box(key_box()?) {
            Ok(secret) => return Self::from_secret(secret),
            Err(error) => error,
        };
        if let Some(secret) = unencrypted_without_checksum(text) {
            let key = Self::from_secret(secret)?;
            // No checksum vouches for these bytes: a trial signature, checked against the
            // public half, does.
            minisign::sign(Some(&key.public), &key.secret, &b""[..], None, None)
                .context("the secret key is corrupted: its halves do not match")?;
            return Ok(key);
        }
        match password {
            // Always with a password: given none, minisign would prompt on the terminal.
            Some(password) => Self::from_secret(
                SecretKey::from_box(key_box()?, Some(password.to_owned()))
                    .context("cannot decrypt the secret key with the password given")?,
            ),
            None => bail!(
                "not an unencrypted minisign secret key ({unencrypted_error}); if it is encrypted, set {PASSWORD_ENV} to its password"
            ),
        }
    }

    fn from_secret(secret: SecretKey) -> anyhow::Result<Self> {
        let public = PublicKey::from_secret_key(&secret)
            .context("cannot derive the public key from the secret key")?;
        Ok(Self { secret, public })
    }

    pub fn secret_key(&self) -> &SecretKey {
        &self.secret
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public key's base64 line (`RW...`), as `[fleet.keys]` lists it.
    pub fn public_key_base64(&self) -> String {
        self.public.to_base64()
    }

    /// The public key file's text, as `minisign -G` writes `minisign.pub`.
    pub fn public_key_file(&self) -> anyhow::Result<String> {
        Ok(self
            .public
            .to_box()
            .context("cannot encode the public key")?
            .into_string())
    }

    /// The unencrypted secret key file's text.
    pub fn secret_key_file(&self, team: &str) -> anyhow::Result<String> {
        let comment = format!("unencrypted minisign secret key of team {team}");
        Ok(self
            .secret
            .to_box(Some(&comment))
            .context("cannot encode the secret key")?
            .into_string())
    }

    /// Writes `secret_path` (mode 0600) and `public_path`, refusing to replace either if it
    /// exists: a lost secret key cannot be recovered, and its public key may be trusted by
    /// hosts already.
    pub fn write_new(
        &self,
        team: &str,
        secret_path: &Path,
        public_path: &Path,
    ) -> anyhow::Result<()> {
        for path in [secret_path, public_path] {
            if path.symlink_metadata().is_ok() {
                bail!(
                    "{} exists: refusing to overwrite a key file",
                    path.display()
                );
            }
        }
        write_new_file(secret_path, &self.secret_key_file(team)?, 0o600)?;
        if let Err(error) = write_new_file(public_path, &self.public_key_file()?, 0o644) {
            // Half a pair is no use: the next attempt should find neither file.
            let _ = fs::remove_file(secret_path);
            return Err(error);
        }
        Ok(())
    }
}

/// Keeps the secret key out of debug output.
impl std::fmt::Debug for TeamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamKey")
            .field("public", &self.public_key_base64())
            .finish_non_exhaustive()
    }
}

/// The key in `text` when it is an unencrypted key as `minisign -G -W` writes it: the
/// `minisign` tool leaves the checksum of those zero, which the minisign crate takes for
/// corruption.
fn unencrypted_without_checksum(text: &str) -> Option<SecretKey> {
    use base64::Engine as _;
    let encoded = text.lines().nth(1)?.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let checksum = bytes.get(SECRET_KEY_BYTES - CHECKSUM_BYTES..)?;
    if bytes.len() != SECRET_KEY_BYTES || checksum.iter().any(|&byte| byte != 0) {
        return None;
    }
    let secret = SecretKey::from_bytes(&bytes).ok()?;
    // An encrypted key's checksum never matches its still-encrypted bytes.
    (!secret.is_encrypted()).then_some(secret)
}

/// A minisign secret key's size: algorithms (3 x 2), KDF salt (32) and limits (2 x 8), key
/// id (8), secret and public key (64), checksum (32).
const SECRET_KEY_BYTES: usize = 158;
/// Its checksum, the last bytes.
const CHECKSUM_BYTES: usize = 32;

/// Creates `path` with `mode` (never following or replacing an existing file), writes
/// `contents` and flushes it.
fn write_new_file(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    let file: io::Result<File> = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path);
    let mut file = match file {
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            bail!(
                "{} exists: refusing to overwrite a key file",
                path.display()
            )
        }
        other => other.with_context(|| format!("cannot create {}", path.display()))?,
    };
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()));
    if written.is_err() {
        // A truncated key file would pass for a key until it is used.
        let _ = fs::remove_file(path);
    }
    written
}
