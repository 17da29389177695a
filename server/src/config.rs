//! The server's configuration: command-line flags, each with an environment variable.
//!
//! The doc comment of every field is its `--help` text, so `partway-server --help` is
//! the manual.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default address: loopback only, so a development server is never exposed by accident.
pub const DEFAULT_BIND: &str = "127.0.0.1:8787";
/// Default largest file: 10 GiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024 * 1024;
/// Default lifetime of a signed part URL: 15 minutes.
pub const DEFAULT_URL_TTL: u64 = 900;
/// Default lifetime of a signed download URL: 1 hour.
pub const DEFAULT_DOWNLOAD_TTL: u64 = 3600;
/// Default lifetime of a bearer token: 1 day.
pub const DEFAULT_TOKEN_TTL: u64 = 86_400;

/// Partway's companion server: authorises uploads, signs part URLs, stores metadata.
#[derive(Clone, Debug, Parser)]
#[command(name = "partway-server", version, about)]
pub struct Config {
    /// Address and port to listen on. Loopback by default; use 0.0.0.0:PORT to listen
    /// on every interface.
    #[arg(long, env = "PARTWAY_BIND", default_value = DEFAULT_BIND)]
    pub bind: SocketAddr,

    /// Development mode: enables `POST /api/dev/token` (act as any user) and the
    /// `/api/dev/stats` counters. Never use it where others can reach the server.
    #[arg(long, env = "PARTWAY_DEV")]
    pub dev: bool,

    /// Directory for the local storage backend, the default SQLite database and the
    /// generated secret. Created if missing.
    #[arg(long, env = "PARTWAY_DATA_DIR", default_value = "./partway-data")]
    pub data_dir: PathBuf,

    /// Metadata database URL. Default: the SQLite file `partway.db` in the data
    /// directory, created if missing.
    #[arg(long, env = "PARTWAY_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Base URL that signed local-storage URLs point at, as the browser reaches this
    /// server (or a proxy in front of it). Default: `http://<bind>`.
    #[arg(long, env = "PARTWAY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Secret that signs tokens and storage URLs. Default: a random one generated once
    /// and kept in `<data-dir>/secret` (mode 0600), so restarts keep them valid.
    #[arg(long, env = "PARTWAY_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// Largest file accepted, in bytes.
    #[arg(long, env = "PARTWAY_MAX_FILE_SIZE", default_value_t = DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,

    /// MIME types accepted, comma-separated; `type/*` matches a family and `*` anything.
    /// A file whose browser type is empty counts as `application/octet-stream`.
    #[arg(
        long,
        env = "PARTWAY_ALLOWED_TYPES",
        default_value = "*",
        value_delimiter = ','
    )]
    pub allowed_types: Vec<String>,

    /// Lifetime of a signed part URL, in seconds.
    #[arg(long, env = "PARTWAY_URL_TTL", default_value_t = DEFAULT_URL_TTL)]
    pub url_ttl: u64,

    /// Lifetime of a signed download URL, in seconds.
    #[arg(long, env = "PARTWAY_DOWNLOAD_TTL", default_value_t = DEFAULT_DOWNLOAD_TTL)]
    pub download_ttl: u64,

    /// Lifetime of a bearer token, in seconds.
    #[arg(long, env = "PARTWAY_TOKEN_TTL", default_value_t = DEFAULT_TOKEN_TTL)]
    pub token_ttl: u64,

    /// Directory to serve at `/` (with `index.html` as the fallback), so that one
    /// binary serves the built demo page next to the API.
    #[arg(long, env = "PARTWAY_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Origins of the pages allowed to call `/api` from a browser, comma-separated, or
    /// `*` for any. Tokens travel in a header, never in cookies, so `*` lends nothing
    /// of the user's to a foreign page.
    #[arg(long, env = "PARTWAY_CORS_ORIGINS", default_value = "*", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
}

impl Default for Config {
    /// The defaults of every flag, without reading the command line or the environment
    /// (so tests are not affected by the shell they run in).
    fn default() -> Self {
        Config {
            bind: DEFAULT_BIND
                .parse()
                .expect("the default bind address parses"),
            dev: false,
            data_dir: PathBuf::from("./partway-data"),
            database_url: None,
            public_url: None,
            secret: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            allowed_types: vec!["*".into()],
            url_ttl: DEFAULT_URL_TTL,
            download_ttl: DEFAULT_DOWNLOAD_TTL,
            token_ttl: DEFAULT_TOKEN_TTL,
            static_dir: None,
            cors_origins: vec!["*".into()],
        }
    }
}

impl Config {
    /// The defaults, with data (storage, database, secret) kept in `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            ..Config::default()
        }
    }

    /// The database URL in force: the flag, or a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("partway.db").display()),
        }
    }

    /// The base URL in force for signed storage URLs, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_defaults_match_default() {
        let parsed = Config::try_parse_from(["partway-server"]).expect("parses");
        let default = Config::default();
        // Environment variables could override what is parsed; compare the ones a test
        // shell is unlikely to set.
        assert_eq!(parsed.max_file_size, default.max_file_size);
        assert_eq!(parsed.url_ttl, default.url_ttl);
        assert_eq!(parsed.allowed_types, default.allowed_types);
    }

    #[test]
    fn allowed_types_split_on_commas() {
        let c = Config::try_parse_from(["x", "--allowed-types", "image/*,application/pdf"])
            .expect("parses");
        assert_eq!(c.allowed_types, ["image/*", "application/pdf"]);
    }

    #[test]
    fn public_url_defaults_to_bind() {
        let c = Config::default();
        assert_eq!(c.public_url(), "http://127.0.0.1:8787");
        let c = Config {
            public_url: Some("http://proxy:9000/".into()),
            ..c
        };
        assert_eq!(c.public_url(), "http://proxy:9000");
    }
}
