//! nginx's `include`: each `include file;` is replaced, while parsing, by the directives of
//! the files it names (globs allowed, relative to the including file's folder).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ConfigError;
use super::syntax::{Directive, os_error, parse_text, resolve};

/// How deep `include` may nest before we call it a loop.
const MAX_INCLUDE_DEPTH: usize = 16;

/// A file's directives with its includes expanded; `from` is the `include` naming it.
pub(super) fn parse_included(
    path: &Path,
    depth: usize,
    from: Option<&Directive>,
) -> Result<Vec<Directive>, ConfigError> {
    let text = std::fs::read(path).map_err(|err| {
        let message = format!("open() \"{}\" failed ({})", path.display(), os_error(&err));
        match from {
            Some(d) => d.error(message),
            None => ConfigError::bare(message),
        }
    })?;
    let file: Arc<Path> = Arc::from(path);
    let directives = parse_text(&text, &file)?;
    expand(directives, path.parent().unwrap_or(Path::new(".")), depth)
}

/// Replace every `include` with the directives of the files it names (globs allowed).
pub(super) fn expand(
    directives: Vec<Directive>,
    base: &Path,
    depth: usize,
) -> Result<Vec<Directive>, ConfigError> {
    let mut out = Vec::with_capacity(directives.len());
    for mut directive in directives {
        if directive.name == "include" && directive.block.is_none() {
            if directive.args.len() != 1 {
                return Err(directive.error("invalid number of arguments in \"include\" directive"));
            }
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(
                    directive.error("too deep \"include\" nesting (is a file including itself?)")
                );
            }
            for path in include_paths(&directive, base)? {
                out.extend(parse_included(&path, depth + 1, Some(&directive))?);
            }
            continue;
        }
        if let Some(children) = directive.block.take() {
            directive.block = Some(expand(children, base, depth)?);
        }
        out.push(directive);
    }
    Ok(out)
}

fn include_paths(directive: &Directive, base: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let arg = &directive.args[0];
    let path = resolve(base, arg);
    if !arg.contains(['*', '?', '[']) {
        return Ok(vec![path]);
    }
    let pattern = path.to_string_lossy().into_owned();
    let paths = glob::glob(&pattern)
        .map_err(|err| directive.error(format!("invalid include pattern \"{arg}\": {err}")))?;
    let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::super::syntax::parse_file;

    #[test]
    fn include_expands_relative_to_the_config_folder_with_globs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(dir.path().join("conf.d/b.conf"), "server_b;\n").unwrap();
        std::fs::write(dir.path().join("conf.d/a.conf"), "server_a;\n").unwrap();
        std::fs::write(dir.path().join("mime.types"), "types { text/html html; }\n").unwrap();
        let main = dir.path().join("nginx.conf");
        std::fs::write(
            &main,
            "http {\n include mime.types;\n include conf.d/*.conf;\n}\n",
        )
        .unwrap();
        let tree = parse_file(&main).unwrap();
        let names: Vec<_> = tree[0]
            .block
            .as_ref()
            .unwrap()
            .iter()
            .map(|d| d.name.clone())
            .collect();
        assert_eq!(names, ["types", "server_a", "server_b"]);

        std::fs::write(&main, "include missing.conf;\n").unwrap();
        let err = parse_file(&main).unwrap_err().to_string();
        assert!(
            err.contains("missing.conf\" failed (2: No such file or directory)"),
            "{err}"
        );
        assert!(err.ends_with("nginx.conf:1"), "{err}");

        std::fs::write(&main, "include nginx.conf;\n").unwrap();
        assert!(
            parse_file(&main)
                .unwrap_err()
                .to_string()
                .contains("too deep")
        );
    }
}
