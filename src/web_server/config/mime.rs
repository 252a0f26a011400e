//! `types { mime/type ext ...; }` and the table a configuration starts with.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use hyper::header::HeaderValue;

use super::ConfigError;
use super::syntax::{Directive, parse_str};

/// Extension (lowercase, no dot) → MIME type, kept as a ready header value: a response
/// then takes a reference-counted copy instead of building one per request.
#[derive(Debug, Clone, Default)]
pub struct Types {
    by_extension: HashMap<String, HeaderValue>,
}

impl Types {
    /// The Content-Type for a file name, if its extension is known.
    pub fn lookup(&self, file_name: &str) -> Option<&str> {
        self.header(file_name).and_then(|v| v.to_str().ok())
    }

    /// The Content-Type header for a file name, if its extension is known.
    pub fn header(&self, file_name: &str) -> Option<&HeaderValue> {
        let ext = file_name.rsplit_once('.')?.1;
        if ext.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.by_extension.get(&ext.to_ascii_lowercase());
        }
        self.by_extension.get(ext)
    }

    /// Read the entries of a `types { }` block.
    pub fn from_block(block: &[Directive]) -> Result<Self, ConfigError> {
        let mut by_extension = HashMap::new();
        for entry in block {
            if entry.block.is_some() || entry.args.is_empty() {
                return Err(entry.error(format!("invalid \"types\" entry \"{}\"", entry.name)));
            }
            let Ok(value) = HeaderValue::from_str(&entry.name) else {
                return Err(entry.error(format!("invalid \"types\" entry \"{}\"", entry.name)));
            };
            for ext in &entry.args {
                by_extension.insert(ext.to_ascii_lowercase(), value.clone());
            }
        }
        Ok(Self { by_extension })
    }
}

/// nginx's usual `mime.types`, used when a configuration defines no `types` of its own
/// (real nginx would fall back to three types; learners expect the full table).
pub fn default_types() -> Arc<Types> {
    static TYPES: OnceLock<Arc<Types>> = OnceLock::new();
    TYPES
        .get_or_init(|| {
            let tree = parse_str(crate::embedded::MIME_TYPES, Path::new("mime.types"))
                .expect("the embedded mime.types parses");
            let block = tree[0].block.as_deref().unwrap_or_default();
            Arc::new(Types::from_block(block).expect("the embedded mime.types is valid"))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_table_is_nginx_s() {
        let types = default_types();
        assert_eq!(types.lookup("index.html"), Some("text/html"));
        assert_eq!(types.lookup("STYLE.CSS"), Some("text/css"));
        assert_eq!(types.lookup("a.b.png"), Some("image/png"));
        assert_eq!(types.lookup("app.js"), Some("application/javascript"));
        assert_eq!(types.lookup("Makefile"), None);
        assert_eq!(types.lookup("x.unknownext"), None);
    }
}
