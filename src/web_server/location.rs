//! Choosing the `location` block for a URI, with nginx's precedence:
//!
//! 1. `location = /exact` when the URI is exactly that;
//! 2. otherwise the longest matching prefix (`location /static` matches `/staticfoo` too),
//!    looking into its nested locations; a `^~` prefix stops here;
//! 3. otherwise the first regular expression (`~`, `~*`) that matches, in file order;
//! 4. otherwise that longest prefix.
//!
//! [`enter`] is the phase: it applies the choice to the request.

use std::sync::Arc;

use super::config::{LocConf, Location, Modifier, Server};
use super::exchange::Exchange;
use crate::trace::{Handler, Hop};

/// The location phase: the settings for the request's URI (the server's when no location
/// matches) become the request's, and the trace says which location it was.
pub fn enter(x: &mut Exchange, server: &Server) -> Arc<LocConf> {
    let found = find(&server.locations, &x.uri);
    let conf = found.map_or_else(|| server.conf.clone(), |l| l.conf.clone());
    x.conf = Some(conf.clone());
    let handler = if conf.ret.is_some() {
        Handler::Return
    } else if conf.proxy.is_some() {
        Handler::Proxy
    } else {
        Handler::Static
    };
    x.trace.emit(Some(&x.id), || Hop::LocationMatched {
        location: found.map(|l| l.pattern.clone()).unwrap_or_default(),
        modifier: found
            .map(|l| l.modifier.as_str().to_owned())
            .unwrap_or_default(),
        handler,
    });
    conf
}

/// The location for `uri` (decoded and normalised), or None when nothing matches.
pub fn find<'a>(locations: &'a [Location], uri: &[u8]) -> Option<&'a Location> {
    find_in(locations, uri).0
}

/// The chosen location, and whether the search is over (no regex may override it).
fn find_in<'a>(locations: &'a [Location], uri: &[u8]) -> (Option<&'a Location>, bool) {
    if let Some(exact) = locations
        .iter()
        .find(|l| l.modifier == Modifier::Exact && l.pattern.as_bytes() == uri)
    {
        return (Some(exact), true);
    }
    let longest = locations
        .iter()
        .filter(|l| matches!(l.modifier, Modifier::Prefix | Modifier::PrefixNoRegex))
        .filter(|l| uri.starts_with(l.pattern.as_bytes()))
        .max_by_key(|l| l.pattern.len());
    let mut candidate = longest;
    if let Some(prefix) = longest {
        if !prefix.children.is_empty() {
            let (nested, done) = find_in(&prefix.children, uri);
            if done {
                return (nested, true);
            }
            candidate = nested.or(Some(prefix));
        }
        if candidate.is_some_and(|c| c.modifier == Modifier::PrefixNoRegex) {
            return (candidate, true);
        }
    }
    for location in locations {
        if let Some(regex) = &location.regex
            && regex.is_match(uri)
        {
            if !location.children.is_empty()
                && let (Some(nested), _) = find_in(&location.children, uri)
            {
                return (Some(nested), true);
            }
            return (Some(location), true);
        }
    }
    (candidate, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web_server::config::LoadContext;
    use crate::web_server::config::syntax::parse_str;
    use std::path::Path;

    fn server_locations(text: &str) -> Vec<Location> {
        let tree = parse_str(text, Path::new("/tmp/t.conf")).unwrap();
        let mut cx = LoadContext::new(true, Vec::new());
        let mut config =
            crate::web_server::config::build(tree, Path::new("/tmp/t.conf"), &mut cx).unwrap();
        let server = config.servers.remove(0);
        std::sync::Arc::try_unwrap(server).ok().unwrap().locations
    }

    fn chosen(locations: &[Location], uri: &str) -> String {
        find(locations, uri.as_bytes()).map_or_else(|| "(none)".into(), |l| l.conf.name.clone())
    }

    #[test]
    fn nginx_precedence_table() {
        let locations = server_locations(
            r"server {
                location = / { return 200; }
                location / { return 200; }
                location /static { return 200; }
                location ^~ /static/img/ { return 200; }
                location /docs/ { return 200; }
                location ~* \.(png|jpg)$ { return 200; }
                location ~ ^/docs/.*\.pdf$ { return 200; }
                location /api/ {
                    location /api/v2/ { return 200; }
                    location ~ \.json$ { return 200; }
                }
            }",
        );
        let cases = [
            ("/", "= /"),
            ("/index.html", "/"),
            ("/static", "/static"),
            ("/staticfoo", "/static"),
            ("/static/css/a.css", "/static"),
            ("/static/a.PNG", "~* \\.(png|jpg)$"),
            ("/static/img/a.png", "^~ /static/img/"),
            ("/docs/a.pdf", "~ ^/docs/.*\\.pdf$"),
            ("/docs/a.txt", "/docs/"),
            ("/api/v2/x", "/api/v2/"),
            ("/api/v2/x.json", "~ \\.json$"),
            ("/api/x.png", "~* \\.(png|jpg)$"),
            ("/api/other", "/api/"),
        ];
        for (uri, want) in cases {
            assert_eq!(chosen(&locations, uri), want, "for {uri}");
        }
    }

    #[test]
    fn no_match_without_a_root_location() {
        let locations = server_locations("server { location /static { return 200; } }");
        assert_eq!(chosen(&locations, "/"), "(none)");
    }
}
