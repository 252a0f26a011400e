//! Answers decided by the configuration: `return` (nginx's rewrite module) and
//! `error_page` (http core).

use std::sync::Arc;

use super::build::Builder;
use super::commands::{Command, Ctx, HTTP_ALL, MORE2, Set, SetResult, TAKE12, cmd};
use super::level::Settings;
use super::syntax::Directive;
use super::values::template;
use super::{ErrorPage, LocConf, Return};

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("return", &[Ctx::Server, Ctx::Location], TAKE12, Set::Level(return_)),
    cmd("error_page", HTTP_ALL, MORE2, Set::Level(error_page)),
];

#[derive(Default)]
pub(super) struct Own {
    /// Not inherited: it is the level's content handler.
    ret: Option<Return>,
    /// Replaces the inherited pages when the level has any.
    error_page: Vec<(u16, ErrorPage)>,
}

impl Own {
    pub(super) fn merge(&self, conf: &mut LocConf) {
        conf.ret.clone_from(&self.ret);
        if !self.error_page.is_empty() {
            conf.error_page = Arc::new(self.error_page.iter().cloned().collect());
        }
    }
}

/// `return code [text]`, or `return URL` for a 302.
fn return_(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    let first = &d.args[0];
    let ret = match first.parse::<u16>() {
        Ok(code) if code <= 999 => Return {
            code,
            text: d.args.get(1).map(|t| template(d, t)).transpose()?,
        },
        Err(_)
            if d.args.len() == 1
                && (first.starts_with("http://")
                    || first.starts_with("https://")
                    || first.starts_with('$')) =>
        {
            Return {
                code: 302,
                text: Some(template(d, first)?),
            }
        }
        _ => return Err(d.error(format!("invalid return code \"{first}\""))),
    };
    level.rewrite.ret = Some(ret);
    Ok(())
}

/// `error_page code... [=status] uri`.
fn error_page(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    let (uri, codes_and_status) = d
        .args
        .split_last()
        .expect("the table asks for two arguments or more");
    let mut status = None;
    let mut codes = Vec::new();
    for a in codes_and_status {
        if let Some(code) = a.strip_prefix('=') {
            status = Some(
                code.parse::<u16>()
                    .ok()
                    .filter(|c| (200..600).contains(c))
                    .ok_or_else(|| d.error(format!("invalid value \"{a}\"")))?,
            );
            continue;
        }
        let code: u16 = a
            .parse()
            .ok()
            .filter(|c| (300..600).contains(c))
            .ok_or_else(|| d.error(format!("value \"{a}\" must be between 300 and 599")))?;
        codes.push(code);
    }
    if codes.is_empty() {
        return Err(d.error("invalid number of arguments in \"error_page\" directive"));
    }
    if !uri.starts_with('/') {
        return Err(d.error("error_page to a named location or URL is not supported by wsgi-tutor"));
    }
    for code in codes {
        level.rewrite.error_page.push((
            code,
            ErrorPage {
                uri: uri.clone(),
                status,
            },
        ));
    }
    Ok(())
}
