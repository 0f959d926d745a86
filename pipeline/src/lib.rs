//! xbar-opt's pipeline: the study's stage graph, the study loop, its workers and
//! executors, the report and the command line (`pipeline --help`).

mod batch;
pub mod cli;
mod commands;
mod config;
mod controls;
mod dag;
mod evaluation;
mod evidence;
mod executor;
mod fidelity;
mod front;
mod interrupt;
mod plot;
mod race;
pub mod record;
mod report;
pub mod results;
mod runner;
mod session;
mod setup;
mod slurm;
mod stored_baselines;
mod study;
mod tables;
mod worker;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// Each top-level module of the crate source folder `src` (a file, or a directory's
    /// files together) and the modules its code (not its comments) names as
    /// `crate::<module>`.
    fn module_imports(src: &std::path::Path) -> BTreeMap<String, BTreeSet<String>> {
        fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    rust_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        rust_files(src, &mut files);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for path in files {
            let relative = path.strip_prefix(src).unwrap();
            let top = relative.components().next().unwrap().as_os_str();
            let name = std::path::Path::new(top)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if name == "main" || name == "lib" {
                continue;
            }
            let code: String = std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let imports: Vec<String> = crate_paths(&code).filter(|m| *m != name).collect();
            graph.entry(name).or_default().extend(imports);
        }
        graph
    }

    /// The module names after `crate::` in `code`, `use crate::{a, b::C}` included.
    fn crate_paths(code: &str) -> impl Iterator<Item = String> + '_ {
        code.match_indices("crate::").flat_map(move |(i, _)| {
            let rest = &code[i + "crate::".len()..];
            // A group's comma-separated paths, or the one path at `rest`.
            let paths: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(group.len())]
                    .split(',')
                    .collect(),
                None => vec![rest],
            };
            paths
                .into_iter()
                .map(|path| first_name(path.trim()).to_string())
                .filter(|n| n.chars().next().is_some_and(char::is_lowercase))
                .collect::<Vec<_>>()
        })
    }

    /// The leading identifier of `path`.
    fn first_name(path: &str) -> &str {
        let end = path
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(path.len());
        &path[..end]
    }

    /// A cycle of the graph, if it has one (depth-first search).
    fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            node: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(start) = path.iter().position(|n| n == node) {
                return Some(path[start..].to_vec());
            }
            if done.contains(node) {
                return None;
            }
            path.push(node.to_string());
            for next in graph.get(node).into_iter().flatten() {
                if let Some(cycle) = visit(next, graph, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            done.insert(node.to_string());
            None
        }
        let mut done = BTreeSet::new();
        graph
            .keys()
            .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
    }

    #[test]
    fn the_cycle_finder_sees_a_cycle_through_a_use_group() {
        let mut graph = BTreeMap::new();
        let imports = |line: &str| crate_paths(line).collect::<BTreeSet<_>>();
        graph.insert("a".to_string(), imports("use crate::{b::X, c};"));
        graph.insert("b".to_string(), imports("let x = crate::c::f(a, b);"));
        graph.insert("c".to_string(), BTreeSet::new());
        assert_eq!(find_cycle(&graph), None);
        graph.insert("c".to_string(), imports("use crate::a::Y;"));
        assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(3));
    }

    #[test]
    fn the_commands_never_import_each_other() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let code = std::fs::read_to_string(&path).unwrap();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                assert!(
                    !line.contains("crate::commands") && !line.starts_with("use super::"),
                    "{} imports another command: {line}",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn the_modules_import_each_other_without_a_cycle_in_any_crate() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let graph = module_imports(&root.join("pipeline/src"));
        assert!(graph.contains_key("study") && graph["study"].contains("dag"));
        assert!(
            graph["front"].contains("record"),
            "directory modules are read"
        );
        let stages = module_imports(&root.join("stages/src"));
        assert!(stages["crossbar_sim"].contains("kernels"), "{stages:?}");
        for krate in ["pipeline", "stages", "stages/optimizer", "cache"] {
            let graph = module_imports(&root.join(krate).join("src"));
            assert_eq!(find_cycle(&graph), None, "an import cycle in {krate}/src");
        }
    }
}
