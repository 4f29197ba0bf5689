//! The process environment: the one module that reads it.
//!
//! `Env` is a snapshot taken once in `main`; everything else receives it (or values
//! taken from it) as an argument, so tests and the flow never depend on ambient
//! state. It also knows where the AWS files are (`AWS_CONFIG_FILE`,
//! `AWS_SHARED_CREDENTIALS_FILE`, a leading `~` expanded, defaults under
//! `~/.aws/`).
//!
//! Never writes the environment, and nothing else calls `std::env::var`.

use anyhow::{anyhow, Result};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
    home: Option<PathBuf>,
}

impl Env {
    /// Snapshot of the real process environment.
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os().collect(),
            home: dirs::home_dir(),
        }
    }

    /// An environment made of the given pairs (tests).
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)], home: Option<&str>) -> Env {
        Env {
            vars: pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .collect(),
            home: home.map(PathBuf::from),
        }
    }

    /// A variable as UTF-8, `None` when unset, empty or not UTF-8.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(OsStr::new(key))
            .and_then(|v| v.to_str())
            .filter(|v| !v.is_empty())
    }

    pub fn get_os(&self, key: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(key)).map(|v| v.as_os_str())
    }

    /// Every variable, for building the child's environment.
    pub fn vars(&self) -> impl Iterator<Item = (&OsString, &OsString)> {
        self.vars.iter()
    }

    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    fn aws_file(&self, var: &str, default: &str) -> Result<PathBuf> {
        match self.get(var) {
            Some(p) => self.expand_tilde(p),
            None => {
                let home = self.home().ok_or_else(|| {
                    anyhow!("cannot find the home directory; set {var} to the file's path")
                })?;
                Ok(home.join(".aws").join(default))
            }
        }
    }

    /// `AWS_CONFIG_FILE`, else `~/.aws/config`.
    pub fn config_path(&self) -> Result<PathBuf> {
        self.aws_file("AWS_CONFIG_FILE", "config")
    }

    /// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
    pub fn credentials_path(&self) -> Result<PathBuf> {
        self.aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
    }

    /// Expands a leading `~` or `~/` to the home directory.
    pub fn expand_tilde(&self, p: &str) -> Result<PathBuf> {
        if p == "~" || p.starts_with("~/") {
            let home = self
                .home()
                .ok_or_else(|| anyhow!("cannot expand '~' in {p}: no home directory"))?;
            Ok(if p == "~" {
                home.to_path_buf()
            } else {
                home.join(&p[2..])
            })
        } else {
            Ok(PathBuf::from(p))
        }
    }

    /// Shows a path with the home directory as `~`, for messages.
    pub fn display_path(&self, p: &Path) -> String {
        if let Some(home) = self.home() {
            if let Ok(rest) = p.strip_prefix(home) {
                return format!("~/{}", rest.display());
            }
        }
        p.display().to_string()
    }
}

/// `MFA_EXEC_TEST_PAUSE`, read at the moment of use (debug builds only; see
/// `testhook.rs`).
#[cfg(debug_assertions)]
pub fn test_hook() -> Option<String> {
    std::env::var("MFA_EXEC_TEST_PAUSE").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let e = Env::from_pairs(&[], Some("/h"));
        assert_eq!(e.config_path().unwrap(), PathBuf::from("/h/.aws/config"));
        assert_eq!(
            e.credentials_path().unwrap(),
            PathBuf::from("/h/.aws/credentials")
        );
        let e = Env::from_pairs(
            &[
                ("AWS_CONFIG_FILE", "~/x/config"),
                ("AWS_SHARED_CREDENTIALS_FILE", "/abs/creds"),
            ],
            Some("/h"),
        );
        assert_eq!(e.config_path().unwrap(), PathBuf::from("/h/x/config"));
        assert_eq!(e.credentials_path().unwrap(), PathBuf::from("/abs/creds"));
        assert_eq!(e.display_path(Path::new("/h/.aws/config")), "~/.aws/config");
    }

    #[test]
    fn empty_is_unset() {
        let e = Env::from_pairs(&[("AWS_CONFIG_FILE", "")], Some("/h"));
        assert_eq!(e.config_path().unwrap(), PathBuf::from("/h/.aws/config"));
        assert!(Env::from_pairs(&[], None).config_path().is_err());
    }
}
