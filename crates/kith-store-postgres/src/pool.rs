//! A small connection pool: idle connections wait in a vector, a caller takes one (or opens a
//! new one) and the guard gives it back when dropped, unless it broke or is inside a failed
//! transaction.

use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, PoisonError};

use kith_store::{StoreError, StoreResult};
use postgres::{Client, Config, NoTls};

/// At most this many idle connections are kept; more concurrent callers get connections of their
/// own that are closed after use.
const MAX_IDLE: usize = 8;

pub(crate) struct Pool {
    config: Config,
    /// The connection target without credentials, for messages.
    pub(crate) location: String,
    idle: Mutex<Vec<Client>>,
}

impl Pool {
    pub(crate) fn new(url: &str) -> StoreResult<Pool> {
        let location = redact(url);
        let config: Config = url.parse().map_err(|e| {
            StoreError::Invalid(format!(
                "`{location}` is not a PostgreSQL connection string: {e}"
            ))
        })?;
        Ok(Pool {
            config,
            location,
            idle: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// An idle connection, or a new one.
    pub(crate) fn get(&self) -> StoreResult<Conn<'_>> {
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let client = match reused {
            Some(c) if !c.is_closed() => c,
            _ => self.open()?,
        };
        Ok(Conn {
            pool: self,
            client: Some(client),
            reusable: true,
        })
    }

    fn open(&self) -> StoreResult<Client> {
        self.config
            .connect(NoTls)
            .map_err(|e| StoreError::Unreachable {
                location: self.location.clone(),
                detail: e.to_string(),
            })
    }
}

/// A connection on loan from the pool.
pub(crate) struct Conn<'p> {
    pool: &'p Pool,
    client: Option<Client>,
    reusable: bool,
}

impl Conn<'_> {
    /// Do not return this connection to the pool (its session state is unknown).
    pub(crate) fn discard(&mut self) {
        self.reusable = false;
    }
}

impl Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        // Always Some until drop.
        self.client
            .as_ref()
            .unwrap_or_else(|| unreachable!("connection used after being returned"))
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .unwrap_or_else(|| unreachable!("connection used after being returned"))
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if !self.reusable || client.is_closed() {
            return;
        }
        let mut idle = self
            .pool
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(client);
        }
    }
}

/// The connection string without its password, for messages and `describe`.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // URL form: scheme://[user[:password]@]host...
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                format!("{user}@{host}")
            }
            None => authority.to_owned(),
        };
        // A password may also hide in the query string.
        let tail = tail
            .split('&')
            .map(|part| {
                let (prefix, kv) = match part.split_once('?') {
                    Some((p, kv)) => (format!("{p}?"), kv),
                    None => (String::new(), part),
                };
                if kv.starts_with("password=") {
                    format!("{prefix}password=***")
                } else {
                    part.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        format!("{scheme}://{authority}{tail}")
    } else {
        redact_keywords(url)
    }
}

/// `keyword=value` form: `password = 'x y'` and friends become `password=***`.
fn redact_keywords(url: &str) -> String {
    let mut out = String::new();
    let mut rest = url;
    while let Some(i) = rest.find("password") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "password".len()..];
        let Some(value) = after.trim_start().strip_prefix('=') else {
            out.push_str("password");
            rest = after;
            continue;
        };
        let value = value.trim_start();
        let end = if let Some(quoted) = value.strip_prefix('\'') {
            let mut escaped = false;
            let close = quoted.char_indices().find(|&(_, c)| {
                let end = c == '\'' && !escaped;
                escaped = c == '\\' && !escaped;
                end
            });
            close.map_or(value.len(), |(j, _)| j + 2)
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        out.push_str("password=***");
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_removed_from_urls_and_keyword_strings() {
        assert_eq!(
            redact("postgres://kith:s3cret@db.example.org:5432/kith"),
            "postgres://kith@db.example.org:5432/kith"
        );
        assert_eq!(
            redact("postgresql://db/kith?user=a&password=x"),
            "postgresql://db/kith?user=a&password=***"
        );
        assert_eq!(redact("postgres://kith@db/kith"), "postgres://kith@db/kith");
        assert_eq!(
            redact("host=/tmp port=5 user=u password=pw dbname=d"),
            "host=/tmp port=5 user=u password=*** dbname=d"
        );
        assert_eq!(
            redact("host=db password = pw dbname=d"),
            "host=db password=*** dbname=d"
        );
        assert_eq!(
            redact("host=db password='a \\' b' dbname=d"),
            "host=db password=*** dbname=d"
        );
        assert!(!redact("postgres://u:p%40ss@h/d").contains("p%40ss"));
    }
}
