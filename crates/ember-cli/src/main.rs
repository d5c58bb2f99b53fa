//! The `ember` binary: the SQL shell, and TPC-H data generation and runs.

mod shell;
mod tpch;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ember_common::{EmberConf, Result};

#[derive(Parser)]
#[command(
    name = "ember",
    version,
    about = "Ember: a Spark-style SQL engine in Rust",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    sql: SqlArgs,
}

#[derive(Subcommand)]
enum Command {
    /// The interactive SQL shell (the default), or run -e SQL / -f FILE.
    Sql(SqlArgs),
    /// TPC-H: generate data, run the 22 queries, check answers.
    #[command(subcommand)]
    Tpch(tpch::TpchCommand),
}

/// Options shared by everything that runs queries.
#[derive(Args, Clone, Default)]
pub struct EngineArgs {
    /// Where tasks run: local, local[N], local[*] (default: all cores).
    #[arg(long)]
    master: Option<String>,
    /// A configuration value, e.g. --conf ember.sql.shuffle.partitions=8 (repeatable).
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    conf: Vec<String>,
}

impl EngineArgs {
    pub fn conf(&self) -> Result<EmberConf> {
        let mut conf = EmberConf::new();
        for entry in &self.conf {
            let (k, v) = entry.split_once('=').ok_or_else(|| {
                ember_common::EmberError::Config(format!("--conf expects KEY=VALUE, got '{entry}'"))
            })?;
            conf.set(k, v)?;
        }
        if let Some(master) = &self.master {
            conf.set("ember.master", master)?;
        }
        Ok(conf)
    }
}

#[derive(Args, Clone, Default)]
pub struct SqlArgs {
    /// Run these SQL statements and exit.
    #[arg(short = 'e', long = "execute", value_name = "SQL")]
    execute: Option<String>,
    /// Run the statements in this file and exit.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<std::path::PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("warn,ember_core::scheduler=error"),
    )
    .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Sql(args)) => shell::run(args),
        Some(Command::Tpch(command)) => tpch::run(command),
        None => shell::run(cli.sql),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
