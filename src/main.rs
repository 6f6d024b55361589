use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tessera::{
    Config,
    config::LogFormat,
    domain::{Permissions, Role},
    service::{auth_service, connect_database},
};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "tessera", version, about = "Self-hosted image asset service")]
struct Cli {
    /// TOML configuration file (also `TESSERA_CONFIG`); env variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API keys.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// superAdmin, admin or user.
        #[arg(long, default_value = "user")]
        role: String,
    },
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create a full-access key and print it once.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config, |name| std::env::var(name).ok())?;
    init_logging(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            tessera::serve(listener, config, shutdown_signal()).await?;
        }
        Command::Migrate => {
            let db = connect_database(&config).await?;
            db.migrate().await?;
            println!("migrations applied");
        }
        Command::Apikey {
            command: ApikeyCommand::Create { name },
        } => {
            let db = connect_database(&config).await?;
            db.migrate().await?;
            let created = auth_service(&config, db)?
                .create_api_key(&name, Permissions::all())
                .await?;
            println!("{}", created.key.expose());
            eprintln!(
                "API key '{}' created ({}); it is shown only once.",
                created.name, created.id
            );
        }
        Command::User {
            command: UserCommand::Create { username, role },
        } => {
            let role = Role::parse(&role)
                .with_context(|| format!("unknown role '{role}' (superAdmin, admin or user)"))?;
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from stdin")?;
            let db = connect_database(&config).await?;
            db.migrate().await?;
            let user = auth_service(&config, db)?
                .create_user(&username, password.trim_end_matches(['\r', '\n']), role)
                .await?;
            eprintln!(
                "user '{}' ({}) created: {}",
                user.username,
                user.role.as_str(),
                user.id
            );
        }
    }
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
