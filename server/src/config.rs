//! The server's configuration: command-line flags, each with an environment variable.
//!
//! The doc comment of every field is its `--help` text, so `partway-server --help` is
//! the manual.

use clap::{Args, Parser, Subcommand, ValueEnum};
use partway::core::ChecksumMode;
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
/// Default `--max-active-uploads`.
pub const DEFAULT_MAX_ACTIVE_UPLOADS: u64 = 100;
/// Default `--body-idle-timeout`, seconds.
pub const DEFAULT_BODY_IDLE_TIMEOUT: u64 = 30;
/// Default lifetime of a bearer token: 1 day.
pub const DEFAULT_TOKEN_TTL: u64 = 86_400;
/// Default `--rate-limit-user`, requests per second.
pub const DEFAULT_RATE_LIMIT_USER: u32 = 500;
/// Default `--rate-limit-address`, requests per second.
pub const DEFAULT_RATE_LIMIT_ADDRESS: u32 = 1000;
/// Default `--jwks-min-refetch`, seconds.
pub const DEFAULT_JWKS_MIN_REFETCH: u64 = 30;
/// Default idle time after which an upload counts as abandoned: 7 days.
pub const DEFAULT_ABANDON_AFTER: u64 = 7 * 86_400;
/// Default time between two sweeps for abandoned uploads: 1 hour.
pub const DEFAULT_SWEEP_INTERVAL: u64 = 3600;
/// Default lease of a claimed job, in seconds: a worker that died frees it after this.
pub const DEFAULT_JOB_LEASE: u64 = 300;

/// Where file bytes are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StorageKind {
    /// Files under --data-dir, received and served by this server (the embedded default).
    Local,
    /// Any S3-compatible service: AWS S3, Cloudflare R2, MinIO, Garage.
    S3,
}

/// Settings of the S3-compatible backend (`--storage s3`).
#[derive(Clone, Debug, Args)]
pub struct S3Config {
    /// S3 endpoint URL: `https://s3.eu-west-1.amazonaws.com` (AWS),
    /// `https://<account>.r2.cloudflarestorage.com` (R2), `http://127.0.0.1:9000`
    /// (MinIO), `http://127.0.0.1:3900` (Garage).
    #[arg(long = "s3-endpoint", env = "PARTWAY_S3_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Region the bucket lives in (`auto` for R2, `garage` for Garage's default).
    #[arg(
        long = "s3-region",
        env = "PARTWAY_S3_REGION",
        default_value = "us-east-1"
    )]
    pub region: String,
    /// Bucket name.
    #[arg(long = "s3-bucket", env = "PARTWAY_S3_BUCKET")]
    pub bucket: Option<String>,
    /// Prefix put before every object key (e.g. `uploads/`).
    #[arg(long = "s3-prefix", env = "PARTWAY_S3_PREFIX", default_value = "")]
    pub prefix: String,
    /// Path-style URLs (`endpoint/bucket/key`, for MinIO and Garage) instead of
    /// virtual-hosted ones (`bucket.endpoint/key`, AWS and R2).
    #[arg(long = "s3-path-style", env = "PARTWAY_S3_PATH_STYLE")]
    pub path_style: bool,
    /// Access key id.
    #[arg(long = "s3-access-key-id", env = "PARTWAY_S3_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,
    /// Secret access key.
    #[arg(
        long = "s3-secret-access-key",
        env = "PARTWAY_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub secret_access_key: Option<String>,
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            endpoint: None,
            region: "us-east-1".into(),
            bucket: None,
            prefix: String::new(),
            path_style: false,
            access_key_id: None,
            secret_access_key: None,
        }
    }
}

/// Tokens from an external identity provider (`--jwks-url`), checked beside the
/// server's own HS256 tokens.
#[derive(Clone, Debug, Args)]
pub struct JwtConfig {
    /// URL of the identity provider's JSON Web Key Set (e.g.
    /// `https://login.example.com/.well-known/jwks.json`). With it, RS256-512,
    /// PS256-512, ES256 and ES384 tokens signed by one of its keys are accepted; needs
    /// --jwt-issuer and --jwt-audience. The set is cached and fetched again for a key id
    /// it lacks.
    #[arg(long = "jwks-url", env = "PARTWAY_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// The `iss` such tokens must carry.
    #[arg(long = "jwt-issuer", env = "PARTWAY_JWT_ISSUER")]
    pub issuer: Option<String>,
    /// An `aud` such tokens must carry (comma-separated: any one of them).
    #[arg(
        long = "jwt-audience",
        env = "PARTWAY_JWT_AUDIENCE",
        value_delimiter = ','
    )]
    pub audience: Vec<String>,
    /// Fewest seconds between two fetches of the key set caused by tokens naming a key
    /// it lacks, so that forged key ids cannot flood the provider.
    #[arg(long = "jwks-min-refetch", env = "PARTWAY_JWKS_MIN_REFETCH", default_value_t = DEFAULT_JWKS_MIN_REFETCH)]
    pub min_refetch: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            jwks_url: None,
            issuer: None,
            audience: Vec::new(),
            min_refetch: DEFAULT_JWKS_MIN_REFETCH,
        }
    }
}

impl JwtConfig {
    /// Refuses a JWKS without the claims that tie its tokens to this server.
    fn check(&self) -> Result<(), String> {
        let Some(url) = &self.jwks_url else {
            return Ok(());
        };
        let parsed = url::Url::parse(url).map_err(|e| format!("--jwks-url {url}: {e}"))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(format!("--jwks-url {url}: must be an http(s) URL"));
        }
        // Without both, any token the provider ever issued, to any application, would
        // sign in here.
        if self.issuer.as_deref().unwrap_or_default().is_empty() || self.audience.is_empty() {
            return Err(
                "--jwks-url needs --jwt-issuer and --jwt-audience: tokens the provider issued \
                 for other applications must not sign in here"
                    .into(),
            );
        }
        Ok(())
    }
}

/// One-off administration, instead of serving.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Storage administration.
    Storage {
        /// What to do.
        #[command(subcommand)]
        action: StorageAction,
    },
    /// A user's quota and usage.
    Quota {
        /// What to do.
        #[command(subcommand)]
        action: QuotaAction,
    },
}

/// Quota administration.
#[derive(Clone, Debug, Subcommand)]
pub enum QuotaAction {
    /// Gives one user limits of their own, in place of --quota-bytes and --quota-files.
    Set {
        /// The user id.
        #[arg(long)]
        user: String,
        /// Most bytes stored and in progress (0: no limit; omit: the server's
        /// --quota-bytes).
        #[arg(long)]
        bytes: Option<u64>,
        /// Most files stored and in progress (0: no limit; omit: the server's
        /// --quota-files).
        #[arg(long)]
        files: Option<u64>,
    },
    /// Shows what one user stores and is uploading, against their limits.
    Show {
        /// The user id.
        #[arg(long)]
        user: String,
    },
}

/// Storage administration tasks.
#[derive(Clone, Debug, Subcommand)]
pub enum StorageAction {
    /// Sets the bucket's CORS rules so that pages on these origins can PUT parts and
    /// read their ETags (S3 storage only).
    SetupCors {
        /// An origin allowed to upload, e.g. `https://app.example.com` (repeatable).
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
    },
}

/// Partway's companion server: authorises uploads, signs part URLs, stores metadata.
#[derive(Clone, Debug, Parser)]
#[command(name = "partway-server", version, about)]
pub struct Config {
    /// Address and port to listen on. Loopback by default; use 0.0.0.0:PORT to listen
    /// on every interface.
    #[arg(long, env = "PARTWAY_BIND", default_value = DEFAULT_BIND)]
    pub bind: SocketAddr,

    /// Development mode: enables `POST /api/dev/token` (act as any user) and the
    /// `/api/dev/stats` counters. Never use it where others can reach the server: it
    /// refuses to start on a non-loopback address without --dev-on-public-address.
    #[arg(long, env = "PARTWAY_DEV")]
    pub dev: bool,

    /// Lets --dev listen on an address other machines can reach, where anyone could act
    /// as any user. For a throw-away demo box only.
    #[arg(long, env = "PARTWAY_DEV_ON_PUBLIC_ADDRESS")]
    pub dev_on_public_address: bool,

    /// Directory for the local storage backend, the default SQLite database and the
    /// generated secret. Created if missing.
    #[arg(long, env = "PARTWAY_DATA_DIR", default_value = "./partway-data")]
    pub data_dir: PathBuf,

    /// Metadata database URL. Default: the SQLite file `partway.db` in the data
    /// directory, created if missing.
    #[arg(long, env = "PARTWAY_DATABASE_URL")]
    pub database_url: Option<String>,

    /// A read replica of the database: file listings (`GET /api/files`) are read there,
    /// everything else from `--database-url`. It may lag: a listing right after an
    /// upload may not show it yet.
    #[arg(long, env = "PARTWAY_DATABASE_READ_URL")]
    pub database_read_url: Option<String>,

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

    /// How storage checks uploads whose client names no mode: `sha256` (each part, and
    /// the composite at complete) or `crc64nvme` (each part, and the whole object).
    #[arg(long, env = "PARTWAY_CHECKSUM", default_value = "sha256", value_parser = parse_checksum_mode)]
    pub checksum: ChecksumMode,

    /// Lifetime of a signed download URL, in seconds.
    #[arg(long, env = "PARTWAY_DOWNLOAD_TTL", default_value_t = DEFAULT_DOWNLOAD_TTL)]
    pub download_ttl: u64,

    /// Lifetime of a bearer token this server issues (dev mode), in seconds.
    #[arg(long, env = "PARTWAY_TOKEN_TTL", default_value_t = DEFAULT_TOKEN_TTL)]
    pub token_ttl: u64,

    /// The longest a bearer token may still have to live, in seconds: a token whose
    /// `exp` is further away is refused, however it was signed.
    #[arg(long, env = "PARTWAY_MAX_TOKEN_LIFETIME", default_value_t = DEFAULT_TOKEN_TTL)]
    pub max_token_lifetime: u64,

    /// Directory to serve at `/` (with `index.html` as the fallback), so that one
    /// binary serves the built demo page next to the API.
    #[arg(long, env = "PARTWAY_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Origins of the pages allowed to call `/api` from a browser, comma-separated, or
    /// `*` for any. Tokens travel in a header, never in cookies, so `*` lends nothing
    /// of the user's to a foreign page.
    #[arg(
        long,
        env = "PARTWAY_CORS_ORIGINS",
        default_value = "*",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Where file bytes are kept.
    #[arg(long, env = "PARTWAY_STORAGE", value_enum, default_value = "local")]
    pub storage: StorageKind,

    /// S3-compatible storage settings.
    #[command(flatten)]
    pub s3: S3Config,

    /// Seconds without activity after which an upload is abandoned: aborted in storage
    /// (which frees its parts) and in the database.
    #[arg(long, env = "PARTWAY_ABANDON_AFTER", default_value_t = DEFAULT_ABANDON_AFTER)]
    pub abandon_after: u64,

    /// Seconds between two sweeps for abandoned uploads (0: never sweep).
    #[arg(long, env = "PARTWAY_SWEEP_INTERVAL", default_value_t = DEFAULT_SWEEP_INTERVAL)]
    pub sweep_interval: u64,

    /// Seconds a worker holds a claimed job (the checks after upload): if its server
    /// dies, another instance, or this one restarted, takes the job after this.
    #[arg(long, env = "PARTWAY_JOB_LEASE", default_value_t = DEFAULT_JOB_LEASE)]
    pub job_lease: u64,

    /// Workers running the jobs after upload on this instance (0: none; the instances
    /// that share its database run them).
    #[arg(long, env = "PARTWAY_JOB_WORKERS", default_value_t = 1)]
    pub job_workers: u32,

    /// Most uploads one user may have in progress at once; a create past it answers
    /// 429 `too_many_uploads`.
    #[arg(long, env = "PARTWAY_MAX_ACTIVE_UPLOADS", default_value_t = DEFAULT_MAX_ACTIVE_UPLOADS)]
    pub max_active_uploads: u64,

    /// Most bytes one user may store and have in progress together (0: no limit). A
    /// create past it answers 403 `quota_exceeded`, saying what is left. Per-user
    /// limits: `partway-server quota set`.
    #[arg(long, env = "PARTWAY_QUOTA_BYTES", default_value_t = 0)]
    pub quota_bytes: u64,

    /// Most files one user may store and have in progress together (0: no limit).
    #[arg(long, env = "PARTWAY_QUOTA_FILES", default_value_t = 0)]
    pub quota_files: u64,

    /// Steady rate of API requests one user may make, per second, with bursts of ten
    /// seconds' worth (0: no limit). Past it: 429 `rate_limited` with `Retry-After`.
    /// Kept per instance.
    #[arg(long, env = "PARTWAY_RATE_LIMIT_USER", default_value_t = DEFAULT_RATE_LIMIT_USER)]
    pub rate_limit_user: u32,

    /// Steady rate of API requests one client address may make, per second, with bursts
    /// of ten seconds' worth (0: no limit). Checked before the token, so it also slows
    /// down guessing. Kept per instance.
    #[arg(long, env = "PARTWAY_RATE_LIMIT_ADDRESS", default_value_t = DEFAULT_RATE_LIMIT_ADDRESS)]
    pub rate_limit_address: u32,

    /// Header that carries the client's address when the server is behind a proxy
    /// (e.g. `x-forwarded-for`, whose last address, the one the proxy appended,
    /// counts). Set it only behind a proxy that writes it.
    #[arg(long, env = "PARTWAY_CLIENT_ADDRESS_HEADER")]
    pub client_address_header: Option<String>,

    /// Seconds a part body may go without a byte before local storage gives up on it
    /// (408), so that a slow or stalled client cannot hold a connection for ever.
    #[arg(long, env = "PARTWAY_BODY_IDLE_TIMEOUT", default_value_t = DEFAULT_BODY_IDLE_TIMEOUT)]
    pub body_idle_timeout: u64,

    /// External identity provider settings.
    #[command(flatten)]
    pub jwt: JwtConfig,

    /// A one-off task instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_checksum_mode(s: &str) -> Result<ChecksumMode, String> {
    ChecksumMode::parse(s).ok_or_else(|| format!("{s:?} is neither sha256 nor crc64nvme"))
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
            dev_on_public_address: false,
            data_dir: PathBuf::from("./partway-data"),
            database_url: None,
            database_read_url: None,
            public_url: None,
            secret: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            allowed_types: vec!["*".into()],
            url_ttl: DEFAULT_URL_TTL,
            checksum: ChecksumMode::Sha256,
            download_ttl: DEFAULT_DOWNLOAD_TTL,
            token_ttl: DEFAULT_TOKEN_TTL,
            max_token_lifetime: DEFAULT_TOKEN_TTL,
            static_dir: None,
            cors_origins: vec!["*".into()],
            storage: StorageKind::Local,
            s3: S3Config::default(),
            abandon_after: DEFAULT_ABANDON_AFTER,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            job_lease: DEFAULT_JOB_LEASE,
            job_workers: 1,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            max_active_uploads: DEFAULT_MAX_ACTIVE_UPLOADS,
            quota_bytes: 0,
            quota_files: 0,
            rate_limit_user: DEFAULT_RATE_LIMIT_USER,
            rate_limit_address: DEFAULT_RATE_LIMIT_ADDRESS,
            client_address_header: None,
            jwt: JwtConfig::default(),
            command: None,
        }
    }
}

impl Config {
    /// Refuses settings that contradict each other or expose the server, with the fix.
    pub fn check(&self) -> Result<(), String> {
        if self.dev && !self.bind.ip().is_loopback() && !self.dev_on_public_address {
            return Err(format!(
                "--dev lets anyone act as any user, and {} is reachable from other machines; \
                 bind to 127.0.0.1, or add --dev-on-public-address for a throw-away demo",
                self.bind
            ));
        }
        // Only dev mode issues tokens; without it --token-ttl is unused.
        if self.dev && self.token_ttl > self.max_token_lifetime {
            return Err(format!(
                "--token-ttl ({}) is longer than --max-token-lifetime ({}): the server's own \
                 tokens would be refused",
                self.token_ttl, self.max_token_lifetime
            ));
        }
        self.jwt.check()
    }

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
    fn dev_mode_refuses_a_public_address_unless_told() {
        let public = |extra: &[&str]| {
            let mut args = vec!["x", "--dev", "--bind", "0.0.0.0:8787"];
            args.extend(extra);
            Config::try_parse_from(args).expect("parses").check()
        };
        let refusal = public(&[]).expect_err("refused");
        assert!(refusal.contains("--dev-on-public-address"), "{refusal}");
        assert!(public(&["--dev-on-public-address"]).is_ok());
        let local =
            Config::try_parse_from(["x", "--dev", "--bind", "127.0.0.1:0"]).expect("parses");
        assert!(local.check().is_ok());
        let public_no_dev = Config::try_parse_from(["x", "--bind", "0.0.0.0:0"]).expect("parses");
        assert!(public_no_dev.check().is_ok());
    }

    #[test]
    fn a_token_ttl_over_the_maximum_lifetime_is_refused() {
        let c = Config {
            dev: true,
            token_ttl: 10,
            max_token_lifetime: 5,
            ..Config::default()
        };
        assert!(c
            .check()
            .expect_err("refused")
            .contains("--max-token-lifetime"));
    }

    #[test]
    fn a_jwks_needs_issuer_and_audience() {
        let parse = |args: &[&str]| {
            let mut all = vec!["x"];
            all.extend(args);
            Config::try_parse_from(all).expect("parses").check()
        };
        let url = "https://idp.example/jwks.json";
        assert!(parse(&["--jwks-url", url]).is_err());
        assert!(parse(&["--jwks-url", url, "--jwt-issuer", "https://idp.example/"]).is_err());
        assert!(parse(&[
            "--jwks-url",
            "ftp://x/",
            "--jwt-issuer",
            "i",
            "--jwt-audience",
            "a"
        ])
        .is_err());
        assert!(parse(&[
            "--jwks-url",
            url,
            "--jwt-issuer",
            "i",
            "--jwt-audience",
            "a,b"
        ])
        .is_ok());
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
