//! The `kefu` command: parse arguments, run one subcommand, exit non-zero with a one-line reason.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kefu",
    version,
    about = "Self-hosted voice customer service for e-commerce"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the call server: SIP, RTP, IVR flows, HTTP API.
    Serve(ServeArgs),
    /// Recent and live calls.
    Calls(CallsArgs),
    /// Speech models: fetch, import, list.
    Models(ModelsArgs),
    /// Transcribe recordings the way kefu hears callers.
    Transcribe(TranscribeArgs),
    /// Measure kefu against known answers.
    Eval(EvalArgs),
    /// Speak text into a WAV file with one of kefu's voices.
    Say {
        #[command(flatten)]
        args: kefu::cli::say::SayArgs,
        /// Where rendered speech is cached (default $KEFU_DATA_DIR, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Talk to the shop assistant by typing, as a caller would speak.
    Chat {
        #[command(flatten)]
        args: kefu::cli::chat::ChatArgs,
        /// The data dir whose shop it answers from (default $KEFU_DATA_DIR, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The merchant's shop: list what it knows, import records.
    Shop {
        #[command(subcommand)]
        command: kefu::cli::shop::ShopCommand,
        /// The data dir whose database holds the shop (default $KEFU_DATA_DIR, else ./data).
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// How the shop assistant did: bot resolution and handoff rates, top intents, sentiment.
    Report {
        #[command(flatten)]
        args: kefu::cli::report::ReportArgs,
        /// The data dir whose calls it reports on (default $KEFU_DATA_DIR, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The voices kefu can speak with, and whether this machine has them.
    Voices {
        /// One JSON object per voice.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct ModelsArgs {
    /// The data dir whose models/ folder holds them (default $KEFU_DATA_DIR, else ./data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: kefu::cli::models::ModelsCommand,
}

#[derive(clap::Args)]
struct TranscribeArgs {
    /// Audio files (WAV, FLAC, OGG, MP3; any rate).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON object per file.
    #[arg(long)]
    json: bool,
    /// Where models are installed (default $KEFU_DATA_DIR, else ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    recogniser: kefu::cli::transcribe::RecogniserArgs,
}

#[derive(clap::Args)]
struct EvalArgs {
    #[command(subcommand)]
    what: EvalCommand,
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Word error rate over a manifest (TSV: id, audio file, transcript).
    Asr {
        manifest: PathBuf,
        /// One JSON object per recording, then the totals.
        #[arg(long)]
        json: bool,
        /// Where models are installed (default $KEFU_DATA_DIR, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        recogniser: kefu::cli::transcribe::RecogniserArgs,
    },
}

#[derive(clap::Args)]
struct CallsArgs {
    /// The data dir `kefu serve` writes to (default $KEFU_DATA_DIR, else ./data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: kefu::cli::calls::CallsCommand,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// kefu.toml; its folder also holds dialplan.toml and flows/. Default: ./sip-config/kefu.toml
    /// if present, else the embedded demo configuration.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the database and recordings live (default ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// SIP listen address, UDP and TCP (default 127.0.0.1:5060).
    #[arg(long)]
    sip_listen: Option<SocketAddr>,
    /// HTTP listen address for the API, /metrics and /healthz (default 127.0.0.1:8080).
    #[arg(long)]
    http_listen: Option<SocketAddr>,
    /// RTP port range, e.g. 20000-29999.
    #[arg(long)]
    rtp_ports: Option<String>,
    /// Most concurrent calls; more get 503 (default 1000).
    #[arg(long)]
    max_calls: Option<usize>,
    /// Seconds live calls get to finish after SIGTERM before kefu hangs them up (default 30).
    #[arg(long)]
    shutdown_grace: Option<u64>,
    /// Whisper model: a name installed with `kefu models` or a ggml file (default tiny.en).
    #[arg(long)]
    model: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
}

/// `--data-dir`, else $KEFU_DATA_DIR, else ./data.
fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("KEFU_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| "data".into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kefu: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => {
                kefu::runtime::logging::init(args.log_json);
                let overrides = kefu::config::Overrides {
                    config_file: args.config,
                    data_dir: args.data_dir,
                    sip_listen: args.sip_listen,
                    http_listen: args.http_listen,
                    rtp_ports: args.rtp_ports,
                    max_calls: args.max_calls,
                    shutdown_grace_s: args.shutdown_grace,
                    model: args.model,
                };
                kefu::runtime::serve(overrides).await
            }
            Command::Calls(args) => {
                kefu::cli::calls::run(args.command, &data_dir(args.data_dir)).await
            }
            Command::Models(args) => {
                kefu::cli::models::run(args.command, &data_dir(args.data_dir)).await
            }
            Command::Transcribe(args) => {
                let dir = data_dir(args.data_dir);
                kefu::cli::transcribe::run(args.files, args.recogniser, args.json, &dir).await
            }
            Command::Eval(EvalArgs {
                what:
                    EvalCommand::Asr {
                        manifest,
                        json,
                        data_dir: dir,
                        recogniser,
                    },
            }) => kefu::cli::eval::run(manifest, recogniser, json, &data_dir(dir)).await,
            Command::Say {
                args,
                data_dir: dir,
            } => {
                let dir = data_dir(dir);
                tokio::task::spawn_blocking(move || kefu::cli::say::say(args, &dir)).await?
            }
            Command::Voices { json } => kefu::cli::say::voices(json),
            Command::Chat {
                args,
                data_dir: dir,
            } => kefu::cli::chat::run(args, &data_dir(dir)).await,
            Command::Shop {
                command,
                data_dir: dir,
            } => kefu::cli::shop::run(command, &data_dir(dir)).await,
            Command::Report {
                args,
                data_dir: dir,
            } => kefu::cli::report::run(args, &data_dir(dir)).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefu: {e:#}");
            ExitCode::FAILURE
        }
    }
}
