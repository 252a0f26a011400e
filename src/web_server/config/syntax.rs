//! nginx's configuration syntax: words, quoted strings, `;`, `{ }`, `#` comments, and
//! `include` — turned into a tree of directives that remember their file and line.
//!
//! This layer knows nothing about what directives mean; `commands.rs` and the module
//! tables do. `include.rs` expands includes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ConfigError, include};

/// One directive: `name args...;` or `name args... { children }`.
#[derive(Debug, Clone)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub block: Option<Vec<Directive>>,
    pub file: Arc<Path>,
    pub line: usize,
}

impl Directive {
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(message, &self.file, self.line)
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
}

struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
    file: &'a Arc<Path>,
}

impl Lexer<'_> {
    fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(message, self.file, self.line)
    }

    /// The next token and the line it started on, or None at the end of the file.
    fn next(&mut self) -> Result<Option<(Token, usize)>, ConfigError> {
        loop {
            let Some(&c) = self.text.get(self.pos) else {
                return Ok(None);
            };
            match c {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'#' => {
                    while self.pos < self.text.len() && self.text[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let line = self.line;
        let c = self.text[self.pos];
        let token = match c {
            b';' => {
                self.pos += 1;
                Token::Semicolon
            }
            b'{' => {
                self.pos += 1;
                Token::Open
            }
            b'}' => {
                self.pos += 1;
                Token::Close
            }
            b'"' | b'\'' => Token::Word(self.quoted(c)?),
            _ => Token::Word(self.bare()?),
        };
        Ok(Some((token, line)))
    }

    fn quoted(&mut self, quote: u8) -> Result<String, ConfigError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.text.get(self.pos) else {
                return Err(self.error("unexpected end of file, expecting \";\" or \"}\""));
            };
            self.pos += 1;
            match c {
                b'\\' => {
                    let next = self.text.get(self.pos).copied();
                    self.pos += 1;
                    match next {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\'') => out.push(b'\''),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'n') => out.push(b'\n'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'r') => out.push(b'\r'),
                        Some(other) => {
                            if other == b'\n' {
                                self.line += 1;
                            }
                            out.push(b'\\');
                            out.push(other);
                        }
                        None => {
                            return Err(
                                self.error("unexpected end of file, expecting \";\" or \"}\"")
                            );
                        }
                    }
                }
                b'\n' => {
                    self.line += 1;
                    out.push(c);
                }
                c if c == quote => break,
                c => out.push(c),
            }
        }
        // nginx wants a separator right after a closing quote.
        if let Some(&c) = self.text.get(self.pos)
            && !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b'}')
        {
            return Err(self.error(format!("unexpected \"{}\"", c as char)));
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn bare(&mut self) -> Result<String, ConfigError> {
        let start = self.pos;
        let mut brace_var = false;
        while let Some(&c) = self.text.get(self.pos) {
            match c {
                // `${name}` keeps its braces inside a word.
                b'$' if self.text.get(self.pos + 1) == Some(&b'{') => {
                    brace_var = true;
                    self.pos += 2;
                    continue;
                }
                b'}' if brace_var => brace_var = false,
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b'}' => break,
                b'\\' => self.pos += 1,
                _ => {}
            }
            self.pos += 1;
        }
        let end = self.pos.min(self.text.len());
        Ok(String::from_utf8_lossy(&self.text[start..end]).into_owned())
    }
}

/// Read a configuration file and everything it includes into a directive tree.
pub fn parse_file(path: &Path) -> Result<Vec<Directive>, ConfigError> {
    include::parse_included(path, 0, None)
}

/// Parse a configuration held in memory (tests, `nginx -t` of a snippet).
pub fn parse_str(text: &str, file: &Path) -> Result<Vec<Directive>, ConfigError> {
    let file: Arc<Path> = Arc::from(file);
    let directives = parse_text(text.as_bytes(), &file)?;
    include::expand(directives, file.parent().unwrap_or(Path::new(".")), 0)
}

/// One file's directives, its `include`s not yet expanded.
pub(super) fn parse_text(text: &[u8], file: &Arc<Path>) -> Result<Vec<Directive>, ConfigError> {
    let mut lexer = Lexer {
        text,
        pos: 0,
        line: 1,
        file,
    };
    parse_block(&mut lexer, false)
}

fn parse_block(lexer: &mut Lexer, inside: bool) -> Result<Vec<Directive>, ConfigError> {
    let mut directives = Vec::new();
    loop {
        let Some((token, line)) = lexer.next()? else {
            if inside {
                return Err(lexer.error("unexpected end of file, expecting \"}\""));
            }
            return Ok(directives);
        };
        let name = match token {
            Token::Word(word) => word,
            Token::Close if inside => return Ok(directives),
            Token::Close => {
                lexer.line = line;
                return Err(lexer.error("unexpected \"}\""));
            }
            Token::Semicolon => {
                lexer.line = line;
                return Err(lexer.error("unexpected \";\""));
            }
            Token::Open => {
                lexer.line = line;
                return Err(lexer.error("unexpected \"{\""));
            }
        };
        let mut args = Vec::new();
        let block = loop {
            match lexer.next()? {
                Some((Token::Word(word), _)) => args.push(word),
                Some((Token::Semicolon, _)) => break None,
                Some((Token::Open, _)) => break Some(parse_block(lexer, true)?),
                Some((Token::Close, close_line)) => {
                    lexer.line = close_line;
                    return Err(lexer.error("unexpected \"}\""));
                }
                None => {
                    return Err(lexer.error("unexpected end of file, expecting \";\" or \"}\""));
                }
            }
        };
        directives.push(Directive {
            name,
            args,
            block,
            file: lexer.file.clone(),
            line,
        });
    }
}

/// A path from the configuration, relative ones taken from the configuration's folder.
pub fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// `2: No such file or directory`, the way nginx quotes system errors.
pub fn os_error(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let text = err.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
            format!("{code}: {text}")
        }
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Directive>, ConfigError> {
        parse_str(text, Path::new("/etc/test/nginx.conf"))
    }

    #[test]
    fn words_strings_blocks_and_lines() {
        let tree = parse(
            "# comment\nserver {\n  listen 8080;\n  add_header X-A \"a b;{}\" always;\n  location = /x { return 200 'it\\'s'; }\n}\n",
        )
        .unwrap();
        assert_eq!(tree.len(), 1);
        let server = &tree[0];
        assert_eq!((server.name.as_str(), server.line), ("server", 2));
        let children = server.block.as_ref().unwrap();
        assert_eq!(children[0].args, ["8080"]);
        assert_eq!(children[1].args, ["X-A", "a b;{}", "always"]);
        assert_eq!(children[1].line, 4);
        let location = &children[2];
        assert_eq!(location.args, ["=", "/x"]);
        assert_eq!(location.block.as_ref().unwrap()[0].args, ["200", "it's"]);
    }

    #[test]
    fn braced_variables_stay_in_one_word() {
        let tree = parse("return 200 ${host}x;").unwrap();
        assert_eq!(tree[0].args, ["200", "${host}x"]);
    }

    /// One `#[test]` per case, so every failing case is reported, not only the first.
    macro_rules! syntax_errors {
        ($($name:ident: $text:expr => $want:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    let err = parse($text).unwrap_err();
                    assert_eq!(err.to_string(), format!("[emerg] {}", $want));
                }
            )*
        };
    }

    syntax_errors! {
        unclosed_block: "server {\n listen 80;\n" => "unexpected end of file, expecting \"}\" in /etc/test/nginx.conf:3";
        extra_close: "server {\n}\n}\n" => "unexpected \"}\" in /etc/test/nginx.conf:3";
        missing_semicolon_at_the_end: "listen 80" => "unexpected end of file, expecting \";\" or \"}\" in /etc/test/nginx.conf:1";
        missing_semicolon_before_close: "server {\n root /x\n}\n" => "unexpected \"}\" in /etc/test/nginx.conf:3";
        lone_semicolon: "\n\n;" => "unexpected \";\" in /etc/test/nginx.conf:3";
        nothing_between_quote_and_word: "root \"/x\"y;" => "unexpected \"y\" in /etc/test/nginx.conf:1";
        unclosed_quote: "root \"/x;\n" => "unexpected end of file, expecting \";\" or \"}\" in /etc/test/nginx.conf:2";
    }
}
