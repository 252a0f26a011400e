//! The APP argument: which application to serve, spelled like gunicorn's.
//!
//! - `module:callable` imports `module` (from the working directory or `sys.path`);
//! - `path/to/file.py:callable` loads that file;
//! - `builtin:NAME` serves one of the Rust demo apps, no Python needed.
//!
//! The callable defaults to `application`; `name()` calls a factory (Flask's `create_app()`).

use std::fmt;

/// A parsed APP argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSpec {
    Module { module: String, callable: String },
    File { path: String, callable: String },
    Builtin(String),
}

/// The Rust demo apps that `builtin:NAME` knows.
pub const BUILTIN_NAMES: &[&str] = &["hello", "environ", "echo", "site"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppSpecError {
    #[error("APP is empty; give module:callable, path/to/app.py:callable or builtin:NAME")]
    Empty,
    #[error(
        "no built-in app named {0:?}; the built-in apps are builtin:hello, builtin:environ, builtin:echo and builtin:site"
    )]
    UnknownBuiltin(String),
    #[error(
        "{0:?} is not a Python name; the part after ':' names the callable, like application or create_app()"
    )]
    BadCallable(String),
    #[error(
        "{0:?} is not a Python module name; use module.sub:callable or path/to/app.py:callable"
    )]
    BadModule(String),
}

impl AppSpec {
    pub fn parse(text: &str) -> Result<Self, AppSpecError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AppSpecError::Empty);
        }
        if let Some(name) = text.strip_prefix("builtin:") {
            return if BUILTIN_NAMES.contains(&name) {
                Ok(AppSpec::Builtin(name.to_owned()))
            } else {
                Err(AppSpecError::UnknownBuiltin(name.to_owned()))
            };
        }
        // rsplit: a Windows path (C:\lab\app.py:application) has a colon of its own.
        let (target, callable) = match text.rsplit_once(':') {
            Some((target, callable)) if !callable.contains(['/', '\\']) && !target.is_empty() => {
                (target, callable)
            }
            _ => (text, "application"),
        };
        if !is_callable_expr(callable) {
            return Err(AppSpecError::BadCallable(callable.to_owned()));
        }
        let callable = callable.to_owned();
        if target.ends_with(".py") || target.contains(['/', '\\']) {
            Ok(AppSpec::File {
                path: target.to_owned(),
                callable,
            })
        } else if target.split('.').all(is_identifier) {
            Ok(AppSpec::Module {
                module: target.to_owned(),
                callable,
            })
        } else {
            Err(AppSpecError::BadModule(target.to_owned()))
        }
    }

    /// The three arguments the worker script takes: kind, target, callable.
    pub fn worker_args(&self) -> [&str; 3] {
        match self {
            AppSpec::Module { module, callable } => ["module", module, callable],
            AppSpec::File { path, callable } => ["file", path, callable],
            AppSpec::Builtin(name) => ["builtin", name, ""],
        }
    }
}

impl fmt::Display for AppSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppSpec::Module { module, callable } => write!(f, "{module}:{callable}"),
            AppSpec::File { path, callable } => write!(f, "{path}:{callable}"),
            AppSpec::Builtin(name) => write!(f, "builtin:{name}"),
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// `name`, `name.attr` or `factory()`.
fn is_callable_expr(s: &str) -> bool {
    let s = s.strip_suffix("()").unwrap_or(s);
    s.split('.').all(is_identifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(m: &str, c: &str) -> AppSpec {
        AppSpec::Module {
            module: m.into(),
            callable: c.into(),
        }
    }
    fn file(p: &str, c: &str) -> AppSpec {
        AppSpec::File {
            path: p.into(),
            callable: c.into(),
        }
    }

    #[test]
    fn app_specs_parse_like_gunicorn() {
        let table: &[(&str, Result<AppSpec, AppSpecError>)] = &[
            ("hello", Ok(module("hello", "application"))),
            ("hello:app", Ok(module("hello", "app"))),
            ("pkg.mod:app", Ok(module("pkg.mod", "app"))),
            ("app:create_app()", Ok(module("app", "create_app()"))),
            ("hello.py", Ok(file("hello.py", "application"))),
            ("apps/hello.py:app", Ok(file("apps/hello.py", "app"))),
            ("./apps/site", Ok(file("./apps/site", "application"))),
            (
                r"C:\lab\app.py:application",
                Ok(file(r"C:\lab\app.py", "application")),
            ),
            (r"C:\lab\app.py", Ok(file(r"C:\lab\app.py", "application"))),
            ("builtin:site", Ok(AppSpec::Builtin("site".into()))),
            (
                "builtin:nope",
                Err(AppSpecError::UnknownBuiltin("nope".into())),
            ),
            ("hello:1app", Err(AppSpecError::BadCallable("1app".into()))),
            ("my-app:app", Err(AppSpecError::BadModule("my-app".into()))),
            ("  ", Err(AppSpecError::Empty)),
        ];
        for (input, expected) in table {
            assert_eq!(&AppSpec::parse(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["hello:application", "a/b.py:app", "builtin:echo"] {
            assert_eq!(AppSpec::parse(text).unwrap().to_string(), text);
        }
    }
}
