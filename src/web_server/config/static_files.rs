//! Where files come from and how they are served: `root`, `alias` and the file settings of
//! nginx's http core module, with the index and autoindex modules.

use std::sync::Arc;

use hyper::header::HeaderValue;

use super::build::Builder;
use super::commands::{
    BLOCK_ANY, Command, Ctx, FLAG, HTTP_ALL, MORE1, Set, SetResult, TAKE1, TAKE12, cmd,
};
use super::http_core::LocationDraft;
use super::level::{Settings, merge};
use super::syntax::{Directive, resolve};
use super::values::on_off;
use super::{DocRoot, LocConf, Symlinks, SymlinksFrom, mime};

#[rustfmt::skip]
pub(super) const COMMANDS: &[Command] = &[
    cmd("root", HTTP_ALL, TAKE1, Set::Level(root)),
    cmd("alias", &[Ctx::Location], TAKE1, Set::Location(alias)),
    cmd("index", HTTP_ALL, MORE1, Set::Level(index)),
    cmd("autoindex", HTTP_ALL, FLAG, Set::Level(autoindex)),
    cmd("disable_symlinks", HTTP_ALL, TAKE12, Set::Level(disable_symlinks)),
    cmd("types", HTTP_ALL, BLOCK_ANY, Set::Level(types)),
    cmd("default_type", HTTP_ALL, TAKE1, Set::Level(default_type)),
];

#[derive(Default)]
pub(super) struct Own {
    root: Option<DocRoot>,
    index: Option<Vec<String>>,
    autoindex: Option<bool>,
    disable_symlinks: Option<Symlinks>,
    types: Option<Arc<mime::Types>>,
    default_type: Option<HeaderValue>,
}

impl Own {
    pub(super) fn merge(&self, conf: &mut LocConf) {
        merge(&self.root, &mut conf.doc_root);
        merge(&self.index, &mut conf.index);
        merge(&self.autoindex, &mut conf.autoindex);
        merge(&self.disable_symlinks, &mut conf.disable_symlinks);
        merge(&self.types, &mut conf.types);
        merge(&self.default_type, &mut conf.default_type);
    }
}

fn root(b: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    match level.files.root {
        Some(DocRoot::Alias { .. }) => Err(
            d.error("\"root\" directive is duplicate, \"alias\" directive was specified earlier")
        ),
        Some(DocRoot::Root(_)) => Err(d.error("\"root\" directive is duplicate")),
        None => {
            level.files.root = Some(DocRoot::Root(resolve(&b.base, &d.args[0])));
            Ok(())
        }
    }
}

fn alias(b: &mut Builder<'_>, d: &Directive, location: &mut LocationDraft) -> SetResult {
    // This names `root` even when the earlier one was an `alias`, where nginx says only
    // "is duplicate"; kept as it was until the messages are aligned on purpose.
    if location.level.files.root.is_some() {
        return Err(
            d.error("\"alias\" directive is duplicate, \"root\" directive was specified earlier")
        );
    }
    location.level.files.root = Some(DocRoot::Alias {
        dir: resolve(&b.base, &d.args[0]),
        prefix: location.pattern.clone(),
        regex: location.is_regex(),
    });
    Ok(())
}

/// Several `index` lines add up, as in nginx.
fn index(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    if d.args.iter().any(String::is_empty) {
        return Err(d.error("index \"\" in \"index\" directive is invalid"));
    }
    level
        .files
        .index
        .get_or_insert_with(Vec::new)
        .extend(d.args.iter().cloned());
    Ok(())
}

fn autoindex(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    level.files.autoindex = Some(on_off(d)?);
    Ok(())
}

/// `disable_symlinks off | on | if_not_owner [from=part]`, in either order, with nginx's
/// messages. `from=` takes a path, `$document_root` or `$realpath_root`; any other
/// variable is warned about and the whole path is checked (stricter, never looser).
fn disable_symlinks(b: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    let mut mode: Option<(&str, Option<bool>)> = None;
    let mut from = None;
    for arg in &d.args {
        let this = match arg.as_str() {
            "off" => None,
            "on" => Some(false),
            "if_not_owner" => Some(true),
            other => {
                let Some(part) = other.strip_prefix("from=") else {
                    return Err(d.error(format!("invalid parameter \"{other}\"")));
                };
                from = Some(part);
                continue;
            }
        };
        if let Some((first, _)) = mode {
            return Err(d.error(format!("duplicate parameters \"{first} {arg}\"")));
        }
        mode = Some((arg, this));
    }
    let Some((_, mode)) = mode else {
        return Err(d.error(
            "\"disable_symlinks\" must have \"off\", \"on\" or \"if_not_owner\" parameter",
        ));
    };
    let symlinks = match mode {
        None if from.is_some() => {
            return Err(d.error("\"from=\" cannot be used with \"off\" parameter"));
        }
        None => Symlinks::Follow,
        Some(if_not_owner) => Symlinks::Refuse {
            if_not_owner,
            from: from.and_then(|part| symlinks_from(b, d, part)),
        },
    };
    level.files.disable_symlinks = Some(symlinks);
    Ok(())
}

fn symlinks_from(b: &mut Builder<'_>, d: &Directive, part: &str) -> Option<SymlinksFrom> {
    match part {
        "" => None,
        "$document_root" => Some(SymlinksFrom::DocumentRoot),
        "$realpath_root" => Some(SymlinksFrom::RealpathRoot),
        path if !path.contains('$') => Some(SymlinksFrom::Path(path.into())),
        other => {
            b.warn(
                d,
                format!(
                    "\"from={other}\" is not supported by wsgi-tutor (a path, $document_root or \
                     $realpath_root): the whole path is checked"
                ),
            );
            None
        }
    }
}

fn types(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    let block = d.block.as_deref().unwrap_or_default();
    level.files.types = Some(Arc::new(mime::Types::from_block(block)?));
    Ok(())
}

fn default_type(_: &mut Builder<'_>, d: &Directive, level: &mut Settings) -> SetResult {
    let value = HeaderValue::from_str(&d.args[0]).map_err(|_| {
        d.error(format!(
            "invalid value \"{}\" in \"default_type\" directive",
            d.args[0]
        ))
    })?;
    level.files.default_type = Some(value);
    Ok(())
}
