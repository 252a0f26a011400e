//! nginx's log and errlog modules: `log_format`, `access_log`, `error_log`.

use std::sync::Arc;

use super::LocConf;
use super::build::Builder;
use super::commands::{
    ANYTHING, Command, Ctx, HTTP_ALL, MORE2, Set, SetResult, TAKE12, TAKE123, cmd,
};
use super::level::Settings;
use super::syntax::Directive;
use super::values::template;
use crate::web_server::log::{AccessLog, ErrorLog, Level, LogFormat};

use Ctx::{Http, Main, Server};

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("log_format", &[Http], MORE2, Set::Early(log_format)),
    cmd("access_log", HTTP_ALL, TAKE123, Set::Level(access_log)),
    cmd("error_log", &[Main, Http], TAKE12, Set::Global(error_log)),
    cmd("error_log", &[Server], ANYTHING, Set::Global(error_log_in_server)),
];

/// A level's own access logs; `Some(empty)` is `access_log off`.
#[derive(Default)]
pub(super) struct Own {
    access_log: Option<Vec<AccessLog>>,
}

impl Own {
    pub(super) fn merge(&self, conf: &mut LocConf) {
        if let Some(own) = &self.access_log {
            conf.access_log = Arc::new(own.clone());
        }
    }
}

fn log_format(b: &mut Builder<'_>, d: &Directive) -> SetResult {
    let (name, mut rest) = d
        .args
        .split_first()
        .expect("the table asks for two arguments or more");
    let mut escape_json = false;
    if let Some(mode) = rest[0].strip_prefix("escape=") {
        escape_json = match mode {
            "default" | "none" => false,
            "json" => true,
            _ => return Err(d.error(format!("unknown log format escaping \"{mode}\""))),
        };
        rest = &rest[1..];
    }
    if rest.is_empty() {
        return Err(d.error("invalid number of arguments in \"log_format\" directive"));
    }
    if name == "combined" {
        return Err(d.error("duplicate \"log_format\" name \"combined\""));
    }
    let template = template(d, &rest.concat())?;
    b.formats.insert(
        name.clone(),
        Arc::new(LogFormat::new(name, template, escape_json)),
    );
    Ok(())
}

fn access_log(b: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    if d.args[0] == "off" {
        level.log.access_log = Some(Vec::new());
        return Ok(());
    }
    let format_name = d.args.get(1).map_or("combined", String::as_str);
    let format = b
        .formats
        .get(format_name)
        .cloned()
        .ok_or_else(|| d.error(format!("unknown log format \"{format_name}\"")))?;
    let file = b.open_log(d)?;
    level
        .log
        .access_log
        .get_or_insert_with(Vec::new)
        .push(AccessLog { file, format });
    Ok(())
}

/// One error log serves the whole web server: the last `error_log` of main or http wins.
fn error_log(b: &mut Builder<'_>, d: &Directive) -> SetResult {
    let level = match d.args.get(1) {
        Some(name) => {
            Level::parse(name).ok_or_else(|| d.error(format!("invalid log level \"{name}\"")))?
        }
        None => Level::Error,
    };
    let file = b.open_log(d)?;
    b.error_log = Some(Arc::new(ErrorLog::new(file, level)));
    Ok(())
}

fn error_log_in_server(b: &mut Builder<'_>, d: &Directive) -> SetResult {
    b.warn(
        d,
        "\"error_log\" applies to the whole web server here".into(),
    );
    Ok(())
}
