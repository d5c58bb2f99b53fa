//! The `ember` binary: the SQL shell, and TPC-H data generation and runs.

mod render;
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
    /// An executor process: joins the driver at --driver and runs its tasks.
    Executor(ExecutorArgs),
    /// The Flight SQL server: clients (ADBC, JDBC, `ember sql --connect`) run SQL on its
    /// driver, in local mode or with executors that join it.
    Server(ServerArgs),
}

#[derive(Args, Clone)]
pub struct ExecutorArgs {
    /// The driver to join, HOST:PORT (its ember://HOST:PORT master or `ember server` port).
    #[arg(long)]
    driver: String,
    /// The address this executor serves its shuffle blocks on (the driver and the other
    /// executors must reach it).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Task slots (default: all cores of this machine).
    #[arg(long)]
    cores: Option<usize>,
    /// Memory of this executor (bytes, or 512m, 4g); 60% of it holds cached partitions.
    #[arg(long, default_value = "1g")]
    memory: String,
    /// A configuration value for this executor only (repeatable).
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    conf: Vec<String>,
    /// Exit when standard input closes (how a local-cluster driver stops its executors).
    #[arg(long, hide = true)]
    exit_on_stdin_eof: bool,
}

#[derive(Args, Clone)]
pub struct ServerArgs {
    /// The Flight SQL port clients connect to (0: any free port, printed at start).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Where tasks run: local[N] (the default, all cores), local-cluster[E,C,M], or
    /// ember://HOST:PORT to have executors join there.
    #[arg(long)]
    master: Option<String>,
    /// Have executors join on this port (the same as --master ember://HOST:PORT).
    #[arg(long)]
    driver_port: Option<u16>,
    /// Executors to wait for (ember.executor.instances) before accepting work; implies
    /// --driver-port 7078 when no master is given.
    #[arg(long, default_value_t = 0)]
    executors: usize,
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    conf: Vec<String>,
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
        for (k, v) in parse_conf(&self.conf)? {
            conf.set(&k, &v)?;
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
    /// Run the statements on an Ember (or other Flight SQL) server at HOST:PORT instead of
    /// in this process.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "master")]
    connect: Option<String>,
    /// The user to log in as (with --connect); the password comes from EMBER_PASSWORD or is
    /// asked for.
    #[arg(long, requires = "connect")]
    user: Option<String>,
    /// Connect over TLS (with --connect).
    #[arg(long, requires = "connect")]
    tls: bool,
    /// The PEM certificate of the authority that signed the server's certificate (with --tls).
    #[arg(long, value_name = "FILE", requires = "tls")]
    tls_ca: Option<std::path::PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

fn parse_conf(entries: &[String]) -> Result<Vec<(String, String)>> {
    entries
        .iter()
        .map(|entry| {
            entry
                .split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| {
                    ember_common::EmberError::Config(format!(
                        "--conf expects KEY=VALUE, got '{entry}'"
                    ))
                })
        })
        .collect()
}

fn run_executor(args: ExecutorArgs) -> Result<ExitCode> {
    let memory = ember_common::config::parse_bytes(&args.memory).ok_or_else(|| {
        ember_common::EmberError::Config(format!(
            "--memory expects a size such as 1g or 512m, got '{}'",
            args.memory
        ))
    })?;
    let cores = args.cores.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    ember_runtime::cluster::run_executor(ember_runtime::cluster::ExecutorOptions {
        driver: args.driver,
        host: args.host,
        cores: cores.max(1),
        memory,
        conf: parse_conf(&args.conf)?,
        exit_on_stdin_eof: args.exit_on_stdin_eof,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_server(args: ServerArgs) -> Result<ExitCode> {
    let mut conf = EmberConf::new();
    for (k, v) in parse_conf(&args.conf)? {
        conf.set(&k, &v)?;
    }
    let driver_port = args
        .driver_port
        .or((args.executors > 0 && args.master.is_none()).then_some(7078));
    match (&args.master, driver_port) {
        (Some(_), Some(_)) => {
            return Err(ember_common::EmberError::Config(
                "give either --master or --driver-port, not both".into(),
            ))
        }
        (Some(master), None) => conf.set("ember.master", master)?,
        (None, Some(port)) => conf.set("ember.master", &format!("ember://{}:{port}", args.host))?,
        (None, None) => {}
    }
    if args.executors > 0 {
        conf.set("ember.executor.instances", &args.executors.to_string())?;
    }
    let options = ember_flight_sql::ServerOptions::from_conf(
        format!("{}:{}", args.host, args.port),
        &mut conf,
    )?;
    let session = ember_session::EmberSession::new(conf)?;
    let master = session.context().master().to_string();
    let server = ember_flight_sql::start(session, options.clone())?;
    eprintln!(
        "Ember Flight SQL server listening on {}{} (tasks: {master}; logins: {:?}). Ctrl-C stops it.",
        server.address(),
        if options.tls.is_some() { " with TLS" } else { "" },
        options.auth,
    );
    if let Some(port) = driver_port {
        eprintln!("Executors join with `ember executor --driver HOST:{port}`.");
    }
    server.wait();
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("warn,ember_core::scheduler=error"),
    )
    .init();
    // The commands run on a thread with a statement's stack: the shell keeps parsed
    // statements (a 100,000-term sum is 100,000 levels deep) and drops them here.
    let thread = std::thread::Builder::new()
        .name("ember-main".into())
        .stack_size(ember_session::STATEMENT_STACK_BYTES)
        .spawn(run_command);
    match thread.map(|t| t.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => {
            eprintln!("Error: Internal error (please report): the command panicked");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("Error: cannot start the command's thread: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_command() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Sql(args)) => shell::run(args),
        Some(Command::Tpch(command)) => tpch::run(command),
        Some(Command::Executor(args)) => run_executor(args),
        Some(Command::Server(args)) => run_server(args),
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
