//! Settings and where they come from: flags > `KITH_*` environment > `kith.toml` > defaults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::failure::Failure;

pub const DEFAULT_DATABASE: &str = "./kith.db";
pub const DEFAULT_CONFIG: &str = "./kith.toml";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// The configuration file (`docs/configuration.md` documents every key).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database: Option<String>,
    #[serde(default)]
    pub community: CommunityConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Per-source settings, by source name.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunityConfig {
    pub name: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Merge candidates scoring at or above this are merged automatically.
    pub threshold: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub base_url: Option<String>,
}

/// The environment, read once (tests pass their own).
#[derive(Debug, Default, Clone)]
pub struct Env {
    pub database: Option<String>,
    pub config: Option<String>,
    pub bind: Option<String>,
    pub time_zone: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Env {
            database: var("KITH_DATABASE"),
            config: var("KITH_CONFIG"),
            bind: var("KITH_BIND"),
            time_zone: var("KITH_TIME_ZONE"),
        }
    }
}

/// Everything resolved.
#[derive(Debug)]
pub struct Settings {
    pub file: FileConfig,
    /// Where the file came from (None: no file).
    pub file_path: Option<PathBuf>,
    env: Env,
    database_flag: Option<String>,
}

impl Settings {
    /// Loads the configuration file named by `--config`, else `KITH_CONFIG`, else `./kith.toml`
    /// when it exists. A file named explicitly must exist.
    pub fn load(
        config_flag: Option<&Path>,
        database_flag: Option<String>,
        env: Env,
    ) -> Result<Settings, Failure> {
        let (path, explicit) = match (config_flag, &env.config) {
            (Some(p), _) => (p.to_path_buf(), true),
            (None, Some(p)) => (PathBuf::from(p), true),
            (None, None) => (PathBuf::from(DEFAULT_CONFIG), false),
        };
        let (file, file_path) = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let file = toml::from_str(&text).map_err(|e| {
                    Failure::Usage(format!(
                        "configuration file {}: {}",
                        path.display(),
                        e.to_string().trim_end()
                    ))
                })?;
                (file, Some(path))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                (FileConfig::default(), None)
            }
            Err(e) => {
                return Err(Failure::Usage(format!(
                    "cannot read configuration file {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(Settings {
            file,
            file_path,
            env,
            database_flag,
        })
    }

    /// The database URL: `--database` > `KITH_DATABASE` > file > `./kith.db`.
    pub fn database(&self) -> String {
        self.database_flag
            .clone()
            .or_else(|| self.env.database.clone())
            .or_else(|| self.file.database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned())
    }

    /// The database given with `--database` on this command line, if any (what `demo` uses).
    pub fn database_flag(&self) -> Option<&str> {
        self.database_flag.as_deref()
    }

    /// The address to serve on: flag > `KITH_BIND` > file > 127.0.0.1:8080.
    pub fn bind(&self, flag: Option<SocketAddr>) -> Result<SocketAddr, Failure> {
        if let Some(addr) = flag {
            return Ok(addr);
        }
        let (text, origin) = match (&self.env.bind, &self.file.server.bind) {
            (Some(b), _) => (b.as_str(), "KITH_BIND"),
            (None, Some(b)) => (b.as_str(), "server.bind in the configuration file"),
            (None, None) => (DEFAULT_BIND, "the default"),
        };
        text.parse().map_err(|_| {
            Failure::Usage(format!(
                "{origin}: `{text}` is not an address like 127.0.0.1:8080"
            ))
        })
    }

    /// The time zone to set at `init`: flag > `KITH_TIME_ZONE` > file; None keeps what is stored.
    pub fn time_zone(&self, flag: Option<&str>) -> Result<Option<String>, Failure> {
        let Some(zone) = flag
            .map(str::to_owned)
            .or_else(|| self.env.time_zone.clone())
            .or_else(|| self.file.community.time_zone.clone())
        else {
            return Ok(None);
        };
        zone.parse::<chrono_tz::Tz>()
            .map(|_| Some(zone.clone()))
            .map_err(|_| Failure::Usage(format!("`{zone}` is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)")))
    }

    /// The automatic merge threshold: flag > file > 0.9.
    pub fn merge_threshold(&self, flag: Option<f64>) -> Result<f64, Failure> {
        let t = flag
            .or(self.identity_threshold())
            .unwrap_or(kith_identity::DEFAULT_THRESHOLD);
        if !(0.0..=1.0).contains(&t) || t.is_nan() {
            return Err(Failure::Usage(format!(
                "the merge threshold must be between 0 and 1, not {t}"
            )));
        }
        Ok(t)
    }

    fn identity_threshold(&self) -> Option<f64> {
        self.file.identity.threshold
    }

    pub fn community_name(&self, flag: Option<&str>) -> Option<String> {
        flag.map(str::to_owned)
            .or_else(|| self.file.community.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("kith.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "database = \"file.db\"\n[server]\nbind = \"127.0.0.1:9001\"\n",
        );

        let s = Settings::load(Some(&file), None, Env::default()).unwrap();
        assert_eq!(s.database(), "file.db");
        assert_eq!(s.bind(None).unwrap().port(), 9001);

        let env = Env {
            database: Some("env.db".into()),
            bind: Some("127.0.0.1:9002".into()),
            ..Env::default()
        };
        let s = Settings::load(Some(&file), None, env.clone()).unwrap();
        assert_eq!(s.database(), "env.db");
        assert_eq!(s.bind(None).unwrap().port(), 9002);

        let s = Settings::load(Some(&file), Some("flag.db".into()), env).unwrap();
        assert_eq!(s.database(), "flag.db");
        assert_eq!(
            s.bind(Some("127.0.0.1:9003".parse().unwrap()))
                .unwrap()
                .port(),
            9003
        );
    }

    #[test]
    fn defaults_apply_without_a_file() {
        let s = Settings::load(
            None,
            None,
            Env {
                config: None,
                ..Env::default()
            },
        )
        .unwrap();
        // ./kith.toml may not exist in the test's working directory; the defaults hold.
        if s.file_path.is_none() {
            assert_eq!(s.database(), DEFAULT_DATABASE);
            assert_eq!(s.bind(None).unwrap().to_string(), DEFAULT_BIND);
        }
    }

    #[test]
    fn an_explicit_missing_file_is_a_usage_error() {
        let e = Settings::load(
            Some(Path::new("/nonexistent/kith.toml")),
            None,
            Env::default(),
        )
        .unwrap_err();
        assert!(
            matches!(e, Failure::Usage(ref m) if m.contains("/nonexistent/kith.toml")),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "databse = \"typo.db\"\n");
        let e = Settings::load(Some(&file), None, Env::default()).unwrap_err();
        assert!(
            matches!(e, Failure::Usage(ref m) if m.contains("databse")),
            "{e:?}"
        );

        let file = write(dir.path(), "[community]\ntime_zone = \"Mars/Olympus\"\n");
        let s = Settings::load(Some(&file), None, Env::default()).unwrap();
        assert!(matches!(s.time_zone(None), Err(Failure::Usage(m)) if m.contains("Mars/Olympus")));
        assert_eq!(
            s.time_zone(Some("Europe/Berlin")).unwrap().as_deref(),
            Some("Europe/Berlin")
        );
    }
}
