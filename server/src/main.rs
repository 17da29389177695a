//! `partway-server`: reads the configuration, sets up logging, and runs.

use clap::Parser;
use partway_server::config::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    if let Some(command) = &config.command {
        return match partway_server::run_command(&config, command).await {
            Ok(done) => {
                println!("{done}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("partway-server: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match partway_server::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("partway-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
