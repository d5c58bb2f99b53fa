//! The interactive shell and the `-e` / `-f` runners.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, Result};
use ember_flight_sql::client::ConnectOptions;
use ember_flight_sql::FlightSqlClient;
use ember_session::{render_with_source, EmberSession, QueryResult};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use crate::SqlArgs;

/// Where the shell's statements run.
enum Engine {
    /// A driver in this process.
    Local(EmberSession),
    /// A Flight SQL server (`--connect`).
    Remote(Box<RefCell<FlightSqlClient>>),
}

pub fn run(args: SqlArgs) -> Result<ExitCode> {
    let engine = match &args.connect {
        Some(address) => Engine::Remote(Box::new(RefCell::new(connect(address, &args)?))),
        None => Engine::Local(EmberSession::new(args.engine.conf()?)?),
    };
    interrupt::install(match &engine {
        Engine::Local(session) => Some(Arc::clone(session.context())),
        Engine::Remote(_) => None,
    });
    if let Some(sql) = &args.execute {
        return Ok(run_script(&engine, sql));
    }
    if let Some(path) = &args.file {
        let sql = std::fs::read_to_string(path)
            .map_err(|e| EmberError::io(path.display().to_string(), e))?;
        return Ok(run_script(&engine, &sql));
    }
    interactive(&engine)
}

fn connect(address: &str, args: &SqlArgs) -> Result<FlightSqlClient> {
    let password = match &args.user {
        None => None,
        Some(user) => Some(match std::env::var("EMBER_PASSWORD") {
            Ok(password) => password,
            Err(_) => rpassword::prompt_password(format!("Password for {user}@{address}: "))
                .map_err(|e| {
                    EmberError::execution(format!(
                        "cannot read the password ({e}); set EMBER_PASSWORD instead"
                    ))
                })?,
        }),
    };
    let tls_ca = match &args.tls_ca {
        Some(path) => {
            Some(std::fs::read(path).map_err(|e| EmberError::io(path.display().to_string(), e))?)
        }
        None => None,
    };
    FlightSqlClient::connect(&ConnectOptions {
        address: address.to_string(),
        user: args.user.clone(),
        password,
        tls: args.tls,
        tls_ca,
    })
}

/// Ctrl-C while a statement runs: SIGINT sets a flag (all a signal handler may do), and a
/// watcher thread cancels every job of the local engine while the flag is set and a
/// statement runs, so the statement ends with a "cancelled" error and the shell goes on.
mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, OnceLock, Weak};
    use std::time::Duration;

    use ember_core::EmberContext;

    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    static RUNNING: AtomicBool = AtomicBool::new(false);
    static ANNOUNCED: AtomicBool = AtomicBool::new(false);
    /// Weak: the context must still be dropped (and its executors stopped) when the shell ends.
    static CONTEXT: OnceLock<Weak<EmberContext>> = OnceLock::new();

    extern "C" fn on_sigint(_: std::ffi::c_int) {
        // A second Ctrl-C before the first took effect quits (as a shell user expects).
        if INTERRUPTED.swap(true, Ordering::SeqCst) && RUNNING.load(Ordering::SeqCst) {
            // SAFETY: _exit is async-signal-safe.
            unsafe { nix::libc::_exit(130) };
        }
    }

    /// Installs the handler; `context` is the local engine's (none for `--connect`).
    pub fn install(context: Option<Arc<EmberContext>>) {
        use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
        if let Some(context) = context {
            let _ = CONTEXT.set(Arc::downgrade(&context));
        }
        let action = SigAction::new(
            SigHandler::Handler(on_sigint),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        if unsafe { sigaction(Signal::SIGINT, &action) }.is_err() {
            return;
        }
        std::thread::Builder::new()
            .name("ember-ctrl-c".to_string())
            .spawn(|| loop {
                std::thread::sleep(Duration::from_millis(50));
                if !INTERRUPTED.load(Ordering::SeqCst) {
                    continue;
                }
                if !RUNNING.load(Ordering::SeqCst) {
                    INTERRUPTED.store(false, Ordering::SeqCst);
                    continue;
                }
                match CONTEXT.get().map(Weak::upgrade) {
                    Some(Some(context)) => {
                        if !ANNOUNCED.swap(true, Ordering::SeqCst) {
                            eprintln!("(cancelling the statement; Ctrl-C again quits the shell)");
                        }
                        context.cancel_all_jobs("Ctrl-C in the shell")
                    }
                    Some(None) => {}
                    // A server's statement: the client sees the flag and drops the call,
                    // which cancels the query there.
                    None => {
                        if !ANNOUNCED.swap(true, Ordering::SeqCst) {
                            eprintln!("(cancelling the statement; Ctrl-C again quits the shell)");
                        }
                    }
                }
            })
            .ok();
    }

    /// Marks a statement as running (Ctrl-C cancels it) until the guard drops.
    pub fn running() -> impl Drop {
        INTERRUPTED.store(false, Ordering::SeqCst);
        ANNOUNCED.store(false, Ordering::SeqCst);
        RUNNING.store(true, Ordering::SeqCst);
        Running
    }

    /// Set by Ctrl-C while a statement runs (a server's client watches it).
    pub fn flag() -> &'static AtomicBool {
        &INTERRUPTED
    }

    /// Whether Ctrl-C was pressed during the statement that just ran.
    pub fn was_interrupted() -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }

    struct Running;

    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.store(false, Ordering::SeqCst);
        }
    }
}

/// Runs every statement, printing each result; stops at the first error.
fn run_script(engine: &Engine, sql: &str) -> ExitCode {
    // Statements are split here in both modes, so a remote script also prints every result.
    let statements = match ember_session::guard::guarded(sql, || ember_sql::parse_statements(sql)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", render_with_source(&e, sql));
            return ExitCode::FAILURE;
        }
    };
    for statement in statements {
        let started = Instant::now();
        let running = interrupt::running();
        let result = match engine {
            Engine::Local(session) => session
                .execute(&statement)
                .map_err(|e| render_with_source(&e.into_root(), sql)),
            Engine::Remote(client) => client
                .borrow_mut()
                .execute_interruptible(&statement.text, interrupt::flag())
                .map(|(schema, batches)| QueryResult {
                    schema,
                    batches,
                    rows_written: None,
                })
                .map_err(|e| e.to_string()),
        };
        drop(running);
        let max_rows = match engine {
            Engine::Local(session) => match session.conf().get_usize("ember.sql.cli.maxRows") {
                0 => DEFAULT_MAX_ROWS,
                n => n,
            },
            Engine::Remote(_) => DEFAULT_MAX_ROWS,
        };
        match result {
            Ok(result) => print_result(&result, started, max_rows),
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::FAILURE;
            }
        }
        if interrupt::was_interrupted() {
            eprintln!("(interrupted: the remaining statements were not run)");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// The longest column name the shell's tables show in full.
const MAX_HEADER_CHARS: usize = 120;

/// The default of `ember.sql.cli.maxRows`.
const DEFAULT_MAX_ROWS: usize = 40;

fn print_result(result: &QueryResult, started: Instant, max_rows: usize) {
    if result.schema.fields().is_empty() {
        let elapsed = started.elapsed().as_secs_f64();
        println!("OK ({elapsed:.3} s)");
        return;
    }
    // EXPLAIN returns one text cell: print the plan itself, not a table around it.
    if result.schema.fields().len() == 1 && result.schema.field(0).name() == "plan" {
        for batch in &result.batches {
            if let Some(plans) = batch
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
            {
                for plan in plans.iter().flatten() {
                    println!("{plan}");
                }
            }
        }
        return;
    }
    // A column named after a long expression (a 3,000-term sum) is shown by its start and
    // end: the table is for reading, and laying out a huge header is slow.
    let shown = Arc::new(arrow::datatypes::Schema::new(
        result
            .schema
            .fields()
            .iter()
            .map(|f| {
                f.as_ref()
                    .clone()
                    .with_name(ember_sql::error::abbreviate(f.name(), MAX_HEADER_CHARS))
            })
            .collect::<Vec<_>>(),
    ));
    let batches: Vec<RecordBatch> = result
        .batches
        .iter()
        .filter(|b| b.num_rows() > 0)
        .cloned()
        .collect();
    let rows = result.num_rows();
    let plural = if rows == 1 { "" } else { "s" };
    if batches.is_empty() {
        let header: Vec<&str> = shown.fields().iter().map(|f| f.name().as_str()).collect();
        println!("{}", header.join(" | "));
        println!(
            "{rows} row{plural} in {:.3} s",
            started.elapsed().as_secs_f64()
        );
        return;
    }
    // On a terminal at most ember.sql.cli.maxRows rows; to a pipe or a file, all of them.
    let limit = if std::io::stdout().is_terminal() {
        max_rows.max(1)
    } else {
        usize::MAX
    };
    let headers: Vec<String> = shown.fields().iter().map(|f| f.name().clone()).collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = crate::render::write_table(&mut out, &headers, &batches, limit)
        .and_then(|shown| out.flush().map(|_| shown));
    drop(out);
    let elapsed = started.elapsed().as_secs_f64();
    match written {
        Ok(shown) if shown < rows => {
            println!("{rows} row{plural}, {shown} shown (ember.sql.cli.maxRows) in {elapsed:.3} s")
        }
        Ok(_) => println!("{rows} row{plural} in {elapsed:.3} s"),
        // The reader went away (`ember ... | head`): nothing more to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => eprintln!("could not write the result: {e}"),
    }
}

/// Whether a statement sets a key whose value is a secret (see `is_secret_key`).
fn sets_a_secret(sql: &str) -> bool {
    sql.split(';').any(|statement| {
        let statement = statement.trim();
        let Some(rest) = statement
            .get(..3)
            .filter(|head| head.eq_ignore_ascii_case("set"))
            .map(|_| &statement[3..])
        else {
            return false;
        };
        rest.split_once('=')
            .is_some_and(|(key, _)| ember_common::config::is_secret_key(key.trim()))
    })
}

fn history_path() -> Option<std::path::PathBuf> {
    dirs::home_dir().map(|h| h.join(".ember_history"))
}

fn interactive(engine: &Engine) -> Result<ExitCode> {
    let mut editor = DefaultEditor::new()
        .map_err(|e| EmberError::execution(format!("cannot start the line editor: {e}")))?;
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!(
        "Ember {} — SQL shell. End statements with ';'. Type 'exit;' or Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION")
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "ember> "
        } else {
            "    -> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if buffer.is_empty()
                    && matches!(
                        trimmed.trim_end_matches(';').to_lowercase().as_str(),
                        "exit" | "quit" | "\\q"
                    )
                {
                    break;
                }
                if trimmed.is_empty() && buffer.is_empty() {
                    continue;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if !statement_complete(&buffer) {
                    continue;
                }
                let sql = std::mem::take(&mut buffer);
                // A SET of a secret (ember.s3.secretAccessKey = ...) stays out of the history file.
                if !sets_a_secret(&sql) {
                    let _ = editor.add_history_entry(sql.trim());
                    // Saved now: a shell that is killed keeps what was typed.
                    if let Some(h) = &history {
                        let _ = editor.save_history(h);
                    }
                }
                run_script(engine, &sql);
            }
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                println!("(statement cleared; Ctrl-D or 'exit;' leaves)");
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(EmberError::execution(format!("reading input failed: {e}"))),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(ExitCode::SUCCESS)
}

/// A statement is complete when it ends with `;` outside quotes and comments.
fn statement_complete(text: &str) -> bool {
    let mut in_single = false;
    let mut in_double = false;
    let mut in_backtick = false;
    let mut last_significant = ' ';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if !in_double && !in_backtick => in_single = !in_single,
            '"' if !in_single && !in_backtick => in_double = !in_double,
            '`' if !in_single && !in_double => in_backtick = !in_backtick,
            '-' if !in_single && !in_double && !in_backtick && chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                continue;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            last_significant = c;
        }
    }
    !in_single && !in_double && !in_backtick && last_significant == ';'
}

#[cfg(test)]
mod tests {
    use super::{sets_a_secret, statement_complete};

    #[test]
    fn secrets_set_in_the_shell_stay_out_of_the_history() {
        assert!(sets_a_secret("SET ember.s3.secretAccessKey = abc;"));
        assert!(sets_a_secret(
            "select 1; set spark.hadoop.fs.s3a.access.key=x;"
        ));
        assert!(!sets_a_secret("SET ember.s3.region = eu-west-1;"));
        assert!(!sets_a_secret("SELECT 'secret=1';"));
        assert!(!sets_a_secret("é;"));
    }

    #[test]
    fn statements_end_at_semicolons_outside_quotes() {
        assert!(statement_complete("select 1;"));
        assert!(!statement_complete("select ';'"));
        assert!(statement_complete("select ';';\n"));
        assert!(!statement_complete("select 1 -- ;\n"));
    }
}
