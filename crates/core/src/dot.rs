//! Graph files: a small DOT reader/writer (the `digraph` subset people write by hand and tools
//! export), the `source,target` edge-list CSV, and JSON. [`read_graph`] picks the format from
//! the extension, falling back to the content.

use std::path::Path;

use crate::dag::Dag;
use crate::{Error, Result};

/// Node names and `(source, target)` edges as written in a file, before any validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawGraph {
    pub nodes: Vec<String>,
    pub edges: Vec<(String, String)>,
}

impl RawGraph {
    fn add_node(&mut self, n: &str) {
        if !self.nodes.iter().any(|x| x == n) {
            self.nodes.push(n.to_string());
        }
    }

    /// Validates into a [`Dag`] (rejects cycles, naming them).
    pub fn into_dag(self) -> Result<Dag> {
        Dag::new(&self.nodes, &self.edges)
    }
}

/// Reads a graph file (`.dot`/`.gv`, `.csv`, `.json`) into a [`Dag`]. Errors name the file and
/// the offending line or cycle.
pub fn read_graph(path: &Path) -> Result<Dag> {
    read_raw_graph(path)?.into_dag().map_err(|e| match e {
        Error::Cycle { .. } | Error::UnknownNode { .. } | Error::Invalid(_) => {
            Error::format(path.display().to_string(), e.to_string())
        }
        other => other,
    })
}

/// Reads a graph file without checking acyclicity (Granger graphs may have cycles).
pub fn read_raw_graph(path: &Path) -> Result<RawGraph> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let file = path.display().to_string();
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::format(&file, "graph file is not valid UTF-8"))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let trimmed = text.trim_start();
    let raw = match ext.as_str() {
        "dot" | "gv" => parse_dot(&text),
        "csv" => parse_edge_csv(&text),
        "json" => parse_json(&text),
        _ if trimmed.starts_with('{') => parse_json(&text),
        _ if trimmed.contains("digraph") || trimmed.contains("->") => parse_dot(&text),
        _ => parse_edge_csv(&text),
    };
    let raw = raw.map_err(|m| Error::format(&file, m))?;
    if raw.nodes.is_empty() {
        return Err(Error::format(&file, "graph has no nodes"));
    }
    Ok(raw)
}

fn parse_json(text: &str) -> std::result::Result<RawGraph, String> {
    let j: crate::dag::DagJson =
        serde_json::from_str(text).map_err(|e| format!("graph JSON: {e}"))?;
    let mut g = RawGraph::default();
    for n in &j.nodes {
        g.add_node(n);
    }
    for (s, t) in j.edges {
        g.add_node(&s);
        g.add_node(&t);
        g.edges.push((s, t));
    }
    Ok(g)
}

/// Parses an edge list with header `source,target` (extra columns are ignored; a row with an
/// empty target declares an isolated node).
pub fn parse_edge_csv(text: &str) -> std::result::Result<RawGraph, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (si, ti) = match (find("source"), find("target")) {
        (Some(s), Some(t)) => (s, t),
        _ => {
            return Err(format!(
                "edge list needs a header 'source,target', found '{}'",
                headers.iter().collect::<Vec<_>>().join(",")
            ));
        }
    };
    let mut g = RawGraph::default();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("row {}: {e}", i + 1))?;
        let s = rec.get(si).unwrap_or("");
        let t = rec.get(ti).unwrap_or("");
        if s.is_empty() {
            return Err(format!("row {}: empty source", i + 1));
        }
        g.add_node(s);
        if !t.is_empty() {
            g.add_node(t);
            g.edges.push((s.to_string(), t.to_string()));
        }
    }
    Ok(g)
}

/// Parses the DOT subset: `digraph [name] { stmt* }` with node statements, edge chains
/// (`a -> b -> c`), subgraph braces on either side of an edge (`a -> {b c}`), attribute lists
/// (ignored), `graph/node/edge [..]` defaults, `//`, `#` and `/* */` comments and quoted IDs.
/// Undirected graphs are refused.
pub fn parse_dot(text: &str) -> std::result::Result<RawGraph, String> {
    let toks = tokenize(text)?;
    let mut p = Parser { toks, pos: 0 };
    p.graph()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Id(String, usize),
    Sym(char, usize),
    Arrow(usize),
    Undirected(usize),
}

impl Tok {
    fn line(&self) -> usize {
        match self {
            Tok::Id(_, l) | Tok::Sym(_, l) | Tok::Arrow(l) | Tok::Undirected(l) => *l,
        }
    }
}

fn tokenize(text: &str) -> std::result::Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(format!("line {line}: unterminated /* comment"));
                }
                i += 2;
            }
            '-' if chars.get(i + 1) == Some(&'>') => {
                toks.push(Tok::Arrow(line));
                i += 2;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                toks.push(Tok::Undirected(line));
                i += 2;
            }
            '{' | '}' | '[' | ']' | ';' | ',' | '=' | ':' => {
                toks.push(Tok::Sym(c, line));
                i += 1;
            }
            '"' => {
                let start_line = line;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("line {start_line}: unterminated string")),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') if chars.get(i + 1) == Some(&'"') => {
                            s.push('"');
                            i += 2;
                        }
                        Some(&ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                toks.push(Tok::Id(s, start_line));
            }
            '<' => {
                // HTML-like label: skip balanced <...>
                let mut depth = 0;
                let mut s = String::new();
                while i < chars.len() {
                    let ch = chars[i];
                    if ch == '<' {
                        depth += 1;
                    } else if ch == '>' {
                        depth -= 1;
                    }
                    if ch == '\n' {
                        line += 1;
                    }
                    s.push(ch);
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                }
                toks.push(Tok::Id(s, line));
            }
            c if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' => {
                let mut s = String::new();
                while i < chars.len()
                    && (chars[i].is_alphanumeric()
                        || chars[i] == '_'
                        || chars[i] == '.'
                        || (chars[i] == '-' && !matches!(chars.get(i + 1), Some('>') | Some('-'))))
                {
                    s.push(chars[i]);
                    i += 1;
                }
                toks.push(Tok::Id(s, line));
            }
            other => return Err(format!("line {line}: unexpected character '{other}'")),
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn last_line(&self) -> usize {
        self.toks.last().map_or(1, Tok::line)
    }

    fn expect_sym(&mut self, c: char) -> std::result::Result<(), String> {
        match self.next() {
            Some(Tok::Sym(x, _)) if x == c => Ok(()),
            Some(t) => Err(format!("line {}: expected '{c}'", t.line())),
            None => Err(format!(
                "line {}: expected '{c}' before end of file",
                self.last_line()
            )),
        }
    }

    fn graph(&mut self) -> std::result::Result<RawGraph, String> {
        let mut g = RawGraph::default();
        if let Some(Tok::Id(s, _)) = self.peek()
            && s.eq_ignore_ascii_case("strict")
        {
            self.pos += 1;
        }
        match self.next() {
            Some(Tok::Id(s, _)) if s.eq_ignore_ascii_case("digraph") => {}
            Some(Tok::Id(s, l)) if s.eq_ignore_ascii_case("graph") => {
                return Err(format!(
                    "line {l}: undirected 'graph' found; a causal graph must be a 'digraph'"
                ));
            }
            Some(t) => return Err(format!("line {}: expected 'digraph'", t.line())),
            None => return Err("empty graph file".into()),
        }
        if let Some(Tok::Id(..)) = self.peek() {
            self.pos += 1;
        }
        self.expect_sym('{')?;
        self.stmt_list(&mut g)?;
        if let Some(t) = self.next() {
            return Err(format!(
                "line {}: unexpected content after the closing '}}'",
                t.line()
            ));
        }
        Ok(g)
    }

    /// Parses statements until the matching '}' (consumed).
    fn stmt_list(&mut self, g: &mut RawGraph) -> std::result::Result<(), String> {
        loop {
            match self.peek() {
                None => return Err(format!("line {}: missing closing '}}'", self.last_line())),
                Some(Tok::Sym('}', _)) => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(Tok::Sym(';', _)) | Some(Tok::Sym(',', _)) => self.pos += 1,
                _ => self.stmt(g)?,
            }
        }
    }

    fn stmt(&mut self, g: &mut RawGraph) -> std::result::Result<(), String> {
        // attribute defaults: graph/node/edge [ ... ]
        if let Some(Tok::Id(s, _)) = self.peek() {
            let kw = s.to_ascii_lowercase();
            if matches!(kw.as_str(), "graph" | "node" | "edge")
                && matches!(self.toks.get(self.pos + 1), Some(Tok::Sym('[', _)))
            {
                self.pos += 1;
                return self.attr_list();
            }
            // graph attribute: id = id
            if matches!(self.toks.get(self.pos + 1), Some(Tok::Sym('=', _))) {
                self.pos += 3;
                return Ok(());
            }
        }
        let mut left = self.operand(g)?;
        loop {
            match self.peek() {
                Some(Tok::Arrow(_)) => {
                    self.pos += 1;
                    let right = self.operand(g)?;
                    for s in &left {
                        for t in &right {
                            g.edges.push((s.clone(), t.clone()));
                        }
                    }
                    left = right;
                }
                Some(Tok::Undirected(l)) => {
                    return Err(format!(
                        "line {l}: undirected edge '--'; use '->' to give each edge a direction"
                    ));
                }
                _ => break,
            }
        }
        if let Some(Tok::Sym('[', _)) = self.peek() {
            self.attr_list()?;
        }
        Ok(())
    }

    fn attr_list(&mut self) -> std::result::Result<(), String> {
        self.expect_sym('[')?;
        loop {
            match self.next() {
                Some(Tok::Sym(']', _)) => {
                    if let Some(Tok::Sym('[', _)) = self.peek() {
                        self.pos += 1;
                        continue;
                    }
                    return Ok(());
                }
                Some(_) => {}
                None => return Err(format!("line {}: unterminated '['", self.last_line())),
            }
        }
    }

    /// A node id (with optional `:port`) or a `{ ... }` / `subgraph x { ... }` group.
    fn operand(&mut self, g: &mut RawGraph) -> std::result::Result<Vec<String>, String> {
        match self.next() {
            Some(Tok::Id(s, _)) if s.eq_ignore_ascii_case("subgraph") => {
                if let Some(Tok::Id(..)) = self.peek() {
                    self.pos += 1;
                }
                self.expect_sym('{')?;
                self.group(g)
            }
            Some(Tok::Sym('{', _)) => self.group(g),
            Some(Tok::Id(s, _)) => {
                if let Some(Tok::Sym(':', _)) = self.peek() {
                    self.pos += 2;
                }
                g.add_node(&s);
                Ok(vec![s])
            }
            Some(t) => Err(format!("line {}: expected a node name", t.line())),
            None => Err(format!("line {}: expected a node name", self.last_line())),
        }
    }

    fn group(&mut self, g: &mut RawGraph) -> std::result::Result<Vec<String>, String> {
        let mut inner = RawGraph::default();
        self.stmt_list(&mut inner)?;
        for n in &inner.nodes {
            g.add_node(n);
        }
        g.edges.extend(inner.edges);
        Ok(inner.nodes)
    }
}

fn dot_id(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !s.chars().next().is_some_and(|c| c.is_ascii_digit())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "node" | "edge" | "graph" | "digraph" | "subgraph" | "strict"
        );
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\\\""))
    }
}

/// Writes a DOT `digraph` with every node declared (so isolated nodes survive a round trip)
/// and one edge per line.
pub fn write_dot(name: &str, nodes: &[String], edges: &[(usize, usize)], comment: &str) -> String {
    let mut out = String::new();
    for line in comment.lines() {
        out.push_str(&format!("// {line}\n"));
    }
    out.push_str(&format!("digraph {} {{\n", dot_id(name)));
    for n in nodes {
        out.push_str(&format!("  {};\n", dot_id(n)));
    }
    for &(s, t) in edges {
        out.push_str(&format!(
            "  {} -> {};\n",
            dot_id(&nodes[s]),
            dot_id(&nodes[t])
        ));
    }
    out.push_str("}\n");
    out
}

impl Dag {
    /// DOT text of this DAG.
    pub fn to_dot(&self, name: &str) -> String {
        write_dot(name, self.names(), &self.edges(), "")
    }

    /// Parses DOT text into a DAG.
    pub fn from_dot(text: &str) -> Result<Dag> {
        parse_dot(text).map_err(Error::invalid)?.into_dag()
    }

    /// Parses an edge-list CSV (`source,target`) into a DAG.
    pub fn from_edge_csv(text: &str) -> Result<Dag> {
        parse_edge_csv(text).map_err(Error::invalid)?.into_dag()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_chains_groups_attributes_and_comments() {
        let text = r#"
            // loan graph
            digraph "loan" {
              rankdir = LR;
              node [shape=box];
              G -> {E L D I} [color=red];
              A -> E -> I; /* chain */
              "L" -> D
              I -> S # trailing
              Z;
            }"#;
        let g = Dag::from_dot(text).unwrap();
        assert_eq!(g.len(), 8);
        assert!(g.index_of("Z").is_some());
        let names = |e: (usize, usize)| (g.name(e.0).to_string(), g.name(e.1).to_string());
        let edges: Vec<(String, String)> = g.edges().into_iter().map(names).collect();
        for (s, t) in [
            ("G", "E"),
            ("G", "I"),
            ("A", "E"),
            ("E", "I"),
            ("L", "D"),
            ("I", "S"),
        ] {
            assert!(edges.contains(&(s.into(), t.into())), "missing {s}->{t}");
        }
        assert_eq!(edges.len(), 8);
    }

    #[test]
    fn dot_round_trip() {
        let g = Dag::from_edges(&[("a b", "c"), ("c", "d")]).unwrap();
        assert_eq!(Dag::from_dot(&g.to_dot("x")).unwrap(), g);
    }

    #[test]
    fn dot_errors_are_specific() {
        let e = Dag::from_dot("graph { a -- b }").unwrap_err().to_string();
        assert!(e.contains("digraph"), "{e}");
        let e = Dag::from_dot("digraph { a -- b }").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("->"), "{e}");
        let e = Dag::from_dot("digraph { a -> b; b -> a }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cycle"), "{e}");
        let e = Dag::from_dot("digraph { a -> b").unwrap_err().to_string();
        assert!(e.contains("missing closing"), "{e}");
    }

    #[test]
    fn edge_csv() {
        let g = Dag::from_edge_csv("source,target\nx,y\ny,z\nw,\n").unwrap();
        assert_eq!(g.len(), 4);
        assert_eq!(g.edges().len(), 2);
        let e = Dag::from_edge_csv("from,to\nx,y\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("source,target"), "{e}");
        let e = Dag::from_edge_csv("source,target\nx,y\ny,x\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x -> y -> x") || e.contains("y -> x -> y"),
            "{e}"
        );
    }
}
