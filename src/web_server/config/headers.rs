//! nginx's headers module: `add_header`.

use std::sync::Arc;

use super::build::Builder;
use super::commands::{Command, HTTP_ALL, Set, SetResult, TAKE23, cmd};
use super::level::Settings;
use super::syntax::Directive;
use super::values::{header_name, template};
use super::{AddHeader, LocConf};

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("add_header", HTTP_ALL, TAKE23, Set::Level(add_header)),
];

#[derive(Default)]
pub(super) struct Own {
    /// Replaces the inherited list when the level has any, as in nginx (not merged).
    add_header: Vec<AddHeader>,
}

impl Own {
    pub(super) fn merge(&self, conf: &mut LocConf) {
        if !self.add_header.is_empty() {
            conf.add_header = Arc::new(self.add_header.clone());
        }
    }
}

/// `add_header name value [always]`.
fn add_header(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    let always = match d.args.get(2).map(String::as_str) {
        None => false,
        Some("always") => true,
        Some(other) => return Err(d.error(format!("invalid parameter \"{other}\""))),
    };
    let name = header_name(d, &d.args[0])?;
    let value = template(d, &d.args[1])?;
    level.headers.add_header.push(AddHeader {
        name,
        value,
        always,
    });
    Ok(())
}
