//! redis-server's startup forms: `cinnabar [config-file] [--directive value …]`.
//!
//! As in Redis, command-line options are appended to the file's text and then
//! everything is parsed as config lines, so `--save ""` and `--port 7000` mean
//! exactly what they mean to redis-server.

use std::fmt;

use super::Config;
use crate::conn::protocol::split_args;

#[derive(Debug)]
pub enum StartupError {
    /// Redis's fatal config error block: line number, line text, reason.
    Config {
        line: usize,
        text: String,
        reason: String,
    },
    Io(String),
    /// `--version` / `--help`: print and exit 0.
    Exit(String),
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupError::Config { line, text, reason } => write!(
                f,
                "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}",
                crate::REDIS_VERSION
            ),
            StartupError::Io(e) => f.write_str(e),
            StartupError::Exit(msg) => f.write_str(msg),
        }
    }
}

/// Parses argv (without the program name) into `config`. Returns the config file path, if any.
pub fn load_startup(config: &Config, args: &[String]) -> Result<Option<String>, StartupError> {
    let mut text = String::new();
    let mut file = None;
    let mut i = 0;
    if let Some(first) = args.first() {
        match first.as_str() {
            "-v" | "--version" => {
                return Err(StartupError::Exit(format!(
                    "Cinnabar server v={} redis_version={} bits=64",
                    crate::VERSION,
                    crate::REDIS_VERSION
                )))
            }
            "-h" | "--help" => return Err(StartupError::Exit(USAGE.to_string())),
            a if !a.starts_with("--") => {
                let content = if a == "-" {
                    std::io::read_to_string(std::io::stdin())
                        .map_err(|e| StartupError::Io(e.to_string()))?
                } else {
                    std::fs::read_to_string(a).map_err(|e| {
                        StartupError::Io(format!("Fatal error, can't open config file '{a}': {e}"))
                    })?
                };
                // Started from a config file, redis-server binds what the file
                // says or its compiled default, every interface (`* -::*`,
                // with protected mode refusing remote clients until a password
                // is set); only Cinnabar started bare binds loopback.
                let _ = config.set("bind", "* -::*", true);
                text.push_str(&content);
                text.push('\n');
                // Kept absolute (Redis's getAbsolutePath): the server later moves
                // into `dir`, and CONFIG REWRITE must find the file again.
                if a != "-" {
                    file = Some(absolute_path(a));
                }
                i = 1;
            }
            _ => {}
        }
    }
    text.push_str(&options_text(&args[i..]));
    text.push('\n');
    load_text(config, &text)?;
    Ok(file)
}

fn absolute_path(path: &str) -> String {
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        return path.to_string();
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(p).display().to_string(),
        Err(_) => path.to_string(),
    }
}

/// Redis's command-line rules (server.c `main`): `--name` starts a directive,
/// other words are its quoted arguments; `"--name value"` in one argv element
/// is a whole directive; a bare `--save` means `save ""`.
fn options_text(args: &[String]) -> String {
    let mut options = String::new();
    let mut handled_last_arg = true;
    for (j, arg) in args.iter().enumerate() {
        if handled_last_arg && arg.starts_with("--") {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(&arg[2..]);
            options.push(' ');
            let words = split_args(arg.as_bytes()).map_or(0, |w| w.len());
            if words == 1 {
                handled_last_arg = false;
                let is_save = arg.eq_ignore_ascii_case("--save");
                let last = j == args.len() - 1;
                if is_save && !last && args[j + 1].starts_with("--") {
                    options.push_str("\"\"");
                    handled_last_arg = true;
                } else if is_save && last {
                    options.push_str("\"\"");
                }
            } else {
                handled_last_arg = true;
            }
        } else {
            options.push_str(&quote(arg));
            options.push(' ');
            handled_last_arg = true;
        }
    }
    options
}

fn quote(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c)
            }
            '\n' => s.push_str("\\n"),
            _ => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Applies config-file text. `save` lines accumulate (as Redis), `include` is followed.
pub fn load_text(config: &Config, text: &str) -> Result<(), StartupError> {
    let mut saves: Option<Vec<String>> = None;
    for (n, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fail = |reason: &str| StartupError::Config {
            line: n + 1,
            text: trimmed.to_string(),
            reason: reason.to_string(),
        };
        let Some(words) = split_args(trimmed.as_bytes()) else {
            return Err(fail("Unbalanced quotes in configuration line"));
        };
        if words.is_empty() {
            continue;
        }
        let words: Vec<String> = words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect();
        let name = words[0].to_ascii_lowercase();
        let value = words[1..].join(" ");
        match name.as_str() {
            "include" => {
                let inc = std::fs::read_to_string(&value)
                    .map_err(|e| fail(&format!("Can't open include file: {e}")))?;
                load_text(config, &inc)?;
            }
            "save" => {
                let list = saves.get_or_insert_with(Vec::new);
                if value.is_empty() || value == "\"\"" {
                    list.clear();
                } else {
                    list.push(value);
                }
            }
            "rename-command" if words.len() == 3 => {
                rename_command(config, &words[1], &words[2]).map_err(&fail)?;
            }
            "user" if words.len() >= 2 => {
                let words: Vec<bytes::Bytes> = words[1..]
                    .iter()
                    .map(|w| bytes::Bytes::copy_from_slice(w.as_bytes()))
                    .collect();
                config.add_user_line(&words).map_err(|e| fail(&e))?;
            }
            // Redis accepts these as directives that are not CONFIG parameters.
            "user" | "loadmodule" | "sentinel" => {
                tracing::warn!("directive '{name}' is not supported and was ignored");
            }
            "replicaof" | "slaveof" => {
                if words.len() != 3 {
                    return Err(fail("wrong number of arguments"));
                }
                if words[2].parse::<u16>().is_err() {
                    return Err(fail("Invalid master port"));
                }
                // Followed once the server listens (`repl::replica::start_from_config`).
                let value = if words[1].eq_ignore_ascii_case("no") {
                    String::new()
                } else {
                    format!("{} {}", words[1], words[2])
                };
                config.set_startup_raw("replicaof", &value);
            }
            _ => {
                if !config.is_known(&name.replace("slave", "replica")) {
                    return Err(fail("Bad directive or wrong number of arguments"));
                }
                let multi_arg = MULTI_ARG.contains(&name.as_str());
                if (!multi_arg && words.len() != 2)
                    || (multi_arg && words.len() < 2 && !name.starts_with("shutdown-on-"))
                {
                    return Err(fail("wrong number of arguments"));
                }
                if let Err(reason) = config.set(&name, &value, true) {
                    let reason = if reason == "Unknown option" {
                        "Bad directive or wrong number of arguments".to_string()
                    } else {
                        reason
                    };
                    return Err(fail(&reason));
                }
            }
        }
    }
    if let Some(list) = saves {
        config
            .set("save", &list.join(" "), true)
            .map_err(|reason| StartupError::Config {
                line: 0,
                text: "save".into(),
                reason,
            })?;
    }
    Ok(())
}

/// `rename-command <from> <to>`: checked against the command table as renamed
/// so far; the server applies the list when it builds its table.
fn rename_command(config: &Config, from: &str, to: &str) -> Result<(), &'static str> {
    let mut names: Vec<String> = crate::command::CommandTable::new()
        .top_level()
        .map(|s| s.name.to_string())
        .collect();
    for (f, t) in config.renames() {
        names.retain(|n| *n != f);
        if !t.is_empty() {
            names.push(t);
        }
    }
    let from = from.to_ascii_lowercase();
    let to = to.to_ascii_lowercase();
    if !names.contains(&from) {
        return Err("No such command in rename-command");
    }
    names.retain(|n| *n != from);
    if !to.is_empty() && names.contains(&to) {
        return Err("Target command name already exists");
    }
    config.add_rename(&from, &to);
    Ok(())
}

/// Directives that take several arguments (Redis's MULTI_ARG_CONFIG).
const MULTI_ARG: &[&str] = &[
    "save",
    "client-output-buffer-limit",
    "oom-score-adj-values",
    "bind",
    "shutdown-on-sigint",
    "shutdown-on-sigterm",
    "latency-tracking-info-percentiles",
];

const USAGE: &str = "Usage: cinnabar [/path/to/redis.conf] [options] [-]\n       cinnabar - (read config from stdin)\n       cinnabar -v or --version\n       cinnabar -h or --help\n\nExamples:\n       cinnabar (run the server with default config)\n       cinnabar /etc/redis/6379.conf\n       cinnabar --port 7777\n       cinnabar /etc/myredis.conf --loglevel verbose -\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_overrides() {
        let c = Config::new();
        let args: Vec<String> = [
            "--port",
            "7000",
            "--save",
            "--bind",
            "127.0.0.1",
            "::1",
            "--maxmemory 1mb",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        load_startup(&c, &args).unwrap();
        assert_eq!(c.get("port").unwrap(), "7000");
        assert_eq!(c.get("save").unwrap(), "");
        assert_eq!(c.get("bind").unwrap(), "127.0.0.1 ::1");
        assert_eq!(c.get("maxmemory").unwrap(), "1048576");
    }

    #[test]
    fn command_line_errors_like_redis() {
        let run = |a: &[&str]| {
            let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
            load_startup(&Config::new(), &args).unwrap_err().to_string()
        };
        assert!(run(&["--port"]).contains("'port'\nwrong number of arguments"));
        assert!(run(&["--port", "6379", "6380"])
            .contains("'port \"6379\" \"6380\"'\nwrong number of arguments"));
        assert!(run(&["--port", "--bla", "--loglevel", "verbose"])
            .contains("argument couldn't be parsed into an integer"));
        assert!(run(&["--replicaof", "127.0.0.1", "abc"]).contains("Invalid master port"));
    }

    #[test]
    fn bad_directive_is_fatal() {
        let c = Config::new();
        let err = load_text(&c, "port 1\nfoo bar\n").unwrap_err();
        assert!(err.to_string().contains("at line 2"));
        assert!(err.to_string().contains("Bad directive"));
    }
}
